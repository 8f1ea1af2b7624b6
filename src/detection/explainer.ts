/**
 * Which patients of a read no recent order explains: the tenant's order book is the relationship
 * between its organisation and a patient. "Recent" is measured back from the tenant's newest order
 * rather than from the wall clock, so a vault loaded from historical data (the synthetic lab is
 * dated 2022–2025) judges as a live one does. Answers are cached: a principal's working set is
 * read again and again, and the order book changes slowly relative to a read.
 */
export interface OrderBook {
  /** yyyy-mm-dd of the newest order of the tenant, null when it has none. */
  newestOrderDate(tenantId: string): Promise<string | null>;
  /** Whether the patient has an order of the tenant dated on or after `date`. */
  hasOrderSince(tenantId: string, patientId: string, date: string): Promise<boolean>;
}

const TTL_MS = 10 * 60_000;
const MAX_ENTRIES = 200_000;

export class Explainer {
  private readonly cutoffs = new Map<string, { date: string | null; at: number }>();
  private readonly answers = new Map<string, { explained: boolean; at: number }>();

  constructor(
    private readonly book: OrderBook,
    private readonly recentDays: number,
  ) {}

  async unexplained(tenantId: string, patients: readonly string[], now: number): Promise<string[]> {
    if (patients.length === 0) return [];
    const cutoff = await this.cutoff(tenantId, now);
    const out: string[] = [];
    for (const p of patients) {
      const key = `${tenantId}\u0000${p}`;
      let a = this.answers.get(key);
      if (!a || now - a.at > TTL_MS) {
        const explained = cutoff !== null && (await this.book.hasOrderSince(tenantId, p, cutoff));
        a = { explained, at: now };
        if (this.answers.size >= MAX_ENTRIES) this.answers.clear();
        this.answers.set(key, a);
      }
      if (!a.explained) out.push(p);
    }
    return out;
  }

  /** Orders on or after this day explain an access. */
  private async cutoff(tenantId: string, now: number): Promise<string | null> {
    let c = this.cutoffs.get(tenantId);
    if (!c || now - c.at > TTL_MS) {
      const newest = await this.book.newestOrderDate(tenantId);
      const date = newest === null ? null : new Date(Date.parse(newest) - this.recentDays * 86_400_000).toISOString().slice(0, 10);
      c = { date, at: now };
      this.cutoffs.set(tenantId, c);
    }
    return c.date;
  }
}

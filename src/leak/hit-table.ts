import type { HitColumns } from './hit-columns.js';

/**
 * One file's merged hits (hit-merger.ts): one entry per tenant, patient and kind, with the first
 * line, the categories and the occurrences, in typed arrays under an open-addressing table. The
 * merge runs on the main thread while the workers scan, on the same cores: with a vault of 485,000
 * patients a scan merges about a million unit entries, and a Map keyed by a 53-bit number with an
 * object per entry took a second of that thread's CPU. The scan's result takes them as columns (copySorted).
 */
export class HitTable {
  // Small at first: a scan of many files (or tar members) has a table for each file with a hit.
  private patient = new Float64Array(8);
  /** tenant * 2 + kind (0: BSN, 1: name + birth date). */
  private tenantKind = new Int32Array(8);
  private line = new Float64Array(8);
  private categories = new Int32Array(8);
  private count = new Float64Array(8);
  /** Entry + 1 per slot; 0 is empty. At most half full. */
  private slots = new Int32Array(16);
  private size = 0;

  get length(): number {
    return this.size;
  }

  /** Adds an occurrence count at a line: the entry keeps the first line and every category. */
  add(tenant: number, patient: number, kind: 0 | 1, line: number, categories: number, count: number): void {
    const tk = tenant * 2 + kind;
    const mask = this.slots.length - 1;
    for (let s = hashOf(patient, tk) & mask; ; s = (s + 1) & mask) {
      const e = (this.slots[s] as number) - 1;
      if (e < 0) {
        this.insert(s, tenant, patient, kind, line, categories, count);
        return;
      }
      if (this.patient[e] === patient && this.tenantKind[e] === tk) {
        if (line < (this.line[e] as number)) this.line[e] = line;
        this.categories[e] = (this.categories[e] as number) | categories;
        this.count[e] = (this.count[e] as number) + count;
        return;
      }
    }
  }

  /**
   * Writes the entries into `into` from row `at`, by line, then tenant, patient and kind, as file
   * number `file`; returns the row after them. An index sort over the columns: no object per entry.
   */
  copySorted(into: HitColumns, at: number, file: number): number {
    const { line, tenantKind: tk, patient } = this;
    const order = new Uint32Array(this.size);
    for (let e = 0; e < this.size; e++) order[e] = e;
    // An entry is unique per tenant, patient and kind.
    order.sort(
      (a, b) =>
        (line[a] as number) - (line[b] as number) ||
        ((tk[a] as number) >> 1) - ((tk[b] as number) >> 1) ||
        (patient[a] as number) - (patient[b] as number) ||
        ((tk[a] as number) & 1) - ((tk[b] as number) & 1),
    );
    for (let i = 0; i < order.length; i++, at++) {
      const e = order[i] as number;
      const k = tk[e] as number;
      into.file[at] = file;
      into.tenant[at] = k >> 1;
      into.kind[at] = k & 1;
      into.patient[at] = patient[e] as number;
      into.line[at] = line[e] as number;
      into.categories[at] = this.categories[e] as number;
      into.count[at] = this.count[e] as number;
    }
    return at;
  }

  private insert(s: number, tenant: number, patient: number, kind: 0 | 1, line: number, categories: number, count: number): void {
    const e = this.size++;
    if (e === this.patient.length) this.growEntries();
    this.patient[e] = patient;
    this.tenantKind[e] = tenant * 2 + kind;
    this.line[e] = line;
    this.categories[e] = categories;
    this.count[e] = count;
    this.slots[s] = e + 1;
    if (this.size * 2 > this.slots.length) this.rehash();
  }

  private growEntries(): void {
    const n = this.patient.length * 2;
    this.patient = grown(this.patient, new Float64Array(n));
    this.tenantKind = grown(this.tenantKind, new Int32Array(n));
    this.line = grown(this.line, new Float64Array(n));
    this.categories = grown(this.categories, new Int32Array(n));
    this.count = grown(this.count, new Float64Array(n));
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let e = 0; e < this.size; e++) {
      let s = hashOf(this.patient[e] as number, this.tenantKind[e] as number) & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = e + 1;
    }
    this.slots = slots;
  }
}

/** Patient ordinals are below 2^32 (hitKey's bound), tenants below 2^20. */
function hashOf(patient: number, tenantKind: number): number {
  const h = Math.imul((patient >>> 0) ^ Math.imul(tenantKind, 0x27d4eb2f), 0x9e3779b1);
  return (h ^ (h >>> 15)) >>> 0;
}

function grown<T extends Float64Array | Int32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

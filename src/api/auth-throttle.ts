/**
 * Throttles credential guessing: per client address, failed authentications in a sliding minute
 * (two fixed windows, weighted). Past the limit the address gets 429 before any credential is
 * checked, so an attacker cannot probe tokens or API keys at line rate. Authenticated principals
 * have their own, larger limit (the rate-limit plugin); this only counts failures, so a
 * legitimate client behind a shared address is affected only if that address keeps failing.
 * In memory, bounded: a multi-node deployment limits per node (see ARCHITECTURE.md section 8).
 */
const WINDOW_MS = 60_000;
const MAX_ADDRESSES = 10_000;

interface Counter {
  window: number;
  current: number;
  previous: number;
  /** The window in which a refusal was last reported (audited), so a flood writes one event per minute. */
  reported: number;
}

export class AuthThrottle {
  private readonly counters = new Map<string, Counter>();

  constructor(
    private readonly maxPerMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until the address may try again, or 0 when it may try now. */
  retryAfter(address: string): number {
    const c = this.counters.get(address);
    if (!c) return 0;
    const t = this.now();
    this.roll(c, t);
    return this.estimate(c, t) >= this.maxPerMinute ? Math.ceil((WINDOW_MS - (t % WINDOW_MS)) / 1000) : 0;
  }

  /** True for the first refusal of an address in a window: only that one is audited. */
  firstRefusal(address: string): boolean {
    const c = this.counters.get(address);
    if (!c || c.reported === c.window) return false;
    c.reported = c.window;
    return true;
  }

  failed(address: string): void {
    const t = this.now();
    let c = this.counters.get(address);
    if (!c) {
      if (this.counters.size >= MAX_ADDRESSES) {
        // Forget the oldest address: an attacker rotating addresses gains a fresh budget either way.
        const oldest = this.counters.keys().next().value;
        if (oldest !== undefined) this.counters.delete(oldest);
      }
      c = { window: Math.floor(t / WINDOW_MS), current: 0, previous: 0, reported: -1 };
      this.counters.set(address, c);
    }
    this.roll(c, t);
    c.current++;
  }

  private roll(c: Counter, t: number): void {
    const w = Math.floor(t / WINDOW_MS);
    if (w === c.window) return;
    c.previous = w === c.window + 1 ? c.current : 0;
    c.current = 0;
    c.window = w;
  }

  private estimate(c: Counter, t: number): number {
    const elapsed = (t % WINDOW_MS) / WINDOW_MS;
    return c.current + c.previous * (1 - elapsed);
  }
}

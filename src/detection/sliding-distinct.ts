/**
 * Distinct keys seen in a sliding time window, O(1) amortised per key. A Map keeps insertion order,
 * so re-inserting a key on every sighting keeps the map ordered by last sighting, and expiry only
 * ever removes from the front. Sliding rather than calendar buckets: a thief cannot double the cap by
 * straddling a minute boundary.
 */
export class SlidingDistinct {
  private readonly seen = new Map<string, number>();
  /** Latest time added: reads judged slightly out of order are counted at it, keeping the map ordered. */
  private latest = -Infinity;

  constructor(readonly windowMs: number) {}

  /** Distinct keys seen within the window ending at `now`. */
  size(now: number): number {
    this.expire(now);
    return this.seen.size;
  }

  /** How many of `keys` are not yet in the window (what a response would add to the count). */
  added(keys: readonly string[], now: number): number {
    this.expire(now);
    let n = 0;
    for (const k of keys) if (!this.seen.has(k)) n++;
    return n;
  }

  add(keys: readonly string[], at: number): void {
    const now = Math.max(at, this.latest);
    this.latest = now;
    for (const k of keys) {
      this.seen.delete(k);
      this.seen.set(k, now);
    }
  }

  private expire(now: number): void {
    const oldest = now - this.windowMs;
    for (const [k, t] of this.seen) {
      if (t > oldest) break;
      this.seen.delete(k);
    }
  }
}

/** A sum (bytes, counts) over a sliding window. */
export class SlidingSum {
  private readonly times: number[] = [];
  private readonly values: number[] = [];
  private head = 0;
  private total = 0;
  private latest = -Infinity;

  constructor(readonly windowMs: number) {}

  sum(now: number): number {
    const oldest = now - this.windowMs;
    while (this.head < this.times.length && (this.times[this.head] as number) <= oldest) {
      this.total -= this.values[this.head] as number;
      this.head++;
    }
    // Compact now and then so the arrays do not grow with every event ever seen.
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times.splice(0, this.head);
      this.values.splice(0, this.head);
      this.head = 0;
    }
    return this.total;
  }

  add(value: number, at: number): void {
    if (value === 0) return;
    const now = Math.max(at, this.latest);
    this.latest = now;
    this.times.push(now);
    this.values.push(value);
    this.total += value;
  }
}

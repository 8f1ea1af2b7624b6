/**
 * Counts distinct BSN numbers (< 10^9) reported by the workers. A Set while it is small; past
 * SET_LIMIT a bitmap over all 10^9 nine-digit numbers (125 MB, allocated once) — bounded memory
 * whatever the dump holds.
 */
const SET_LIMIT = 4_000_000;
const SPACE = 1_000_000_000;

export class DistinctCounter {
  private set: Set<number> | null = new Set();
  private bits: Uint8Array | null = null;
  private count = 0;

  addAll(values: ArrayLike<number>): void {
    for (let i = 0; i < values.length; i++) this.add(values[i] as number);
  }

  add(v: number): void {
    if (v < 0 || v >= SPACE) return;
    if (this.set) {
      this.set.add(v);
      if (this.set.size > SET_LIMIT) this.toBits();
      return;
    }
    const bits = this.bits as Uint8Array;
    const byte = v >>> 3;
    const mask = 1 << (v & 7);
    if (((bits[byte] as number) & mask) === 0) {
      bits[byte] = (bits[byte] as number) | mask;
      this.count++;
    }
  }

  get size(): number {
    return this.set ? this.set.size : this.count;
  }

  private toBits(): void {
    const set = this.set as Set<number>;
    this.set = null;
    this.bits = new Uint8Array(SPACE / 8);
    this.count = 0;
    for (const v of set) this.add(v);
  }
}

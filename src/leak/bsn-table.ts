import { HitLists } from './hit-lists.js';
import type { PatientOrdinals } from './patient-ordinals.js';
import type { Hit } from './scan-types.js';

/**
 * The worker's memory of BSN candidates: an open-addressing hash table, in one typed array, from
 * BSN number to its match result. A dump names each patient many times (a row per result), so
 * most lookups find a number matched before. Lookups come in batches (a chunk's candidates):
 * first every slot is computed, then every slot read, so the reads — cache misses in a table of
 * 10^5–10^6 numbers — overlap instead of waiting one by one. A candidate's id is its slot, stable
 * until the next batch (the table grows only at the start of one). New numbers are matched in
 * batches (takePending/settle); the table is emptied between chunks once it is large.
 */
const START_SLOTS = 1 << 14;
const KEEP = 1 << 19;
/** Slot words: BSN, state/result, last unit that counted it unmatched, spare. */
const W = 4;
const EMPTY = 0;
const PENDING = 1;
const NO_HITS = 2;
const FIRST_RESULT = 3;

export class BsnTable {
  private slots = new Int32Array(START_SLOTS * W);
  private mask = START_SLOTS - 1;
  /** 32 − log2(slots): the top bits of a multiplicative hash pick the slot. */
  private shift = 32 - Math.log2(START_SLOTS);
  /** Match results, as patient ordinals. */
  readonly lists: HitLists;
  private count = 0;
  private pending: number[] = [];

  constructor(ordinals: PatientOrdinals) {
    this.lists = new HitLists(ordinals);
  }

  /** out[i] = id of values[i] for i < n, entering new numbers (pending). */
  lookup(values: Int32Array, n: number, out: Int32Array): void {
    this.ensure(n);
    const slots = this.slots;
    const mask = this.mask;
    const shift = this.shift;
    for (let i = 0; i < n; i++) out[i] = Math.imul(values[i] as number, 0x9e3779b1) >>> shift;
    for (let i = 0; i < n; i++) {
      const v = values[i] as number;
      let s = out[i] as number;
      while (slots[s * W + 1] !== EMPTY && slots[s * W] !== v) s = (s + 1) & mask;
      if (slots[s * W + 1] === EMPTY) {
        slots[s * W] = v;
        slots[s * W + 1] = PENDING;
        slots[s * W + 2] = -1;
        this.pending.push(s);
        this.count++;
      }
      out[i] = s;
    }
  }

  value(id: number): number {
    return this.slots[id * W] as number;
  }

  /** The number of the match result of entry `id` in `lists`, negative when it matched nobody (or is not settled). */
  result(id: number): number {
    return (this.slots[id * W + 1] as number) - FIRST_RESULT;
  }

  /** Marks the number as counted unmatched in `unit`; false if it already was. */
  markUnmatched(id: number, unit: number): boolean {
    if (this.slots[id * W + 2] === unit) return false;
    this.slots[id * W + 2] = unit;
    return true;
  }

  /** Ids entered since the last call, for the matcher; then `settle` each. */
  takePending(): number[] {
    const p = this.pending;
    this.pending = [];
    return p;
  }

  settle(id: number, hits: readonly Hit[]): void {
    if (hits.length === 0) this.slots[id * W + 1] = NO_HITS;
    else {
      this.slots[id * W + 1] = FIRST_RESULT + this.lists.add(hits);
    }
  }

  /** Empties the table once it holds KEEP numbers. Call only between chunks. */
  trim(): void {
    if (this.count < KEEP) return;
    this.slots.fill(0);
    this.count = 0;
    this.lists.clear();
  }

  /** Room for n more numbers at a load of at most 1/2 (growing moves entries: only between batches). */
  private ensure(n: number): void {
    if ((this.count + n) * 2 <= this.mask + 1) return;
    let size = this.mask + 1;
    while ((this.count + n) * 2 > size) size *= 2;
    const old = this.slots;
    this.slots = new Int32Array(size * W);
    this.mask = size - 1;
    this.shift = 32 - Math.log2(size);
    for (let at = 0; at < old.length; at += W) {
      if (old[at + 1] === EMPTY) continue;
      let s = Math.imul(old[at] as number, 0x9e3779b1) >>> this.shift;
      while (this.slots[s * W + 1] !== EMPTY) s = (s + 1) & this.mask;
      this.slots.set(old.subarray(at, at + W), s * W);
    }
  }
}

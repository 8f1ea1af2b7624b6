import { HitLists } from './hit-lists.js';
import type { PatientOrdinals } from './patient-ordinals.js';
import type { Hit } from './scan-types.js';

/**
 * The worker's memory of name + birth date candidates, like bsn-table.ts (batched lookups whose
 * memory reads overlap, id = slot): keyed by two independent 32-bit hashes of the normalised
 * family name and the packed date, so a key seen before costs neither a string nor a walk through
 * the heap. Two 32-bit hashes plus the date make a 64-bit name fingerprint per date: two different
 * names meeting on all of it in one scan is about as likely as 10^7 keys colliding in a 64-bit
 * space (~10^-5).
 */
const START_SLOTS = 1 << 14;
const KEEP = 1 << 19;
/** Slot words: hash 1, hash 2, date, state/result. */
const W = 4;
const EMPTY = 0;
const PENDING = 1;
const NO_HITS = 2;
const FIRST_RESULT = 3;

export class KeyTable {
  private slots = new Int32Array(START_SLOTS * W);
  private mask = START_SLOTS - 1;
  private shift = 32 - Math.log2(START_SLOTS);
  /** Match results, as patient ordinals. */
  readonly lists: HitLists;
  private count = 0;
  private pending: number[] = [];
  /** Family names of the pending ids (for the matcher), in the same order. */
  private pendingFamilies: string[] = [];

  constructor(ordinals: PatientOrdinals) {
    this.lists = new HitLists(ordinals);
  }

  /**
   * out[i] = id of key i < n (hashes h1/h2, date), entering new keys with `family(i)`, their
   * normalised family name.
   */
  lookup(h1: Int32Array, h2: Int32Array, date: Int32Array, n: number, out: Int32Array, family: (i: number) => string): void {
    this.ensure(n);
    const slots = this.slots;
    const mask = this.mask;
    const shift = this.shift;
    for (let i = 0; i < n; i++) out[i] = Math.imul((h1[i] as number) ^ Math.imul(date[i] as number, 0x85ebca6b), 0x9e3779b1) >>> shift;
    for (let i = 0; i < n; i++) {
      const a = h1[i] as number;
      const b = h2[i] as number;
      const d = date[i] as number;
      let s = out[i] as number;
      while (slots[s * W + 3] !== EMPTY && (slots[s * W] !== a || slots[s * W + 1] !== b || slots[s * W + 2] !== d)) s = (s + 1) & mask;
      if (slots[s * W + 3] === EMPTY) {
        slots[s * W] = a;
        slots[s * W + 1] = b;
        slots[s * W + 2] = d;
        slots[s * W + 3] = PENDING;
        this.pending.push(s);
        this.pendingFamilies.push(family(i));
        this.count++;
      }
      out[i] = s;
    }
  }

  date(id: number): number {
    return this.slots[id * W + 2] as number;
  }

  /** The number of the match result of entry `id` in `lists`, negative when it matched nobody (or is not settled). */
  result(id: number): number {
    return (this.slots[id * W + 3] as number) - FIRST_RESULT;
  }

  /** Ids entered since the last call and their family names, for the matcher; then `settle` each. */
  takePending(): { ids: number[]; families: string[] } {
    const p = { ids: this.pending, families: this.pendingFamilies };
    this.pending = [];
    this.pendingFamilies = [];
    return p;
  }

  settle(id: number, hits: readonly Hit[]): void {
    if (hits.length === 0) this.slots[id * W + 3] = NO_HITS;
    else {
      this.slots[id * W + 3] = FIRST_RESULT + this.lists.add(hits);
    }
  }

  /** Empties the table once it holds KEEP keys. Call only between chunks. */
  trim(): void {
    if (this.count < KEEP) return;
    this.slots.fill(0);
    this.count = 0;
    this.lists.clear();
  }

  private ensure(n: number): void {
    if ((this.count + n) * 2 <= this.mask + 1) return;
    let size = this.mask + 1;
    while ((this.count + n) * 2 > size) size *= 2;
    const old = this.slots;
    this.slots = new Int32Array(size * W);
    this.mask = size - 1;
    this.shift = 32 - Math.log2(size);
    for (let at = 0; at < old.length; at += W) {
      if (old[at + 3] === EMPTY) continue;
      let s = Math.imul((old[at] as number) ^ Math.imul(old[at + 2] as number, 0x85ebca6b), 0x9e3779b1) >>> this.shift;
      while (this.slots[s * W + 3] !== EMPTY) s = (s + 1) & this.mask;
      this.slots.set(old.subarray(at, at + W), s * W);
    }
  }
}

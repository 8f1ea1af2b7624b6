import type { PatientOrdinals } from './patient-ordinals.js';
import type { HitKind } from './scan-types.js';

/** One patient found in a work unit by one kind of evidence: first line (in the unit), categories, occurrences. */
export interface UnitHit {
  tenant: number;
  patient: number;
  kind: HitKind;
  line: number;
  categories: number;
  count: number;
  /** In a tar archive: the member's name. */
  member?: string;
}

/**
 * Occurrences of one patient (per unit and kind) whose records are read for data categories; later
 * ones add the categories their fields announce only. When a leak is the lab's own data every row
 * is a hit, and reading every row a second time would halve the scan for categories that the
 * first rows of a patient already show.
 */
export const CATEGORY_SAMPLES = 8;

const START_SLOTS = 1 << 8;
/** Slot words: entry key + 1 (0: empty), count, categories, first line. */
const W = 4;

/**
 * Hits of a work unit, one entry per (patient ordinal, kind): bounded by the patients found, not
 * by occurrences. When the leak is the lab's own data nearly every record is a hit, so an
 * occurrence costs one probe of an open-addressing table in one typed array (entry(), then
 * occur()) — a table per unit, sized by the patients it finds (a directory of small files makes
 * many units; each pays for its own hits only). Entries keep the order they were first seen in.
 */
export class UnitHits {
  private slots = new Int32Array(START_SLOTS * W);
  private mask = START_SLOTS - 1;
  private shift = 32 - Math.log2(START_SLOTS);
  /** Slots in the order their entries were made. */
  private order: number[] = [];

  constructor(private readonly ordinals: PatientOrdinals) {}

  /** The entry (a slot) of patient ordinal `ord` and kind (0: BSN, 1: name + birth date), made with no occurrences on first use. */
  entry(ord: number, kind: 0 | 1): number {
    const key = ord * 2 + kind + 1;
    const slots = this.slots;
    let s = Math.imul(key, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const k = slots[s * W] as number;
      if (k === key) return s;
      if (k === 0) break;
      s = (s + 1) & this.mask;
    }
    if ((this.order.length + 1) * 2 > this.mask + 1) {
      this.grow();
      return this.entry(ord, kind);
    }
    slots[s * W] = key;
    slots[s * W + 3] = 0x7fffffff;
    this.order.push(s);
    return s;
  }

  /** Whether this occurrence of entry `e` should have its record read for categories. */
  wantsCategories(e: number): boolean {
    return (this.slots[e * W + 1] as number) < CATEGORY_SAMPLES;
  }

  occur(e: number, line: number, categories: number): void {
    const slots = this.slots;
    const at = e * W;
    slots[at + 1] = (slots[at + 1] as number) + 1;
    slots[at + 2] = (slots[at + 2] as number) | categories;
    if (line < (slots[at + 3] as number)) slots[at + 3] = line;
  }

  list(): UnitHit[] {
    const out: UnitHit[] = [];
    for (const s of this.order) {
      const at = s * W;
      if (this.slots[at + 1] === 0) continue;
      const key = (this.slots[at] as number) - 1;
      const ord = key >>> 1;
      out.push({
        tenant: this.ordinals.tenant(ord),
        patient: this.ordinals.patient(ord),
        kind: (key & 1) === 0 ? 'bsn' : 'name-date',
        line: this.slots[at + 3] as number,
        categories: this.slots[at + 2] as number,
        count: this.slots[at + 1] as number,
      });
    }
    return out;
  }

  private grow(): void {
    const old = this.slots;
    const oldOrder = this.order;
    const size = (this.mask + 1) * 2;
    this.slots = new Int32Array(size * W);
    this.mask = size - 1;
    this.shift = 32 - Math.log2(size);
    this.order = [];
    for (const o of oldOrder) {
      const key = old[o * W] as number;
      let s = Math.imul(key, 0x9e3779b1) >>> this.shift;
      while (this.slots[s * W] !== 0) s = (s + 1) & this.mask;
      this.slots.set(old.subarray(o * W, o * W + W), s * W);
      this.order.push(s);
    }
  }
}

/**
 * Distinct 32-bit values (unmatched BSNs). The caller adds each value about once per unit (the
 * BSN table marks what it counted), so values are appended and sorted and deduplicated once, at
 * the end — and, past 4 M values, whenever the list would double: at most twice the distinct ones.
 */
const COMPACT_FROM = 1 << 22;

export class DistinctValues {
  private data = new Uint32Array(4096);
  private length = 0;
  /** Distinct values after the last compaction. */
  private compacted = 0;

  add(v: number): void {
    if (this.length === this.data.length) {
      // Mostly distinct already: sorting pays only once the list is large.
      if (this.length >= COMPACT_FROM && this.length >= 2 * this.compacted) this.compact();
      if (this.length * 2 > this.data.length) {
        const next = new Uint32Array(this.data.length * 2);
        next.set(this.data.subarray(0, this.length));
        this.data = next;
      }
    }
    this.data[this.length++] = v;
  }

  /** The distinct values, sorted. */
  values(): Uint32Array {
    this.compact();
    return this.data.slice(0, this.length);
  }

  private compact(): void {
    const d = this.data.subarray(0, this.length);
    d.sort();
    let w = 0;
    for (let r = 0; r < d.length; r++) if (r === 0 || d[r] !== d[r - 1]) d[w++] = d[r] as number;
    this.length = this.compacted = w;
  }
}

/** The distinct values of several sorted distinct lists (tar members' unmatched BSNs), sorted. */
export function distinctUnion(lists: readonly Uint32Array[]): Uint32Array {
  const all = new DistinctValues();
  for (const l of lists) for (const v of l) all.add(v);
  return all.values();
}

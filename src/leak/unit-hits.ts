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

/** A patient's occurrences so far in one unit by one kind of evidence. */
export interface HitEntry {
  readonly tenant: number;
  readonly patient: number;
  readonly kind: 0 | 1;
  line: number;
  categories: number;
  count: number;
}

/**
 * Occurrences of one patient (per unit and kind) whose records are read for data categories; later
 * ones add the categories their fields announce only. When a leak is the lab's own data every row
 * is a hit, and reading every row a second time would halve the scan for categories that the
 * first rows of a patient already show.
 */
export const CATEGORY_SAMPLES = 8;

/** A key packs tenant (< 2^20), patient (< 2^32) and kind into 53 bits. */
const TENANTS = 1 << 20;

/**
 * Hits of a work unit, one entry per (tenant, patient, kind): bounded by the patients found, not by
 * occurrences. When the leak is the lab's own data nearly every record is a hit, so an occurrence
 * costs one look-up in one Map (entry(), then occur()).
 */
export class UnitHits {
  private readonly entries = new Map<number, HitEntry>();

  /** The entry of (tenant, patient, kind), made with no occurrences on first use. */
  entry(tenant: number, patient: number, kind: 0 | 1): HitEntry {
    if (tenant < 0 || tenant >= TENANTS) throw new RangeError(`tenant ordinal ${tenant} out of range`);
    const key = (patient * TENANTS + tenant) * 2 + kind;
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, (e = { tenant, patient, kind, line: Number.MAX_SAFE_INTEGER, categories: 0, count: 0 }));
    return e;
  }

  /** Whether this occurrence of the entry's patient should have its record read for categories. */
  static wantsCategories(e: HitEntry): boolean {
    return e.count < CATEGORY_SAMPLES;
  }

  static occur(e: HitEntry, line: number, categories: number): void {
    if (line < e.line) e.line = line;
    e.categories |= categories;
    e.count++;
  }

  list(): UnitHit[] {
    const out: UnitHit[] = [];
    for (const e of this.entries.values())
      if (e.count > 0)
        out.push({
          tenant: e.tenant,
          patient: e.patient,
          kind: e.kind === 0 ? 'bsn' : 'name-date',
          line: e.line,
          categories: e.categories,
          count: e.count,
        });
    return out;
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

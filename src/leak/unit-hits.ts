import type { HitKind } from './scan-types.js';

/** One patient found in a work unit by one kind of evidence: first line (in the unit), categories, occurrences. */
export interface UnitHit {
  tenant: number;
  patient: number;
  kind: HitKind;
  line: number;
  categories: number;
  count: number;
}

interface Entry {
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

/** Hits of a work unit, one entry per (tenant, patient, kind): bounded by the patients found, not by occurrences. */
export class UnitHits {
  private readonly byTenant = new Map<number, Map<number, Entry>>();

  /** Whether the next occurrence of this patient should have its record read for categories. */
  wantsCategories(tenant: number, patient: number, kind: 0 | 1): boolean {
    const e = this.byTenant.get(tenant)?.get(patient * 2 + kind);
    return e === undefined || e.count < CATEGORY_SAMPLES;
  }

  add(tenant: number, patient: number, kind: 0 | 1, line: number, categories: number): void {
    let m = this.byTenant.get(tenant);
    if (!m) this.byTenant.set(tenant, (m = new Map<number, Entry>()));
    const key = patient * 2 + kind;
    const e = m.get(key);
    if (!e) {
      m.set(key, { line, categories, count: 1 });
      return;
    }
    if (line < e.line) e.line = line;
    e.categories |= categories;
    e.count++;
  }

  list(): UnitHit[] {
    const out: UnitHit[] = [];
    for (const [tenant, m] of this.byTenant)
      for (const [key, e] of m)
        out.push({
          tenant,
          patient: Math.floor(key / 2),
          kind: key % 2 === 0 ? 'bsn' : 'name-date',
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

import { bsnString } from './bsn-digits.js';
import { BsnTable } from './bsn-table.js';
import { isoDate } from './calendar-date.js';
import { KeyTable } from './key-table.js';
import { PatientOrdinals } from './patient-ordinals.js';
import type { Hit, Matcher } from './scan-types.js';

/**
 * A worker's matcher behind its memory of candidates (bsn-table.ts, key-table.ts): a dump repeats
 * its patients (one row per result), so most candidates were matched before. New ones go to the
 * matcher in batches of at most BATCH distinct values (the batched PRF amortises its set-up over
 * a batch).
 */
export const BATCH = 4096;

export class CachedMatcher {
  /** The patients found, numbered: both tables' results and every unit's hits use these numbers. */
  readonly ordinals = new PatientOrdinals();
  readonly bsns = new BsnTable(this.ordinals);
  readonly keys = new KeyTable(this.ordinals);
  /** Distinct candidates sent to the matcher. */
  matched = 0;

  constructor(private readonly matcher: Matcher) {}

  /** Matches the entries entered since the last call. */
  resolve(): void {
    const bsns = this.bsns.takePending();
    for (let i = 0; i < bsns.length; i += BATCH) {
      const batch = bsns.slice(i, i + BATCH);
      const hits = this.matcher.matchBsns(batch.map((id) => bsnString(this.bsns.value(id))));
      checkResults(hits, batch.length);
      batch.forEach((id, k) => this.bsns.settle(id, hits[k] as readonly Hit[]));
    }
    const keys = this.keys.takePending();
    for (let i = 0; i < keys.ids.length; i += BATCH) {
      const batch = keys.ids.slice(i, i + BATCH);
      const hits = this.matcher.matchNameDates(batch.map((id, k) => `${keys.families[i + k] as string}|${isoDate(this.keys.date(id))}`));
      checkResults(hits, batch.length);
      batch.forEach((id, k) => this.keys.settle(id, hits[k] as readonly Hit[]));
    }
    this.matched += bsns.length + keys.ids.length;
  }

  /** Frees memory between chunks when the tables have grown large. */
  trim(): void {
    this.bsns.trim();
    this.keys.trim();
  }
}

/** A matcher that answers for another number of candidates than it was given is broken. */
export function checkResults(hits: readonly (readonly Hit[])[], n: number): void {
  if (!Array.isArray(hits) || hits.length !== n)
    throw new Error(`matcher returned ${Array.isArray(hits) ? hits.length : 'no'} results for ${n} candidates`);
}

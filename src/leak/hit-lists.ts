import { IntList } from './int-list.js';
import type { PatientOrdinals } from './patient-ordinals.js';
import type { Hit } from './scan-types.js';

/**
 * The match results of a candidate table (bsn-table.ts, key-table.ts) as flat lists of patient
 * ordinals: result r holds ords[start(r) .. start(r + 1)). Reading a result touches two typed
 * arrays, not a Hit array and its objects scattered over the heap.
 */
export class HitLists {
  /** Patient ordinals of all results, one after another. */
  readonly ords = new IntList();
  /** starts.get(r): where result r begins in `ords`; one more entry marks the end of the last. */
  readonly starts = new IntList();

  constructor(private readonly ordinals: PatientOrdinals) {
    this.starts.push(0);
  }

  /** Adds a non-empty result; returns its number. */
  add(hits: readonly Hit[]): number {
    for (const h of hits) this.ords.push(this.ordinals.of(h));
    this.starts.push(this.ords.length);
    return this.starts.length - 2;
  }

  clear(): void {
    this.ords.clear();
    this.starts.clear();
    this.starts.push(0);
  }
}

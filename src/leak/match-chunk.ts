import type { CachedMatcher } from './cached-matcher.js';
import type { CandidateCollector } from './candidate-collector.js';
import { recordCategories } from './record-categories.js';
import { DataCategory, type Hit } from './scan-types.js';
import { UnitHits, type DistinctValues } from './unit-hits.js';

let categoriesOfRecord = new Int32Array(1024);
let bsnIds = new Int32Array(1024);
let keyIds = new Int32Array(1024);
/** Per record of the chunk: the patients its BSN named (reused; reset after each chunk). */
const namedOf: (readonly Hit[] | undefined)[] = [];
const namedRecords: number[] = [];

/**
 * Matches a scanned chunk's candidates and books the hits, with the data categories of the records
 * they sit in (read from the chunk, which is still in the buffer, once per record with a hit, for
 * the first CATEGORY_SAMPLES occurrences of a patient: see unit-hits.ts).
 * Unmatched valid BSNs are counted once per unit. A name + birth date key is not unique (namesakes
 * born the same day): in a record whose BSN matched, it only confirms the patients that BSN names.
 * Returns the number of candidate occurrences and leaves the collector empty for the next chunk.
 */
export function matchChunk(
  c: CandidateCollector,
  buf: Buffer,
  m: CachedMatcher,
  unit: number,
  hits: UnitHits,
  unmatched: DistinctValues,
): number {
  c.settleColumns();
  const nb = c.bsnValue.length;
  const nk = c.keys.length;
  if (bsnIds.length < nb) bsnIds = new Int32Array(nb * 2);
  if (keyIds.length < nk) keyIds = new Int32Array(nk * 2);
  m.bsns.lookup(c.bsnValue.data, nb, bsnIds);
  c.keys.resolve(buf, m.keys, keyIds);
  m.resolve();
  const records = c.recordStart.length;
  if (categoriesOfRecord.length < records) categoriesOfRecord = new Int32Array(records * 2);
  categoriesOfRecord.fill(-1, 0, records);
  const categories = (r: number): number => {
    let k = categoriesOfRecord[r] as number;
    if (k < 0) {
      k = recordCategories(buf, c.recordStart.get(r), c.recordEnd.get(r)) | c.recordHint.get(r);
      categoriesOfRecord[r] = k;
    }
    return k;
  };
  // Records whose BSN named a patient: their name + birth date pairs are about that patient. An
  // array by record number, not a Map: when the leak is the lab's own data most records are hits.
  while (namedOf.length < records) namedOf.push(undefined);
  for (let i = 0; i < nb; i++) {
    const id = bsnIds[i] as number;
    const found = m.bsns.hits(id);
    if (found.length === 0) {
      if (m.bsns.markUnmatched(id, unit)) unmatched.add(m.bsns.value(id));
      continue;
    }
    const rec = c.bsnRecord.get(i);
    const before = namedOf[rec];
    if (!before) namedRecords.push(rec);
    namedOf[rec] = before ? before.concat(found) : found;
    const line = c.bsnLine.get(i);
    for (let j = 0; j < found.length; j++) {
      const h = found[j] as Hit;
      const e = hits.entry(h.tenant, h.patient, 0);
      UnitHits.occur(e, line, (UnitHits.wantsCategories(e) ? categories(rec) : c.recordHint.get(rec)) | DataCategory.NationalId);
    }
  }
  for (let i = 0; i < nk; i++) {
    const found = m.keys.hits(keyIds[i] as number);
    if (found.length === 0) continue;
    const rec = c.keys.record.get(i);
    const named = namedOf[rec];
    const line = c.keys.line.get(i);
    for (let j = 0; j < found.length; j++) {
      const h = found[j] as Hit;
      // Namesakes born the same day share a key; a BSN in the record tells which one it is.
      if (named && !includes(named, h)) continue;
      const e = hits.entry(h.tenant, h.patient, 1);
      const cats = UnitHits.wantsCategories(e) ? categories(rec) : c.recordHint.get(rec);
      UnitHits.occur(e, line, cats | DataCategory.Names | DataCategory.BirthDates);
    }
  }
  for (const r of namedRecords) namedOf[r] = undefined;
  namedRecords.length = 0;
  c.clearChunk();
  m.trim();
  return nb + nk;
}

function includes(hits: readonly Hit[], h: Hit): boolean {
  for (let i = 0; i < hits.length; i++) {
    const b = hits[i] as Hit;
    if (b.tenant === h.tenant && b.patient === h.patient) return true;
  }
  return false;
}

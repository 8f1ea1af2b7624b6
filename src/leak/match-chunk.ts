import type { CachedMatcher } from './cached-matcher.js';
import type { CandidateCollector } from './candidate-collector.js';
import { recordCategories } from './record-categories.js';
import { DataCategory } from './scan-types.js';
import type { DistinctValues, UnitHits } from './unit-hits.js';

let categoriesOfRecord = new Int32Array(1024);
let bsnIds = new Int32Array(1024);
let keyIds = new Int32Array(1024);
/**
 * Per record of the chunk: 1 + the BSN table's result naming its patients (0: none), and for a
 * record naming several (two BSNs of different people) the further results (reset after each chunk).
 */
let namedOf = new Int32Array(1024);
const moreNamed = new Map<number, number[]>();

/**
 * Matches a scanned chunk's candidates and books the hits, with the data categories of the records
 * they sit in (read from the chunk, which is still in the buffer, once per record with a hit, for
 * the first CATEGORY_SAMPLES occurrences of a patient: see unit-hits.ts).
 * Unmatched valid BSNs are counted once per unit. A name + birth date key is not unique (namesakes
 * born the same day): in a record whose BSN matched, it only confirms the patients that BSN names.
 * Returns the number of candidate occurrences and leaves the collector empty for the next chunk.
 * Results and hits are patient ordinals in typed arrays (hit-lists.ts, unit-hits.ts): nearly
 * every record is a hit when the leak is the lab's own data, so this loop runs per occurrence.
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
  if (namedOf.length < records) namedOf = new Int32Array(records * 2);
  namedOf.fill(0, 0, records);
  const categories = (r: number): number => {
    let k = categoriesOfRecord[r] as number;
    if (k < 0) {
      k = recordCategories(buf, c.recordStart.get(r), c.recordEnd.get(r)) | c.recordHint.get(r);
      categoriesOfRecord[r] = k;
    }
    return k;
  };
  const bsnOrds = m.bsns.lists.ords.data;
  const bsnStarts = m.bsns.lists.starts.data;
  const bsnRecord = c.bsnRecord.data;
  const bsnLine = c.bsnLine.data;
  for (let i = 0; i < nb; i++) {
    const id = bsnIds[i] as number;
    const r = m.bsns.result(id);
    if (r < 0) {
      if (m.bsns.markUnmatched(id, unit)) unmatched.add(m.bsns.value(id));
      continue;
    }
    const rec = bsnRecord[i] as number;
    // Records whose BSN named a patient: their name + birth date pairs are about that patient.
    const before = namedOf[rec] as number;
    if (before === 0) namedOf[rec] = r + 1;
    else if (before !== r + 1) (moreNamed.get(rec) ?? moreNamed.set(rec, []).get(rec))?.push(r);
    const line = bsnLine[i] as number;
    for (let j = bsnStarts[r] as number, end = bsnStarts[r + 1] as number; j < end; j++) {
      const e = hits.entry(bsnOrds[j] as number, 0);
      hits.occur(e, line, (hits.wantsCategories(e) ? categories(rec) : c.recordHint.get(rec)) | DataCategory.NationalId);
    }
  }
  const keyOrds = m.keys.lists.ords.data;
  const keyStarts = m.keys.lists.starts.data;
  const keyRecord = c.keys.record.data;
  const keyLine = c.keys.line.data;
  for (let i = 0; i < nk; i++) {
    const r = m.keys.result(keyIds[i] as number);
    if (r < 0) continue;
    const rec = keyRecord[i] as number;
    const named = namedOf[rec] as number;
    const line = keyLine[i] as number;
    for (let j = keyStarts[r] as number, end = keyStarts[r + 1] as number; j < end; j++) {
      const ord = keyOrds[j] as number;
      // Namesakes born the same day share a key; a BSN in the record tells which one it is.
      if (named !== 0 && !namedIn(named - 1, rec, ord, bsnOrds, bsnStarts)) continue;
      const e = hits.entry(ord, 1);
      const cats = hits.wantsCategories(e) ? categories(rec) : c.recordHint.get(rec);
      hits.occur(e, line, cats | DataCategory.Names | DataCategory.BirthDates);
    }
  }
  moreNamed.clear();
  c.clearChunk();
  m.trim();
  return nb + nk;
}

/** Whether patient `ord` is among those the BSNs of record `rec` named (result `first`, then any in moreNamed). */
function namedIn(first: number, rec: number, ord: number, ords: Int32Array, starts: Int32Array): boolean {
  if (inResult(first, ord, ords, starts)) return true;
  const more = moreNamed.get(rec);
  if (more) for (const r of more) if (inResult(r, ord, ords, starts)) return true;
  return false;
}

function inResult(r: number, ord: number, ords: Int32Array, starts: Int32Array): boolean {
  for (let j = starts[r] as number, end = starts[r + 1] as number; j < end; j++) if (ords[j] === ord) return true;
  return false;
}

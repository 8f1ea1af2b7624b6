import type { UnitHit } from './unit-hits.js';

/**
 * A unit's hits as they go from a worker to the main thread: numbers in one transferable array,
 * not objects. When a leak is the lab's own data a scan's units send hundreds of thousands of
 * hits; as objects each was serialised, deserialised, and then kept alive on the main thread until
 * the scan ended, copied again by every young-generation GC meanwhile.
 *
 * Per hit HIT_FIELDS numbers: tenant, patient, kind (0 BSN, 1 name + birth date), first line,
 * categories, occurrences, and the tar member it was found in (an index into `members`, or -1).
 * Doubles, as a line past 2^31 (rebasing-book.ts) must pass whole.
 */
export const HIT_FIELDS = 7;

export interface PackedHits {
  values: Float64Array;
  members: string[];
}

/** Hits of a unit: of the file itself (member undefined) or of its tar members, each part once. */
export function packHits(parts: readonly { hits: readonly UnitHit[]; member?: string | undefined }[]): PackedHits {
  let n = 0;
  for (const p of parts) n += p.hits.length;
  const values = new Float64Array(n * HIT_FIELDS);
  const members: string[] = [];
  let at = 0;
  for (const p of parts) {
    const member = p.member === undefined ? -1 : members.push(p.member) - 1;
    for (const h of p.hits) {
      values[at] = h.tenant;
      values[at + 1] = h.patient;
      values[at + 2] = h.kind === 'bsn' ? 0 : 1;
      values[at + 3] = h.line;
      values[at + 4] = h.categories;
      values[at + 5] = h.count;
      values[at + 6] = member;
      at += HIT_FIELDS;
    }
  }
  return { values, members };
}

/** The hits again, as objects (tests, and readers that are not on the hot path). */
export function unpackHits(p: PackedHits): UnitHit[] {
  const out: UnitHit[] = [];
  const v = p.values;
  for (let at = 0; at < v.length; at += HIT_FIELDS) {
    const member = v[at + 6] as number;
    out.push({
      tenant: v[at] as number,
      patient: v[at + 1] as number,
      kind: v[at + 2] === 0 ? 'bsn' : 'name-date',
      line: v[at + 3] as number,
      categories: v[at + 4] as number,
      count: v[at + 5] as number,
      ...(member >= 0 ? { member: p.members[member] } : {}),
    });
  }
  return out;
}

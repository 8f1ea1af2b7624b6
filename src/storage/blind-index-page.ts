import { IntegrityViolation } from '../domain/errors.js';
import type { BlindIndexPage } from '../ports/access-store.js';

/** A row of blindIndexPageSql (resource-search.ts): id, then the BSN and name indexes in hex (null or '' when none). */
export type BlindIndexHexRow = readonly [id: string, bsnHex: string | null, nameHex: string | null];

/**
 * The packed page of hex rows: each kind's 16-byte indexes decoded from one joined string, with the
 * rows that have one. An index of another length is left out, as the leak scan has always done.
 */
export function blindIndexPage(rows: readonly BlindIndexHexRow[]): BlindIndexPage {
  const bsn = packed(rows, 1);
  const name = packed(rows, 2);
  return { ids: rows.map((r) => r[0]), bsn: bsn.bytes, bsnRows: bsn.rows, name: name.bytes, nameRows: name.rows };
}

function packed(rows: readonly BlindIndexHexRow[], col: 1 | 2): { bytes: Buffer; rows: Int32Array } {
  const at: number[] = [];
  const hex: string[] = [];
  rows.forEach((r, i) => {
    const h = r[col];
    if (h?.length === 32) {
      at.push(i);
      hex.push(h);
    }
  });
  // Decoding stops at the first character that is not hex: a short result means the store sent one.
  const bytes = Buffer.from(hex.join(''), 'hex');
  if (bytes.length !== at.length * 16) throw new IntegrityViolation('blind index page: an index is not hex');
  return { bytes, rows: Int32Array.from(at) };
}

/**
 * A page as one row (blindIndexConcatSql, SQLite): the ids joined by line breaks (FHIR ids hold
 * none), per kind a string of 1s and 0s (which rows have a 16-byte index) and those indexes
 * concatenated, as one blob (null when there are none: unhex of a string that is not hex is null too). The aggregates run over the rows in one pass, so the three stay aligned. One row
 * instead of an array and three strings per patient: the driver's rows were most of the page's time.
 */
export interface BlindIndexConcatRow {
  n: number;
  ids: string | null;
  bsn_at: string | null;
  bsn_idx: Uint8Array | null;
  name_at: string | null;
  name_idx: Uint8Array | null;
}

export function blindIndexPageFromConcat(r: BlindIndexConcatRow): BlindIndexPage {
  const ids = r.n === 0 ? [] : (r.ids ?? '').split('\n');
  if (ids.length !== r.n) throw new IntegrityViolation('blind index page: the ids do not split into one per patient');
  // The page's rows come in id order (an ORDER BY in each aggregate would sort them three more
  // times: 0.5 → 1.3 s for 533,720 patients), and the next page starts after the last id: an
  // order SQLite did not keep would skip or repeat patients, so it fails the load instead.
  for (let i = 1; i < ids.length; i++)
    if (!((ids[i - 1] as string) < (ids[i] as string))) throw new IntegrityViolation('blind index page: the ids are not in order');
  const bsn = fromConcat(r.bsn_at, r.bsn_idx, r.n);
  const name = fromConcat(r.name_at, r.name_idx, r.n);
  return { ids, bsn: bsn.bytes, bsnRows: bsn.rows, name: name.bytes, nameRows: name.rows };
}

function fromConcat(at: string | null, indexes: Uint8Array | null, n: number): { bytes: Buffer; rows: Int32Array } {
  const flags = at ?? '';
  if (flags.length !== n) throw new IntegrityViolation('blind index page: the index flags do not match the patients');
  const rows: number[] = [];
  for (let i = 0; i < n; i++) if (flags.charCodeAt(i) === 0x31) rows.push(i);
  // No blob, or one of another length (the store's hex was not hex, or cut): the page is refused.
  const bytes = indexes === null ? Buffer.alloc(0) : Buffer.from(indexes.buffer, indexes.byteOffset, indexes.byteLength);
  if (bytes.length !== rows.length * 16) throw new IntegrityViolation('blind index page: the indexes do not match their flags');
  return { bytes, rows: Int32Array.from(rows) };
}

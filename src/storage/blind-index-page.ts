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

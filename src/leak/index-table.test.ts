import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IndexTable } from './index-table.js';

/** The matcher's table of stored blind indexes: every patient of an index, in stored order; nothing for others. */
function found(t: IndexTable, index: Buffer): number[] {
  const words = new Int32Array(4);
  new Uint8Array(words.buffer).set(index);
  const out: number[] = [];
  t.find(words, 0, (p) => out.push(p));
  return out;
}

describe('IndexTable', () => {
  it('finds each stored index, all patients of a shared one, and nothing for an index not stored', () => {
    const n = 5000;
    const indexes = randomBytes(n * 16);
    // Entries 10 and 4000 store the same index (one BSN, two patients of a tenant).
    indexes.copy(indexes, 4000 * 16, 10 * 16, 11 * 16);
    const patients = Int32Array.from({ length: n }, (_, i) => 100_000 + i);
    const t = new IndexTable(indexes, patients);
    for (let i = 0; i < n; i += 97) if (i !== 10) expect(found(t, indexes.subarray(i * 16, i * 16 + 16))).toEqual([100_000 + i]);
    expect(found(t, indexes.subarray(160, 176))).toEqual([100_010, 104_000]);
    for (let k = 0; k < 200; k++) expect(found(t, randomBytes(16))).toEqual([]);
    // Same first word (the slot), different rest: not a match.
    const near = Buffer.from(indexes.subarray(0, 16));
    near[15] = (near[15] as number) ^ 1;
    expect(found(t, near)).toEqual([]);
  });

  it('refuses indexes that do not match the patients', () => {
    expect(() => new IndexTable(new Uint8Array(33), new Int32Array(2))).toThrow(RangeError);
  });
});

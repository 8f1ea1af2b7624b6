import { describe, expect, it } from 'vitest';
import { IntegrityViolation } from '../domain/errors.js';
import { blindIndexPage, blindIndexPageFromConcat, type BlindIndexConcatRow } from './blind-index-page.js';

const hex = (b: number): string => b.toString(16).padStart(2, '0').repeat(16);
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

describe('blindIndexPage', () => {
  it('packs each kind’s 16-byte indexes with the rows that have one', () => {
    const page = blindIndexPage([
      ['a', hex(1), null],
      ['b', '', hex(2).toUpperCase()],
      ['c', hex(3), hex(4)],
      ['d', `${hex(5)}00`, hex(6).slice(2)],
    ]);
    expect(page.ids).toEqual(['a', 'b', 'c', 'd']);
    expect(page.bsn).toStrictEqual(Buffer.from(hex(1) + hex(3), 'hex'));
    expect([...page.bsnRows]).toEqual([0, 2]);
    expect(page.name).toStrictEqual(Buffer.from(hex(2) + hex(4), 'hex'));
    expect([...page.nameRows]).toEqual([1, 2]);
  });

  it('refuses an index that is not hex rather than pair the rest with the wrong patients', () => {
    expect(() =>
      blindIndexPage([
        ['a', `${'z'.repeat(2)}${hex(1).slice(2)}`, null],
        ['b', hex(2), null],
      ]),
    ).toThrow(IntegrityViolation);
  });
});

describe('blindIndexPageFromConcat', () => {
  const row = (over: Partial<BlindIndexConcatRow> = {}): BlindIndexConcatRow => ({
    n: 4,
    ids: 'a\nb\nc\nd',
    bsn_at: '1010',
    bsn_idx: bytes(hex(1) + hex(3)),
    name_at: '0110',
    name_idx: bytes(hex(2) + hex(4)),
    ...over,
  });

  it('packs the page as blindIndexPage does for the same rows', () => {
    expect(blindIndexPageFromConcat(row())).toStrictEqual(
      blindIndexPage([
        ['a', hex(1), null],
        ['b', '', hex(2).toUpperCase()],
        ['c', hex(3), hex(4)],
        ['d', `${hex(5)}00`, hex(6).slice(2)],
      ]),
    );
    expect(blindIndexPageFromConcat({ n: 0, ids: null, bsn_at: null, bsn_idx: null, name_at: null, name_idx: null }).ids).toEqual([]);
  });

  it('refuses a page whose parts do not line up, rather than pair indexes with the wrong patients', () => {
    expect(() => blindIndexPageFromConcat(row({ ids: 'a\nb\nc' }))).toThrow(IntegrityViolation);
    expect(() => blindIndexPageFromConcat(row({ bsn_at: '101' }))).toThrow(IntegrityViolation);
    expect(() => blindIndexPageFromConcat(row({ bsn_idx: bytes(hex(1)) }))).toThrow(IntegrityViolation);
    // The store's unhex is null for hex it cannot read, and a blob may come cut.
    expect(() => blindIndexPageFromConcat(row({ name_idx: null }))).toThrow(/do not match their flags/);
    expect(() => blindIndexPageFromConcat(row({ name_idx: bytes(hex(2) + hex(4)).subarray(1) }))).toThrow(/do not match their flags/);
    expect(() => blindIndexPageFromConcat(row({ ids: 'a\nc\nb\nd' }))).toThrow(/not in order/);
  });
});

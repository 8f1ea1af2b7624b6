import { describe, expect, it } from 'vitest';
import { IntegrityViolation } from '../domain/errors.js';
import { blindIndexPage } from './blind-index-page.js';

const hex = (b: number): string => b.toString(16).padStart(2, '0').repeat(16);

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

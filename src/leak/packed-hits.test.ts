import { describe, expect, it } from 'vitest';
import { HIT_FIELDS, packHits, unpackHits } from './packed-hits.js';
import type { UnitHit } from './unit-hits.js';

describe('packHits', () => {
  const own: UnitHit[] = [
    { tenant: 0, patient: 7, kind: 'bsn', line: 3, categories: 0b101, count: 2 },
    { tenant: 4, patient: 2 ** 31 + 5, kind: 'name-date', line: 2 ** 33 + 1, categories: 0, count: 1 },
  ];
  const member: UnitHit[] = [{ tenant: 1, patient: 9, kind: 'name-date', line: 1, categories: 0b10, count: 40 }];

  it('keeps every field, lines and patients past 2^31 included, and names tar members', () => {
    const p = packHits([{ hits: own }, { hits: member, member: 'dir/a.csv' }, { hits: [], member: 'empty.txt' }]);
    expect(p.values.length).toBe(3 * HIT_FIELDS);
    expect(p.members).toEqual(['dir/a.csv', 'empty.txt']);
    expect(unpackHits(p)).toEqual([...own, { ...(member[0] as UnitHit), member: 'dir/a.csv' }]);
  });

  it('packs nothing into an empty array', () => {
    expect(unpackHits(packHits([]))).toEqual([]);
    expect(packHits([]).values.length).toBe(0);
  });
});

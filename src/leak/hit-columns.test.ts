import { describe, expect, it } from 'vitest';
import { HitColumns } from './hit-columns.js';

describe('HitColumns', () => {
  const cols = (n: number, kinds = new Uint8Array(n)): HitColumns =>
    new HitColumns(
      ['a.csv', 'b.sql'],
      Int32Array.from({ length: n }, (_, i) => i % 2),
      Int32Array.from({ length: n }, (_, i) => i),
      Float64Array.from({ length: n }, (_, i) => 2 ** 31 + i),
      kinds,
      Float64Array.from({ length: n }, (_, i) => 1 + i),
      new Int32Array(n).fill(5),
      new Float64Array(n).fill(2),
    );

  it('gives its rows as HitRecords, file names and kinds spelled out, numbers past 2^31 whole', () => {
    expect(cols(2, Uint8Array.from([0, 1])).records()).toEqual([
      { tenant: 0, patient: 2 ** 31, kind: 'bsn', file: 'a.csv', line: 1, categories: 5, count: 2 },
      { tenant: 1, patient: 2 ** 31 + 1, kind: 'name-date', file: 'b.sql', line: 2, categories: 5, count: 2 },
    ]);
    expect(HitColumns.ofLength([], 0).records()).toEqual([]);
  });

  it('refuses columns of different lengths rather than pair one hit’s patient with another’s line', () => {
    expect(
      () =>
        new HitColumns(
          [],
          new Int32Array(2),
          new Int32Array(2),
          new Float64Array(2),
          new Uint8Array(1),
          new Float64Array(2),
          new Int32Array(2),
          new Float64Array(2),
        ),
    ).toThrow(/differ in length/);
  });
});

import { describe, expect, it } from 'vitest';
import { rejoinRanges } from './rejoin-ranges.js';
import { emptyUnitResult, type UnitResult, type WorkUnit } from './work-unit.js';

const format = { format: 'csv' as const, delimiter: 0x3b };
const range = (id: number, start: number, end: number, file = 'a.csv'): WorkUnit => ({
  id,
  file,
  path: file,
  source: { kind: 'range', start, end, header: start === 0 ? null : { start: 0, length: 10 } },
  format,
  size: end - start,
});
const result = (id: number, endsInsideRecord: boolean, skipped: string | null = null): UnitResult => ({
  ...emptyUnitResult(id),
  skipped,
  endsInsideRecord,
});
const spans = (units: readonly WorkUnit[]): string[] =>
  units.map((u) => (u.source.kind === 'range' ? `${u.file}:${u.source.start}-${u.source.end}#${u.id}` : `${u.file}#${u.id}`));

describe('rejoinRanges', () => {
  it('keeps every unit when no range ends inside a record', () => {
    const units = [range(0, 0, 100), range(1, 100, 200), range(2, 200, 300)];
    const r = rejoinRanges(units, new Map(units.map((u) => [u.id, result(u.id, false)])), 3, 3);
    expect(r.rescan).toEqual([]);
    expect(spans(r.units)).toEqual(spans(units));
  });

  it('joins a range that ends inside a record to the next one, keeping the first header and a new id', () => {
    const units = [range(0, 0, 100), range(1, 100, 200), range(2, 200, 300), range(3, 300, 400)];
    const ends = [false, true, false, false];
    const r = rejoinRanges(units, new Map(units.map((u, i) => [u.id, result(u.id, ends[i] as boolean)])), 4, 4);
    expect(spans(r.rescan)).toEqual(['a.csv:100-300#4']);
    expect(spans(r.units)).toEqual(['a.csv:0-100#0', 'a.csv:100-300#4', 'a.csv:300-400#3']);
    expect(r.rescan[0]?.source).toMatchObject({ header: { start: 0, length: 10 } });
  });

  it('drops the answer of a range that started mid-record (it is joined, not trusted), and rounds converge', () => {
    // Range 1 started mid-record: its "inside" is not to be believed; it goes with range 0.
    const units = [range(0, 0, 100), range(1, 100, 200), range(2, 200, 300), range(3, 300, 400)];
    const results = new Map(units.map((u) => [u.id, result(u.id, true)]));
    const first = rejoinRanges(units, results, 4, 4);
    expect(spans(first.units)).toEqual(['a.csv:0-200#4', 'a.csv:200-400#5']);
    // The joined range 0-200 really ends inside a record: one more round joins everything.
    results.set(4, result(4, true));
    results.set(5, result(5, false));
    const second = rejoinRanges(first.units, results, 6, 4);
    expect(spans(second.units)).toEqual(['a.csv:0-400#6']);
    results.set(6, result(6, true));
    expect(rejoinRanges(second.units, results, 7, 4).rescan).toEqual([]);
  });

  it('joins a range joined before that still ends inside a record with the rest of its file (no quadratic rescans)', () => {
    // An unclosed quote early in the file: every range "ends inside a record".
    const units = Array.from({ length: 6 }, (_, i) => range(i, i * 100, (i + 1) * 100));
    const results = new Map(units.map((u) => [u.id, result(u.id, true)]));
    const first = rejoinRanges(units, results, 6, 6);
    expect(spans(first.units)).toEqual(['a.csv:0-200#6', 'a.csv:200-400#7', 'a.csv:400-600#8']);
    for (const u of first.rescan) results.set(u.id, result(u.id, true));
    const second = rejoinRanges(first.units, results, 9, 6);
    expect(spans(second.units)).toEqual(['a.csv:0-600#9']);
  });

  it('never joins across files, after the last range, or after a range that could not be read', () => {
    const gz: WorkUnit = { id: 4, file: 'c.gz', path: 'c.gz', source: { kind: 'gzip' }, format: null, size: 9 };
    const units = [range(0, 0, 100), range(1, 100, 200), range(2, 0, 50, 'b.csv'), range(3, 50, 90, 'b.csv'), gz];
    const results = new Map([
      [0, result(0, true, 'damaged')],
      [1, result(1, true)],
      [2, result(2, false)],
      [3, result(3, true)],
      [4, result(4, true)],
    ]);
    const r = rejoinRanges(units, results, 5, 5);
    expect(r.rescan).toEqual([]);
    expect(spans(r.units).sort()).toEqual(spans(units).sort());
  });
});

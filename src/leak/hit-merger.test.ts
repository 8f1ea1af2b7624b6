import { describe, expect, it } from 'vitest';
import { Prng } from '../synth/prng.js';
import { HitMerger } from './hit-merger.js';
import { packHits } from './packed-hits.js';
import type { UnitHit } from './unit-hits.js';
import { emptyUnitResult, type UnitResult, type WorkUnit } from './work-unit.js';

const range = (id: number, file: string, start: number): WorkUnit => ({
  id,
  file,
  path: file,
  source: { kind: 'range', start, end: start + 100, header: null },
  format: null,
  size: 100,
});
const hit = (patient: number, line: number, count = 1, categories = 1): UnitHit => ({
  tenant: 0,
  patient,
  kind: 'bsn',
  line,
  categories,
  count,
});
const result = (id: number, lines: number, parts: { hits: UnitHit[]; member?: string }[]): UnitResult => ({
  ...emptyUnitResult(id),
  lines,
  hits: packHits(parts),
});

describe('HitMerger', () => {
  const units = [range(0, 'a.csv', 0), range(1, 'a.csv', 100), range(2, 'a.csv', 200), range(3, 'b.tar', 0)];
  const results = [
    result(0, 10, [{ hits: [hit(1, 4, 2, 1)] }]),
    result(1, 20, [{ hits: [hit(1, 3, 1, 4), hit(2, 20)] }]),
    result(2, 5, [{ hits: [hit(2, 1, 3)] }]),
    result(3, 0, [{ hits: [hit(5, 7)], member: 'x/m.txt' }]),
  ];
  const expected = [
    { tenant: 0, patient: 1, kind: 'bsn', file: 'a.csv', line: 4, categories: 5, count: 3 },
    { tenant: 0, patient: 2, kind: 'bsn', file: 'a.csv', line: 30, categories: 1, count: 4 },
    { tenant: 0, patient: 5, kind: 'bsn', file: 'b.tar!x/m.txt', line: 7, categories: 1, count: 1 },
  ];

  it('numbers lines from the ranges before, whatever order the units finish in', () => {
    for (const order of [
      [0, 1, 2, 3],
      [2, 1, 3, 0],
      [3, 2, 0, 1],
    ]) {
      const m = new HitMerger(units);
      for (const i of order) m.add(units[i] as WorkUnit, results[i] as UnitResult);
      expect(m.hits().records()).toEqual(expected);
    }
  });

  it('refuses to answer while a range has no result, and a unit it was not given', () => {
    const m = new HitMerger(units);
    for (const i of [0, 2, 3]) m.add(units[i] as WorkUnit, results[i] as UnitResult);
    expect(() => m.hits()).toThrow(/a\.csv has ranges without a result/);
    expect(() => m.add(range(9, 'c.csv', 0), result(9, 0, []))).toThrow(/not one of the scan's units/);
  });

  it('merges entries past many table growths as a plain map of (tenant, patient, kind) would, patients past 2^31 included', () => {
    const prng = new Prng(17);
    const file = 'big.csv';
    const units = Array.from({ length: 6 }, (_, i) => range(i, file, i * 100));
    const want = new Map<
      string,
      { tenant: number; patient: number; kind: 'bsn' | 'name-date'; line: number; categories: number; count: number }
    >();
    const m = new HitMerger(units);
    let offset = 0;
    for (const u of units) {
      const hits: UnitHit[] = [];
      const inUnit = new Set<string>();
      for (let k = 0; k < 20_000; k++) {
        const tenant = prng.int(4);
        // Few patients, often repeated (with either kind), some with ordinals past 2^31.
        const patient = prng.chance(0.1) ? 2 ** 31 + prng.int(1000) : prng.int(30_000);
        const kind = prng.chance(0.5) ? 'bsn' : 'name-date';
        const key = `${tenant}/${patient}/${kind}`;
        if (inUnit.has(key)) continue;
        inUnit.add(key);
        const h: UnitHit = { tenant, patient, kind, line: 1 + prng.int(1000), categories: 1 << prng.int(6), count: 1 + prng.int(3) };
        hits.push(h);
        const w = want.get(key);
        if (!w) want.set(key, { tenant, patient, kind, line: h.line + offset, categories: h.categories, count: h.count });
        else {
          w.line = Math.min(w.line, h.line + offset);
          w.categories |= h.categories;
          w.count += h.count;
        }
      }
      m.add(u, result(u.id, 1000, [{ hits }]));
      offset += 1000;
    }
    const expected = [...want.values()]
      .map((w) => ({ ...w, file }))
      .sort((a, b) => a.line - b.line || a.tenant - b.tenant || a.patient - b.patient || (a.kind < b.kind ? -1 : 1));
    const got = m.hits().records();
    expect(got.length).toBe(expected.length);
    expect(got).toEqual(expected);
    expect(got.length).toBeGreaterThan(50_000);
  });
});

import { describe, expect, it } from 'vitest';
import { nameBirthDateKey } from '../crypto/blind-index.js';
import { isValidBsn } from '../domain/bsn.js';
import { ByteEvents } from './byte-events.js';
import { CachedMatcher } from './cached-matcher.js';
import { CandidateCollector } from './candidate-collector.js';
import { createScanner } from './create-scanner.js';
import { ScanMode } from './format-scanner.js';
import { matchChunk } from './match-chunk.js';
import type { Hit } from './scan-types.js';
import { createMatcher } from './test-matcher.js';
import { PatientOrdinals } from './patient-ordinals.js';
import { Prng } from '../synth/prng.js';
import { DistinctValues, UnitHits } from './unit-hits.js';

/**
 * matchChunk and UnitHits on one CSV chunk: hits booked per patient ordinal, a name + birth date
 * key confirmed by any of the BSNs in its record, entries in first-seen order past table growth.
 */
const A = { bsn: '123456782', tenant: 0, patient: 0 };
const B = { bsn: '111222333', tenant: 2, patient: 5 };
const KEY_B = nameBirthDateKey('van der Berg', '1990-02-01');
// B's namesake born the same day shares her key.
const NAMESAKE = { tenant: 0, patient: 9 };

function scanCsv(text: string, extra: [string, Hit[]][] = []): ReturnType<UnitHits['list']> {
  const m = new CachedMatcher(
    createMatcher({
      bsns: [[A.bsn, [{ tenant: A.tenant, patient: A.patient }]], [B.bsn, [{ tenant: B.tenant, patient: B.patient }]], ...extra],
      keys: [[KEY_B, [{ tenant: B.tenant, patient: B.patient }, NAMESAKE]]],
    }),
  );
  const events = new ByteEvents(1 << 16);
  const n = events.buf.write(text);
  const c = new CandidateCollector();
  const scanner = createScanner('csv', 0x3b, c, events);
  scanner.scan(events.buf, 0, n, ScanMode.End);
  const hits = new UnitHits(m.ordinals);
  matchChunk(c, events.buf, m, 1, hits, new DistinctValues());
  return hits.list();
}

const named = (hits: ReturnType<UnitHits['list']>): string[] =>
  hits.filter((h) => h.kind === 'name-date').map((h) => `${h.tenant}/${h.patient}@${h.line}x${h.count}`);

describe('matchChunk', () => {
  it('confirms a name + birth date key by the second of two BSNs in its record', () => {
    const hits = scanCsv(`bsn;bsn2;achternaam;geboortedatum\n${A.bsn};${B.bsn};van der Berg;01-02-1990\n`);
    expect(named(hits)).toEqual(['2/5@2x1']);
    expect(hits.filter((h) => h.kind === 'bsn').map((h) => `${h.tenant}/${h.patient}`)).toEqual(['0/0', '2/5']);
  });

  it('books both namesakes without a BSN, neither beside a BSN that names someone else', () => {
    const hits = scanCsv(`bsn;achternaam;geboortedatum\n;van der Berg;01-02-1990\n${A.bsn};van der Berg;01-02-1990\n`);
    expect(named(hits)).toEqual(['2/5@2x1', '0/9@2x1']);
  });

  it('counts occurrences and keeps the first line and first-seen order past table growth', () => {
    // 400 patients: the unit's table starts with room for 128 and grows twice.
    const many: [string, Hit[]][] = [];
    for (let v = 200_000_000; many.length < 400; v += 7) {
      const bsn = String(v);
      if (isValidBsn(bsn)) many.push([bsn, [{ tenant: 1, patient: 1000 + many.length }]]);
    }
    const lines = ['bsn;x', ...many.map(([bsn]) => `${bsn};1`), ...many.map(([bsn]) => `${bsn};2`)];
    const found = scanCsv(`${lines.join('\n')}\n`, many);
    expect(found.map((h) => `${h.tenant}/${h.patient}@${h.line}x${h.count}`)).toEqual(many.map((_, i) => `1/${1000 + i}@${i + 2}x2`));
  });
});

describe('UnitHits', () => {
  it('keeps every entry, its count, first line and categories, in first-seen order, for scattered patients', () => {
    const ordinals = new PatientOrdinals();
    for (let p = 0; p < 50_000; p++) ordinals.of({ tenant: p % 3, patient: p });
    const prng = new Prng(5);
    const hits = new UnitHits(ordinals);
    const expected = new Map<string, { line: number; categories: number; count: number }>();
    for (let i = 0; i < 20_000; i++) {
      const ord = prng.int(50_000);
      const kind = prng.int(2) as 0 | 1;
      const line = 1 + prng.int(1_000_000);
      const categories = 1 << prng.int(6);
      hits.occur(hits.entry(ord, kind), line, categories);
      const key = `${ord % 3}/${ord}/${kind === 0 ? 'bsn' : 'name-date'}`;
      const e = expected.get(key) ?? { line: Number.MAX_SAFE_INTEGER, categories: 0, count: 0 };
      expected.set(key, { line: Math.min(e.line, line), categories: e.categories | categories, count: e.count + 1 });
    }
    const listed = hits
      .list()
      .map((h) => [`${h.tenant}/${h.patient}/${h.kind}`, { line: h.line, categories: h.categories, count: h.count }]);
    expect(listed).toEqual([...expected]);
  });
});

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLeakDump, type DumpPerson } from '../bench/leak-dump.js';
import { blindIndexBatch, blindIndexMessages, nameBirthDateKey } from '../crypto/blind-index.js';
import { IntegrityViolation } from '../domain/errors.js';
import { isValidBsn } from '../domain/bsn.js';
import { Prng } from '../synth/prng.js';
import { bsnString } from './bsn-digits.js';
import { ByteEvents } from './byte-events.js';
import { IterableSource } from './byte-source.js';
import { CachedMatcher } from './cached-matcher.js';
import { isoDate } from './calendar-date.js';
import { CandidateCollector } from './candidate-collector.js';
import { packHits } from './packed-hits.js';
import { createScanner } from './create-scanner.js';
import { SNIFF_BYTES, sniffFormat } from './format-sniff.js';
import type { IntList } from './int-list.js';
import { familyOf } from './key-occurrences.js';
import { matchChunk } from './match-chunk.js';
import { LeakMatcher, type LeakMatcherData } from './leak-matcher.js';
import { createNativeMatcher, keyedIndex, loadLeakMatch, nativeRecordCategories, type NativeMatcher } from './native-match.js';
import { recordCategories } from './record-categories.js';
import { fill, scanChunks } from './scan-chunks.js';
import { DataCategory, type Hit, type KeyedTables, type Matcher } from './scan-types.js';
import { randomBsn, randomPerson, writeSyntheticLeak, type SyntheticPerson } from './synthetic-leak.js';
import { createMatcher } from './test-matcher.js';
import { DistinctValues, UnitHits, type UnitHit } from './unit-hits.js';

/**
 * The native matching and booking (native-match.ts, native/leak-match) against the JavaScript
 * reference (match-chunk.ts with CachedMatcher, UnitHits and DistinctValues): inputs are scanned
 * once by the JavaScript scanners, each chunk's candidate columns are frozen, and identical copies
 * go through both paths, unit by unit. Per chunk the returned counts, per unit the hit lists
 * (order included) and the unmatched BSNs must be equal.
 */

/** One scanned chunk: a collector holding its columns (restored before each use) and the buffer as the scanner left it. */
interface Chunk {
  c: CandidateCollector;
  buf: Buffer;
}

function columns(c: CandidateCollector): IntList[] {
  const k = c.keys;
  return [c.bsnValue, c.bsnLine, c.bsnRecord, k.h1, k.h2, k.date, k.from, k.to, k.line, k.record, c.recordStart, c.recordEnd, c.recordHint];
}

/** Copies the collector's chunk (after settleColumns, as matchChunk would see it) into a collector of its own. */
function freeze(c: CandidateCollector, buf: Buffer): Chunk {
  c.settleColumns();
  const copy = new CandidateCollector();
  const to = columns(copy);
  columns(c).forEach((l, i) => {
    const t = to[i] as IntList;
    t.data = l.data.slice(0, l.length);
    t.length = l.length;
  });
  return { c: copy, buf: Buffer.from(buf) };
}

/** matchChunk empties the collector (lengths only): puts the lengths back. */
function restore(ch: Chunk): CandidateCollector {
  for (const l of columns(ch.c)) l.length = l.data.length;
  return ch.c;
}

/** Scans `data` as the file `name` would be (sniffed format) through a `size`-byte buffer, as scan-unit.ts does. */
async function scan(data: Buffer, name: string, size: number): Promise<Chunk[]> {
  const events = new ByteEvents(size);
  const buf = events.buf;
  async function* pieces(): AsyncGenerator<Buffer> {
    for (let at = 0; at < data.length; at += 1 << 20) yield data.subarray(at, at + (1 << 20));
  }
  const source = new IterableSource(pieces(), () => 0);
  const filled = await fill(source, buf, 0);
  const sniffed = sniffFormat(name, buf.subarray(0, Math.min(filled.n, SNIFF_BYTES)));
  if (sniffed.kind !== 'text') throw new Error(`${name}: not text`);
  const c = new CandidateCollector();
  const scanner = createScanner(sniffed.format, sniffed.delimiter, c, events);
  const chunks: Chunk[] = [];
  await scanChunks(source, buf, filled, scanner, () => {
    chunks.push(freeze(c, buf));
    c.clearChunk();
  });
  return chunks;
}

interface Compared {
  units: number;
  hits: number;
  unmatched: number;
  candidates: number;
  /** Every unit's hits and unmatched values (native = JavaScript), for assertions on content. */
  lists: UnitHit[][];
  unmatchedValues: number[][];
}

/** Runs both paths over units of chunks (unit ids as given, in order) on one matcher each; fails on the first difference. */
function compare(matcher: Matcher, units: { id: number; chunks: Chunk[] }[], nat?: NativeMatcher): Compared {
  // Both paths send the Matcher the same batches, in the same order (names and dates included).
  const jsCalls: string[] = [];
  const nativeCalls: string[] = [];
  const js = new CachedMatcher(recording(matcher, jsCalls));
  const native = nat ?? native0(recording(matcher, nativeCalls));
  const out: Compared = { units: 0, hits: 0, unmatched: 0, candidates: 0, lists: [], unmatchedValues: [] };
  for (const unit of units) {
    const hits = new UnitHits(js.ordinals);
    const unmatched = new DistinctValues();
    const u = native.newUnit();
    for (const ch of unit.chunks) {
      const expected = matchChunk(restore(ch), ch.buf, js, unit.id, hits, unmatched);
      expect(ch.c.bsnValue.length + ch.c.keys.length + ch.c.recordStart.length).toBe(0);
      const got = native.matchChunk(restore(ch), ch.buf, unit.id, u);
      expect(got).toBe(expected);
      expect(ch.c.bsnValue.length + ch.c.keys.length + ch.c.recordStart.length).toBe(0);
      out.candidates += got;
    }
    const want = hits.list();
    const have = u.list();
    sameHits(have, want);
    // What goes to the main thread: the same numbers, packed straight from the addon's.
    expect(u.packed()).toStrictEqual(packHits([{ hits: have }]));
    const wantU = Array.from(unmatched.values());
    const haveU = Array.from(u.unmatched());
    expect(haveU).toEqual(wantU);
    out.units++;
    out.hits += want.length;
    out.unmatched += wantU.length;
    out.lists.push(have);
    out.unmatchedValues.push(haveU);
  }
  // A matcher with keyed tables is computed in the addon: nothing of the native path reaches it.
  if (nat === undefined) expect(nativeCalls).toEqual(matcher.keyedTables ? [] : jsCalls);
  return out;
}

/** The matcher, logging each batch it is sent (its keyed tables, if any, handed over as they are). */
function recording(m: Matcher, calls: string[]): Matcher {
  return {
    matchBsns: (values) => (calls.push(`bsn ${values.join(',')}`), m.matchBsns(values)),
    matchNameDates: (values) => (calls.push(`key ${values.join(',')}`), m.matchNameDates(values)),
    ...(m.keyedTables ? { keyedTables: () => (m.keyedTables as () => KeyedTables)() } : {}),
  };
}

/**
 * The LeakMatcher (keyed PRF over stored indexes) that answers what pairs of plaintext candidates
 * and hits say, under `tenants` random index keys: each hit becomes a stored index of its tenant.
 */
function keyedMatcher(pairs: { bsns: [string, Hit[]][]; keys: [string, Hit[]][] }, tenants: number, prng: Prng): LeakMatcher {
  const data: LeakMatcherData = { tenants: [] };
  for (let t = 0; t < tenants; t++) {
    const key = Buffer.from(Array.from({ length: 32 }, () => prng.int(256)));
    const side = (list: [string, Hit[]][], domain: 'bsn' | 'name-birthdate'): [Uint8Array, Int32Array] => {
      const values: string[] = [];
      const patients: number[] = [];
      for (const [v, hits] of list)
        for (const h of hits)
          if (h.tenant === t) {
            values.push(v);
            patients.push(h.patient);
          }
      return [new Uint8Array(blindIndexBatch(key, domain, values)), Int32Array.from(patients)];
    };
    const [bsn, bsnPatients] = side(pairs.bsns, 'bsn');
    const [name, namePatients] = side(pairs.keys, 'name-birthdate');
    data.tenants.push({ key: new Uint8Array(key), bsn, bsnPatients, name, namePatients });
  }
  return new LeakMatcher(data);
}

function native0(matcher: Matcher): NativeMatcher {
  const m = createNativeMatcher(matcher);
  if (m === null) throw new Error('the leak-match addon is not built (npm run build:native -- native/leak-match)');
  return m;
}

/** Equal lists, reporting the first entry that differs (a whole-list diff of 10^5 entries is unreadable). */
function sameHits(have: UnitHit[], want: UnitHit[]): void {
  const n = Math.min(have.length, want.length);
  for (let i = 0; i < n; i++) {
    const a = have[i] as UnitHit;
    const b = want[i] as UnitHit;
    if (
      a.tenant !== b.tenant ||
      a.patient !== b.patient ||
      a.kind !== b.kind ||
      a.line !== b.line ||
      a.categories !== b.categories ||
      a.count !== b.count
    )
      expect({ at: i, ...a }).toEqual({ at: i, ...b });
  }
  expect(have.length).toBe(want.length);
  expect(have).toEqual(want);
}

/**
 * A test matcher made from the candidates themselves (deterministic in `seed`): a share of the
 * BSNs and keys belong to patients — some BSNs to patients in two tenants, keys mostly to the
 * patient of a BSN in their record, some with a namesake born the same day.
 */
function deriveMatcher(chunks: Chunk[], seed: number, share = 0.6): Matcher {
  return createMatcher(derivePairs(chunks, seed, share));
}

function derivePairs(chunks: Chunk[], seed: number, share = 0.6): { bsns: [string, Hit[]][]; keys: [string, Hit[]][] } {
  const prng = new Prng(seed);
  const bsns = new Map<string, Hit[]>();
  const keys = new Map<string, Hit[]>();
  let next = 0;
  const person = (): Hit[] => {
    const patient = next++;
    const h = [{ tenant: prng.int(3), patient }];
    if (prng.chance(0.15)) h.push({ tenant: 3 + prng.int(2), patient: prng.chance(0.5) ? patient : next++ });
    return h;
  };
  for (const ch of chunks) {
    const c = restore(ch);
    const byRecord = new Map<number, Hit[]>();
    for (let i = 0; i < c.bsnValue.length; i++) {
      const v = bsnString(c.bsnValue.get(i));
      let h = bsns.get(v);
      if (h === undefined) bsns.set(v, (h = prng.chance(share) ? person() : []));
      if (h.length > 0 && !byRecord.has(c.bsnRecord.get(i))) byRecord.set(c.bsnRecord.get(i), h);
    }
    const k = c.keys;
    for (let i = 0; i < k.length; i++) {
      const key = `${familyOf(ch.buf, k.from.get(i), k.to.get(i))}|${isoDate(k.date.get(i))}`;
      if (keys.has(key)) continue;
      const viaBsn = byRecord.get(k.record.get(i));
      let h = !prng.chance(share) ? [] : viaBsn && prng.chance(0.7) ? [...viaBsn] : person();
      if (h.length > 0 && prng.chance(0.2)) h = [...h, { tenant: prng.int(3), patient: next++ }];
      keys.set(key, h);
    }
  }
  return { bsns: [...bsns], keys: [...keys] };
}

function validBsns(n: number, from: number): string[] {
  const out: string[] = [];
  for (let v = from; out.length < n; v += 7) {
    const s = String(v).padStart(9, '0');
    if (isValidBsn(s)) out.push(s);
  }
  return out;
}

const text = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('native matchChunk = match-chunk.ts', () => {
  const A = '123456782';
  const B = '111222333';
  const [D1, D2] = validBsns(2, 500_000_000) as [string, string];
  const keyB = nameBirthDateKey('van der Berg', '1990-02-01');
  const matcher = createMatcher({
    bsns: [
      // A patient in two tenants under one BSN, and one in a third.
      [
        A,
        [
          { tenant: 0, patient: 0 },
          { tenant: 1, patient: 7 },
        ],
      ],
      [B, [{ tenant: 2, patient: 5 }]],
    ],
    // B's namesake born the same day shares her key.
    keys: [
      [
        keyB,
        [
          { tenant: 2, patient: 5 },
          { tenant: 0, patient: 9 },
        ],
      ],
    ],
  });
  const csv = [
    'bsn;bsn2;achternaam;geboortedatum;telefoon;adres;postcode;email;uitslag',
    `${A};${B};van der Berg;01-02-1990;06-12345678;Kerkstraat 12;1234 AB;a.b@example.nl;hrHPV positief`,
    ';;van der Berg;01-02-1990;;;;;',
    `${A};;van der Berg;01-02-1990;+31 6 12345678;;;;`,
    `${D1};;van der Berg;01-02-1990;;Dorpsweg 3;;;negatief`,
    `${D2};${D1};Jansen;03-04-1970;0031 20 1234567;;;;`,
    `1234.56.782;;van der Berg;01-02-1990;;;;;`,
  ].join('\n');

  it('books BSNs in every tenant, namesakes only where no BSN names someone, decoys as unmatched', async () => {
    const chunks = await scan(text(`${csv}\n`), 'x.csv', 1 << 16);
    const r = compare(matcher, [{ id: 1, chunks }]);
    const hits = r.lists[0] as UnitHit[];
    const show = (h: UnitHit): string => `${h.kind}:${h.tenant}/${h.patient}@${h.line}x${h.count}`;
    expect(hits.map(show)).toEqual([
      'bsn:0/0@2x3',
      'bsn:1/7@2x3',
      'bsn:2/5@2x1',
      // Line 2 confirms B only (its second BSN); lines 3 and 5 name nobody with a BSN (5's is a decoy).
      'name-date:2/5@2x3',
      'name-date:0/9@3x2',
    ]);
    expect(r.unmatchedValues[0]).toEqual([Number(D1), Number(D2)].sort((a, b) => a - b));
    const first = hits[0] as UnitHit;
    const all = DataCategory.NationalId | DataCategory.Names | DataCategory.Addresses | DataCategory.Contact | DataCategory.Results;
    expect(first.categories & all).toBe(all);
  });

  it('gives the same results in every chunking of the same input', async () => {
    const rows = Array.from({ length: 400 }, (_, i) => (csv.split('\n')[1 + (i % 6)] as string).replace(/Kerkstraat 12/, `Laan ${i}`));
    const data = text(`${csv.split('\n')[0]}\n${rows.join('\n')}\n`);
    for (const size of [256, 1000, 4096, 1 << 16]) {
      const r = compare(matcher, [{ id: 3, chunks: await scan(data, 'x.csv', size) }]);
      expect(r.hits).toBe(5);
    }
  });

  it('counts unmatched BSNs once per unit across many units on one matcher, the tables reused', async () => {
    const decoys = validBsns(300, 300_000_000);
    const bsns = validBsns(300, 700_000_000);
    const m = createMatcher({ bsns: bsns.map((b, i) => [b, [{ tenant: i % 4, patient: 1000 + i }]]), keys: [] });
    const prng = new Prng(3);
    const units: { id: number; chunks: Chunk[] }[] = [];
    for (let u = 0; u < 40; u++) {
      const lines = ['bsn;waarde'];
      for (let i = 0; i < 200; i++) lines.push(`${prng.pick(prng.chance(0.5) ? decoys : bsns)};${i}`);
      // Unit ids repeat as a tar archive's members share one (each member its own book).
      units.push({ id: u < 30 ? u : 29, chunks: await scan(text(`${lines.join('\n')}\n`), 'u.csv', 1024) });
    }
    const nat = native0(m);
    const r = compare(m, units, nat);
    expect(r.units).toBe(40);
    expect(r.unmatchedValues.slice(0, 30).every((v) => v.length > 50)).toBe(true);
    // The members of unit 29 (its books 29..39) each count only decoys no member before counted.
    const members = r.unmatchedValues.slice(29).flat();
    expect(new Set(members).size).toBe(members.length);
    expect(r.unmatchedValues.slice(30).some((v) => v.length > 0)).toBe(true);
    // The same matcher again: every candidate is known, nothing goes to the Matcher.
    const again = compare(m, units.slice(0, 5), nat);
    expect(again.hits).toBeGreaterThan(0);
  });

  it('matches tables grown and trimmed past 2^19 entries, batches of new candidates past BATCH', async () => {
    const bsns = validBsns(600_000, 100_000_000);
    const pairs: [string, Hit[]][] = [];
    const keys: [string, Hit[]][] = [];
    const lines = ['bsn;achternaam;geboortedatum'];
    for (let i = 0; i < bsns.length; i++) {
      const family = `Fam${String.fromCharCode(97 + (i % 26), 97 + ((i >> 5) % 26), 97 + ((i >> 10) % 26))}`;
      const day = `${String(1 + (i % 28)).padStart(2, '0')}-${String(1 + ((i >> 3) % 12)).padStart(2, '0')}-${1930 + (i % 70)}`;
      lines.push(`${bsns[i]};${family};${day}`);
      if (i % 3 !== 0) pairs.push([bsns[i] as string, [{ tenant: i % 5, patient: i }]]);
      if (i % 4 === 0)
        keys.push([nameBirthDateKey(family, `${day.slice(6)}-${day.slice(3, 5)}-${day.slice(0, 2)}`), [{ tenant: i % 5, patient: i }]]);
    }
    // Every fifth patient again, further on.
    for (let i = 0; i < bsns.length; i += 5) lines.push(`${bsns[i]};x;`);
    const chunks = await scan(text(`${lines.join('\n')}\n`), 'big.csv', 4 << 20);
    const r = compare(createMatcher({ bsns: pairs, keys }), [
      { id: 1, chunks: chunks.slice(0, 3) },
      { id: 2, chunks: chunks.slice(3) },
    ]);
    expect(r.hits).toBeGreaterThan(400_000);
    expect(r.unmatched).toBeGreaterThan(150_000);
  }, 120_000);

  it('matches a synthetic bench dump (writeLeakDump, every format)', async () => {
    const prng = new Prng(21);
    const people: DumpPerson[] = Array.from({ length: 400 }, () => randomPerson(prng));
    // Namesakes born the same day, and a lost leading zero's BSN.
    for (let i = 0; i < 20; i++) people.push({ ...(people[i] as DumpPerson), bsn: randomBsn(prng) });
    people.push({ ...(people[0] as DumpPerson), bsn: `0${randomBsn(prng).slice(1, 8)}0` });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lv-native-match-'));
    try {
      const { files } = await writeLeakDump(dir, people, 1_500_000, prng);
      let hits = 0;
      for (const [fi, file] of files.entries()) {
        const chunks = await scan(await readFile(file), file, 1 << 16);
        const vault = people.filter((_, i) => i % 3 !== 0);
        const m = createMatcher({
          bsns: vault.map((p, i) => [p.bsn, [{ tenant: i % 3, patient: i }]]),
          keys: [...groupKeys(vault)],
        });
        hits += compare(m, [{ id: fi, chunks }]).hits;
        hits += compare(deriveMatcher(chunks, fi), [{ id: fi, chunks }]).hits;
      }
      expect(hits).toBeGreaterThan(1000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('matches synthetic leaks of every format with fuzzed people (seeded)', async () => {
    for (const seed of [1, 2, 3]) {
      const prng = new Prng(seed * 101);
      const planted = Array.from({ length: 150 }, () => fuzzPerson(prng));
      const dir = await mkdtemp(path.join(os.tmpdir(), 'lv-native-match-'));
      try {
        const files = await writeSyntheticLeak({ dir, bytes: 600_000, seed, planted, population: 60 });
        for (const [fi, file] of files.entries()) {
          const chunks = await scan(await readFile(file), file, 2048 << prng.int(6));
          const r = compare(deriveMatcher(chunks, seed * 1000 + fi), [
            { id: 2 * fi, chunks: chunks.slice(0, chunks.length >> 1) },
            { id: 2 * fi + 1, chunks: chunks.slice(chunks.length >> 1) },
          ]);
          expect(r.candidates).toBeGreaterThan(0);
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  }, 120_000);

  it('matches random bytes around identifiers (seeded fuzzer)', async () => {
    let hits = 0;
    let unmatched = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const prng = new Prng(seed);
      const data = text(fuzzText(prng, 40_000 + prng.int(40_000)));
      const name = prng.pick(['f.csv', 'f.tsv', 'f.log', 'f.txt', 'f.ndjson', 'f.xml', 'f.sql', 'f.hl7']);
      const chunks = await scan(data, name, 512 << prng.int(8));
      const units: { id: number; chunks: Chunk[] }[] = [];
      for (let at = 0; at < chunks.length;) {
        const n = 1 + prng.int(4);
        units.push({ id: prng.int(6), chunks: chunks.slice(at, at + n) });
        at += n;
      }
      const r = compare(deriveMatcher(chunks, seed, 0.3 + prng.next() * 0.6), units);
      hits += r.hits;
      unmatched += r.unmatched;
    }
    expect(hits).toBeGreaterThan(500);
    expect(unmatched).toBeGreaterThan(100);
  }, 120_000);

  it('refuses columns that point outside the chunk, without naming values', async () => {
    const [ch] = await scan(text(`${csv}\n`), 'x.csv', 1 << 16);
    const nat = native0(matcher);
    const c = restore(ch as Chunk);
    c.bsnRecord.data[0] = 1_000_000;
    expect(() => nat.matchChunk(c, (ch as Chunk).buf, 1, nat.newUnit())).toThrow(/^leak-match: candidate columns out of range$/);
    c.bsnRecord.data[0] = 0;
    restore(ch as Chunk);
    c.recordEnd.data[0] = (ch as Chunk).buf.length + 1;
    expect(() => nat.matchChunk(c, (ch as Chunk).buf, 1, nat.newUnit())).toThrow(RangeError);
    const other = native0(matcher);
    expect(() => nat.matchChunk(restore(ch as Chunk), (ch as Chunk).buf, 1, other.newUnit())).toThrow(TypeError);
  });
});

describe('native keyed index = LeakMatcher', () => {
  it('gives the hits of the LeakMatcher, in its order, on a bench dump, fuzzed people and random bytes', async () => {
    const prng = new Prng(77);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lv-native-keyed-'));
    try {
      const people: DumpPerson[] = Array.from({ length: 300 }, () => randomPerson(prng));
      for (let i = 0; i < 15; i++) people.push({ ...(people[i] as DumpPerson), bsn: randomBsn(prng) });
      const { files } = await writeLeakDump(dir, people, 700_000, prng);
      const planted = Array.from({ length: 120 }, () => fuzzPerson(prng));
      files.push(...(await writeSyntheticLeak({ dir: path.join(dir, 'synthetic'), bytes: 500_000, seed: 5, planted, population: 50 })));
      let hits = 0;
      for (const [fi, file] of files.entries()) {
        const chunks = await scan(await readFile(file), file, 4096 << prng.int(5));
        const m = keyedMatcher(derivePairs(chunks, fi, 0.7), 1 + prng.int(5), prng);
        hits += compare(m, [
          { id: 2 * fi, chunks: chunks.slice(0, chunks.length >> 1) },
          { id: 2 * fi + 1, chunks: chunks.slice(chunks.length >> 1) },
        ]).hits;
      }
      for (let seed = 1; seed <= 6; seed++) {
        const p = new Prng(seed);
        const name = p.pick(['f.csv', 'f.log', 'f.ndjson', 'f.xml', 'f.sql', 'f.hl7']);
        const chunks = await scan(text(fuzzText(p, 30_000)), name, 1024 << p.int(6));
        hits += compare(keyedMatcher(derivePairs(chunks, seed, 0.5), 3, p), [{ id: seed, chunks }]).hits;
      }
      expect(hits).toBeGreaterThan(2000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('folds family names as normaliseFamilyName and cuts long keys where the message ends', async () => {
    const families = [
      'Müller',
      'Østergaard',
      'Straße',
      'Łukasiewicz',
      "d'Ancona-Ñúñez",
      'Ïjsselmeer',
      'Z'.repeat(40) + 'é' + 'q'.repeat(40),
    ];
    const lines = ['bsn;achternaam;geboortedatum'];
    const keys: [string, Hit[]][] = [];
    families.forEach((f, i) => {
      lines.push(`;${f};0${1 + i}-0${1 + i}-19${50 + i}`);
      keys.push([nameBirthDateKey(f, `19${50 + i}-0${1 + i}-0${1 + i}`), [{ tenant: i % 2, patient: i }]]);
    });
    // A namesake with another spelling of the same normal form, and one with another birth date.
    lines.push(';MULLER;01-01-1950', ';Müller;02-01-1950');
    const chunks = await scan(text(`${lines.join('\n')}\n`), 'names.csv', 1 << 16);
    const r = compare(keyedMatcher({ bsns: [], keys }, 2, new Prng(3)), [{ id: 1, chunks }]);
    const found = (r.lists[0] as UnitHit[]).map((h) => `${h.tenant}/${h.patient}x${h.count}`).sort();
    // Every name found its patient (the long one by the message's first 62 bytes); Müller twice.
    expect(found).toEqual(['0/0x2', '0/2x1', '0/4x1', '0/6x1', '1/1x1', '1/3x1', '1/5x1']);
  });

  it('refuses a PRF that disagrees with node:crypto, and bad arguments, without naming values', () => {
    const addon = loadLeakMatch();
    if (!addon) throw new Error('the leak-match addon is not built (npm run build:native -- native/leak-match)');
    const m = keyedMatcher({ bsns: [['123456782', [{ tenant: 1, patient: 4 }]]], keys: [] }, 2, new Prng(9));
    // keyedIndex zeroes the keys it was given: each call gets fresh tables.
    const tables = m.keyedTables();
    expect(() => keyedIndex(addon, m.keyedTables())).not.toThrow();
    expect(tables.tenants.every((t) => t.key.some((b) => b !== 0))).toBe(true);
    const spent = m.keyedTables();
    keyedIndex(addon, spent);
    expect(spent.tenants.every((t) => t.key.every((b) => b === 0))).toBe(true);
    // An addon whose PRF is off by one bit for one tenant is not used.
    const broken = {
      createIndex: (tenants: KeyedTables['tenants']) => addon.createIndex(tenants),
      indexesOf: (index: object, tenant: number, blocks: number, msg: Uint8Array): Uint8Array => {
        const out = addon.indexesOf(index, tenant, blocks, msg);
        if (tenant === 1 && blocks === 4) out[5] = (out[5] as number) ^ 1;
        return out;
      },
    };
    expect(() => keyedIndex(broken, m.keyedTables())).toThrow(IntegrityViolation);
    const index = keyedIndex(addon, m.keyedTables());
    const shortKey = [{ ...(tables.tenants[0] as KeyedTables['tenants'][number]), key: new Uint8Array(16) }];
    expect(() => addon.createIndex(shortKey)).toThrow(/^leak-match: an index tenant's key or indexes have the wrong length$/);
    const oddIndexes = [{ ...(tables.tenants[0] as KeyedTables['tenants'][number]), bsn: new Uint8Array(17) }];
    expect(() => addon.createIndex(oddIndexes)).toThrow(RangeError);
    expect(() => addon.matchBsns(index, Int32Array.of(1_000_000_000), 1)).toThrow(/^leak-match: index arguments out of range$/);
    expect(() => addon.matchBsns(index, Int32Array.of(1), 2)).toThrow(RangeError);
    const buf = Buffer.from('jansen');
    const col = (v: number): Int32Array => Int32Array.of(v);
    expect(() => addon.matchKeys(index, buf, col(0), col(7), col(19600101), col(0), 1)).toThrow(/out of range$/);
    expect(() => addon.matchKeys(index, buf, col(0), col(6), col(19600101), col(1), 1)).toThrow(/out of range$/);
    expect(() => addon.matchKeys(index, buf, col(0), col(6), col(-1), col(0), 1)).toThrow(/out of range$/);
    expect(() => addon.indexesOf(index, 2, 1, new Uint8Array(16))).toThrow(RangeError);
    expect(() => addon.indexesOf(index, 0, 4, new Uint8Array(16))).toThrow(RangeError);
    expect(() => addon.matchBsns({}, Int32Array.of(1), 1)).toThrow(TypeError);
    // What it does answer: the BSN's patient in tenant 1, nobody for another.
    expect(Array.from(addon.matchBsns(index, Int32Array.of(123456782, 111222333), 2))).toEqual([1, 0, 1, 4]);
    expect(Array.from(addon.indexesOf(index, 1, 1, blindIndexMessages('bsn', ['123456782'])))).toEqual(
      Array.from(tables.tenants[1]?.bsn ?? []),
    );
  });
});

describe('native recordCategories = record-categories.ts', () => {
  it('reads the same categories from hand-picked records, at the edges of the record and of the buffer', () => {
    const cases = [
      'Kerkstraat 12',
      'Xweg 3',
      'Aweg 3',
      'Hofweg 3',
      'straat 1',
      'Laan 4',
      '1234AB',
      '1234 AB',
      '1234 ABC',
      'x 1234 AB;',
      '0612345678',
      '06-12345678',
      '+31 6 12345678',
      '+31612345678',
      '0031 20 1234567',
      '0031201234567',
      '00612345678',
      '1234.56.782',
      '123.456.782',
      '123 456 782',
      '1234.56.782.1',
      '9.1234.56.782',
      '123456782',
      'a@b.nl',
      'x@y.',
      '@a.nl',
      'jan.de.vries@example.com',
      'Patient Jansen',
      'Müller hrHPV',
      'OBX|1|ST|PAP',
    ];
    for (const c of cases) {
      const buf = Buffer.from(`9.${c}`, 'utf8');
      // The record alone, the record at the buffer's end, and from inside the prefix.
      for (const s of [0, 1, 2])
        expect([c, s, nativeRecordCategories(buf, s, buf.length)]).toEqual([c, s, recordCategories(buf, s, buf.length)]);
      // The record followed by more bytes in the buffer: a separator, or a letter that must not count.
      for (const after of ['\n', 'x', '5']) {
        const inner = Buffer.from(`9.${c}${after}`, 'utf8');
        const e = inner.length - 1;
        expect([c, after, nativeRecordCategories(inner, 2, e)]).toEqual([c, after, recordCategories(inner, 2, e)]);
      }
    }
  });

  it('reads the same categories from random records (seeded fuzzer)', () => {
    let nonzero = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const prng = new Prng(seed * 7919);
      const buf = text(fuzzText(prng, 20_000));
      for (let k = 0; k < 2000; k++) {
        const s = prng.int(buf.length);
        const e = Math.min(buf.length, s + prng.int(300));
        const want = recordCategories(buf, s, e);
        if (nativeRecordCategories(buf, s, e) !== want) expect([seed, s, e, nativeRecordCategories(buf, s, e)]).toEqual([seed, s, e, want]);
        if (want !== 0) nonzero++;
      }
    }
    expect(nonzero).toBeGreaterThan(20_000);
  });
});

/** Keys of people in the vault: namesakes (same family and birth date) share one, naming all of them. */
function groupKeys(vault: DumpPerson[]): Map<string, Hit[]> {
  const keys = new Map<string, Hit[]>();
  vault.forEach((p, i) => {
    const k = nameBirthDateKey(p.family, p.birthDate);
    keys.set(k, [...(keys.get(k) ?? []), { tenant: i % 3, patient: i }]);
  });
  return keys;
}

const FAMILIES = ['de Vries', 'Jansen', 'van der Berg', 'Müller', 'Østergaard', 'Çelik', "d'Ancona", 'Bakker', 'de Jong'];
const STREETS = ['Kerkstraat 12', 'Dorpsweg 3', 'Main Street 5', 'Lindelaan 40', 'Oudegracht 1', 'Hof 2', 'Markt 7', 'Nergens'];
const PHONES = ['0612345678', '06-12345678', '+31 6 12345678', '0031 20 1234567', '020 1234567', '0201234567', '12345'];

/** A person whose fields vary the way record-categories.ts and the scanners look at them. */
function fuzzPerson(prng: Prng): SyntheticPerson {
  const p = randomPerson(prng);
  const bsn = randomBsn(prng);
  return {
    ...p,
    bsn: prng.pick([
      bsn,
      bsn,
      `${bsn.slice(0, 4)}.${bsn.slice(4, 6)}.${bsn.slice(6)}`,
      `${bsn.slice(0, 3)} ${bsn.slice(3, 6)} ${bsn.slice(6)}`,
      bsn.slice(1),
      String(prng.int(1e9)),
    ]),
    family: prng.chance(0.5) ? prng.pick(FAMILIES) : p.family,
    street: prng.pick(STREETS),
    phone: prng.pick(PHONES),
    postcode: prng.pick([p.postcode, '1234AB', '9999 ZZ', '12 AB']),
  };
}

/** Random text of identifier-like tokens, separators and stray bytes (non-ASCII included). */
function fuzzText(prng: Prng, length: number): string {
  const bsns = Array.from({ length: 40 }, () => randomBsn(prng));
  const tokens = [
    () => prng.pick(bsns),
    () => {
      const b = prng.pick(bsns);
      return `${b.slice(0, 4)}${prng.pick(['.', ' '])}${b.slice(4, 6)}${prng.pick(['.', ' '])}${b.slice(6)}`;
    },
    () => {
      const b = prng.pick(bsns);
      return `${b.slice(0, 3)}.${b.slice(3, 6)}.${b.slice(6)}`;
    },
    () => prng.pick(bsns).slice(1),
    () => prng.pick(FAMILIES),
    () => `${String(1 + prng.int(28)).padStart(2, '0')}-0${1 + prng.int(9)}-19${50 + prng.int(40)}`,
    () => `19${50 + prng.int(40)}-0${1 + prng.int(9)}-${String(1 + prng.int(28)).padStart(2, '0')}`,
    () => prng.pick(PHONES),
    () => prng.pick(STREETS),
    () =>
      prng.pick([
        '1234 AB',
        '1234AB',
        '5678 ab',
        'x@y.nl',
        'jan.de.vries@example.com',
        '@@',
        'a@b.',
        'hrHPV',
        'PAP2',
        'Observation',
        'Patient',
      ]),
    () => prng.pick(['geboortedatum', 'bsn', 'achternaam', 'naam', 'birthDate', 'family']),
    () => String(prng.int(1e6)),
    () => String.fromCharCode(0x80 + prng.int(0x700)),
  ];
  const seps = [';', ',', '\t', ' ', '\n', '\n', '|', '^', '"', "'", '<', '>', '{', '}', ':', '=', '\r', '.', '-'];
  let s = '';
  while (s.length < length) s += prng.pick(tokens)() + prng.pick(seps);
  return s;
}

/**
 * By hand, on the benchmark dump: LEAK_MATCH_DUMP=1 npx vitest run src/leak/native-match.test.ts
 * (needs /tmp/dump/*.{csv,ndjson,sql,hl7,xml,log}). Checks equality on each file with a matcher
 * made from its own candidates and prints the matching time of both paths (same frozen columns,
 * one thread, min of 3): cold (empty tables, new candidates go to the Matcher) and warm.
 */
const DUMP = '/tmp/dump';
const BY_HAND = process.env.LEAK_MATCH_DUMP === '1' && existsSync(DUMP);

describe.runIf(BY_HAND)('native matchChunk on the bench dump (by hand)', () => {
  const files = BY_HAND ? readdirSync(DUMP).filter((f) => /\.(csv|ndjson|sql|hl7|xml|log)$/.test(f)) : [];
  const rows: string[] = [];
  beforeAll(() => rows.push('file MB | candidates | hits | JS cold ms | native cold ms | JS warm ms | native warm ms | warm speed-up'));
  afterAll(() => console.log(`\n${rows.join('\n')}`));

  for (const f of files)
    it(`${f}: equal, and timed`, async () => {
      const data = readFileSync(path.join(DUMP, f));
      const chunks = await scan(data, f, 4 << 20);
      const matcher = deriveMatcher(chunks, 7, 0.7);
      const r = compare(matcher, [{ id: 1, chunks }]);
      const js = (warm: boolean): number => {
        const m = new CachedMatcher(matcher);
        const run = (): void => {
          const hits = new UnitHits(m.ordinals);
          const unmatched = new DistinctValues();
          for (const ch of chunks) matchChunk(restore(ch), ch.buf, m, 1, hits, unmatched);
          hits.list();
          unmatched.values();
        };
        if (warm) run();
        const t = performance.now();
        run();
        return performance.now() - t;
      };
      const nat = (warm: boolean): number => {
        const m = native0(matcher);
        const run = (): void => {
          const u = m.newUnit();
          for (const ch of chunks) m.matchChunk(restore(ch), ch.buf, 1, u);
          u.list();
          u.unmatched();
        };
        if (warm) run();
        const t = performance.now();
        run();
        return performance.now() - t;
      };
      const best = (f: () => number): number => Math.min(f(), f(), f());
      const [jc, nc, jw, nw] = [best(() => js(false)), best(() => nat(false)), best(() => js(true)), best(() => nat(true))];
      rows.push(
        `${f} ${(data.length / 1e6).toFixed(0)} | ${r.candidates} | ${r.hits} | ${jc.toFixed(0)} | ${nc.toFixed(0)} | ${jw.toFixed(0)} | ${nw.toFixed(0)} | ${(jw / nw).toFixed(1)}x`,
      );
    }, 600_000);
});

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nameBirthDateKey } from '../crypto/blind-index.js';
import { Prng } from '../synth/prng.js';
import { scanLeak } from './scan-leak.js';
import { categoryNames, type HitRecord, type LeakScanResult, type MatcherSpec } from './scan-types.js';
import { randomBsn } from './synthetic-leak.js';
import type { TestMatcherData } from './test-matcher.js';
import { zipArchive } from './zip-writer.js';

/**
 * scanLeak end to end (in this thread: the tests run the TypeScript sources; scan-leak.workers.test.ts
 * runs the built workers): every format and container, planted patients found where they are,
 * everything else never, damaged input listed as skipped.
 */
const MATCHER = new URL('./test-matcher.ts', import.meta.url).href;

// Planted patients: tenant 0 patients 0..3, tenant 1 patient 7.
const P = [
  { bsn: '123456782', family: 'de Vries', date: '1980-03-12', tenant: 0, patient: 0 },
  { bsn: '111222333', family: 'Jansen', date: '1975-01-31', tenant: 0, patient: 1 },
  { bsn: '012345672', family: 'van der Berg', date: '1990-02-01', tenant: 0, patient: 2 },
  { bsn: '987654329', family: 'Öztürk', date: '1966-12-24', tenant: 0, patient: 3 },
  { bsn: '555444338', family: 'Bakker', date: '2001-07-04', tenant: 1, patient: 7 },
] as const;

// Namesakes born the same day share a name + birth date key: patient 9 with P[0], patient 8 with P[2].
const NAMESAKE: Readonly<Record<number, number>> = { 0: 9, 2: 8 };
const data: TestMatcherData = {
  bsns: P.map((p) => [p.bsn, [{ tenant: p.tenant, patient: p.patient }]]),
  keys: P.map((p) => {
    const twin = NAMESAKE[p.patient];
    const hits = [{ tenant: p.tenant, patient: p.patient }, ...(twin === undefined ? [] : [{ tenant: 0, patient: twin }])];
    return [nameBirthDateKey(p.family, p.date), hits];
  }),
};
const matcher: MatcherSpec = { module: MATCHER, data };

/** Valid BSNs that belong to nobody in the matcher. */
const decoys = (() => {
  const prng = new Prng(77);
  const planted = new Set<string>(P.map((p) => p.bsn));
  const out: string[] = [];
  while (out.length < 300) {
    const b = randomBsn(prng);
    if (!planted.has(b)) out.push(b);
  }
  return out;
})();

/** Text that does not compress. */
function noise(n: number): string {
  const prng = new Prng(9);
  let s = '';
  while (s.length < n) s += prng.uint32().toString(36);
  return s;
}

const hit = (r: LeakScanResult, file: string, kind: HitRecord['kind'] = 'bsn'): string[] =>
  r.hits
    .records()
    .filter((h) => h.file.endsWith(file) && h.kind === kind)
    .map((h) => `${h.tenant}/${h.patient}@${h.line}`);

describe('scanLeak', () => {
  let dir: string;
  let result: LeakScanResult;
  let jsonDateLine = 0;
  const progress: [number, number][] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lv-scan-'));
    const d = (i: number): string => decoys[i] as string;
    const files: Record<string, string | Buffer> = {
      'a.csv': [
        'bsn;achternaam;voornaam;geboortedatum;adres;postcode;telefoon;email;uitslag',
        `${P[0].bsn};de Vries;Jan;12-03-1980;Kerkstraat 12;1234 AB;0612345678;jan@mail.example;hrHPV positief`,
        `${d(0)};Jansen;Piet;31-01-1975;;;;;`,
        `"${P[1].bsn}";"Smit";"Kees\r\nKoos";01-01-1950;;;;;`,
        `12345672;Bos;An;02-02-1960;;;;;`,
        `;de Vries;Jan;13-03-1980;;;;;`,
      ].join('\r\n'),
      'b.json': JSON.stringify(
        [
          { bsn: d(1), name: { family: 'Bos' }, birthDate: '1970-01-01' },
          { id: 'x', name: { family: 'van der Berg' }, birthDate: '1990-02-01' },
        ],
        null,
        2,
      ),
      'c.xml': `<export>\n<p><bsn>${P[3].bsn}</bsn></p>\n<p><bsn>${d(2)}</bsn></p>\n</export>\n`,
      'd.sql': `INSERT INTO p (bsn, naam) VALUES ('${d(3)}', 'x'), ('1234.56.782', 'y');\nCOPY p (bsn, achternaam, geboortedatum) FROM stdin;\n${d(4)}\tBakker\t2001-07-04\n\\.\n`,
      'e.hl7': `MSH|^~\\&|LAB\rPID|1||${P[4].bsn}^^^NLMINBIZA^NNNLD||Bakker^Lies||20010704\r`,
      'f.log': `2024-05-01T10:00:00Z INFO lookup ${d(5)}\n2024-05-01T10:00:01Z INFO lookup 123 456 782\n`,
      'g.ndjson.gz': gzipSync(Buffer.from(`{"bsn":"${d(6)}"}\n{"bsn":"${P[1].bsn}"}\n`)),
      'h.zip': zipArchive([
        { name: 'm1.csv', data: Buffer.from(`bsn,x\n${d(7)},1\n${P[0].bsn},2\n`) },
        { name: 'dir/m2.txt', data: Buffer.from(`first\nsecond ${P[3].bsn}\n`), method: 0 },
        { name: 'm3.csv.gz', data: gzipSync(Buffer.from(`bsn\n${P[4].bsn}\n`)) },
        { name: 'inner.zip', data: zipArchive([{ name: 'x.txt', data: Buffer.from(P[0].bsn) }]) },
      ]),
      'sub/deeper/i.tsv': `bsn\tachternaam\n${d(8)}\tX\n${P[1].bsn}\tY\n`,
      // Random text does not compress: cut at 20,000 bytes the stream ends mid-way.
      'trunc.csv.gz': gzipSync(Buffer.from(`bsn\n${P[3].bsn}\n${noise(200_000)}\n${P[4].bsn}\n`)).subarray(0, 20_000),
      'corrupt.zip': Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(300, 7)]),
      'badcrc.zip': (() => {
        const z = zipArchive([{ name: 'ok.txt', data: Buffer.from(`${P[0].bsn}\n`), method: 0 }]);
        z[30 + 'ok.txt'.length + 2] = 0x39; // a stored byte changed: the CRC no longer matches
        return z;
      })(),
      'image.bin': Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)),
      'empty.csv': '',
    };
    const json = files['b.json'] as string;
    jsonDateLine = json.slice(0, json.indexOf('1990-02-01')).split('\n').length;
    for (const [name, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await writeFile(path.join(dir, name), content);
    }
    result = await scanLeak({ paths: [dir], matcher, workers: 2, onProgress: (a, b) => progress.push([a, b]) });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds planted BSNs in every format, where they are', () => {
    expect(hit(result, 'a.csv')).toEqual(['0/0@2', '0/1@4', '0/2@6']);
    expect(hit(result, 'c.xml')).toEqual(['0/3@2']);
    expect(hit(result, 'd.sql')).toEqual(['0/0@1']);
    expect(hit(result, 'e.hl7')).toEqual(['1/7@2']);
    expect(hit(result, 'f.log')).toEqual(['0/0@2']);
    expect(hit(result, 'g.ndjson.gz')).toEqual(['0/1@2']);
    expect(hit(result, 'i.tsv')).toEqual(['0/1@3']);
  });

  it('reads zip members as files named archive.zip!member, gzip inside zip too', () => {
    expect(hit(result, 'h.zip!m1.csv')).toEqual(['0/0@3']);
    expect(hit(result, 'h.zip!dir/m2.txt')).toEqual(['0/3@2']);
    expect(hit(result, 'h.zip!m3.csv.gz')).toEqual(['1/7@2']);
  });

  it('finds patients by family name and birth date alone, only with the right pair', () => {
    // Without a BSN in the record, a namesake born the same day cannot be told apart: both.
    expect(hit(result, 'b.json', 'name-date')).toEqual([`0/2@${jsonDateLine}`, `0/8@${jsonDateLine}`]);
    // Line 2: patient 0's BSN tells her from her namesake (9); line 3: a decoy BSN beside patient
    // 1's name and birth date; line 7: patient 0's name, a day off.
    expect(hit(result, 'a.csv', 'name-date')).toEqual(['0/0@2', '0/1@3']);
    // Bakker with the right date, in a COPY row with a decoy BSN: the name-date pair still names her.
    expect(hit(result, 'd.sql', 'name-date')).toEqual(['1/7@3']);
    expect(hit(result, 'e.hl7', 'name-date')).toEqual(['1/7@2']);
  });

  it('never reports a valid BSN that belongs to nobody, and counts them', () => {
    const planted = new Set<string>([...P.map((p) => `${p.tenant}/${p.patient}`), '0/8']);
    for (const h of result.hits.records()) expect(planted.has(`${h.tenant}/${h.patient}`)).toBe(true);
    // Decoys 0–8 appear in scanned files (decoy 3 twice); decoy 7 is in a zip member.
    expect(result.unmatchedValidBsns).toBe(9);
  });

  it('lists damaged, binary and nested input as skipped, and keeps what came before the damage', () => {
    const skipped = Object.fromEntries(result.skipped.map((s) => [path.relative(dir, s.file), s.reason]));
    expect(Object.keys(skipped).sort()).toEqual(
      ['badcrc.zip!ok.txt', 'corrupt.zip', 'h.zip!inner.zip', 'image.bin', 'trunc.csv.gz'].sort(),
    );
    expect(skipped['trunc.csv.gz']).toMatch(/truncated|damaged/);
    expect(skipped['corrupt.zip']).toMatch(/end-of-central-directory/);
    expect(skipped['badcrc.zip!ok.txt']).toMatch(/CRC/);
    expect(skipped['image.bin']).toMatch(/binary/);
    // The truncated gzip's readable part was scanned: the BSN near its start is found.
    expect(hit(result, 'trunc.csv.gz')).toEqual(['0/3@2']);
  });

  it('reports data categories of the records around a hit', () => {
    const h = result.hits.records().find((x) => x.file.endsWith('a.csv') && x.kind === 'bsn' && x.line === 2) as HitRecord;
    expect(categoryNames(h.categories)).toEqual(['names', 'addresses', 'birth-dates', 'contact', 'results', 'national-id']);
    const log = result.hits.records().find((x) => x.file.endsWith('f.log')) as HitRecord;
    expect(categoryNames(log.categories)).toEqual(['national-id']);
  });

  it('sorts hits, counts files and bytes, reports progress to the total', () => {
    const keys = result.hits
      .records()
      .map((h) => `${h.file}\u0000${String(h.line).padStart(9, '0')}\u0000${h.tenant}\u0000${h.patient}\u0000${h.kind}`);
    expect(keys).toEqual([...keys].sort());
    // 11 files, 3 zip members (inner.zip is not scanned), trunc and badcrc (read in part); not image.bin, corrupt.zip.
    expect(result.files).toBe(14);
    expect(result.bytes).toBeGreaterThan(1000);
    const last = progress.at(-1) as [number, number];
    expect(last[0]).toBe(last[1]);
    expect(progress.every(([a, b]) => a <= b)).toBe(true);
  });

  it('reads UTF-16 text (Excel "Unicode text" exports)', async () => {
    const u = path.join(dir, 'utf16');
    await mkdir(u);
    await writeFile(
      path.join(u, 'export.txt'),
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`bsn\tnaam\r\n${P[0].bsn}\tX\r\n`, 'utf16le')]),
    );
    const r = await scanLeak({ paths: [u], matcher });
    expect(hit(r, 'export.txt')).toEqual(['0/0@2']);
  });

  it('gives the same result with the TypeScript engine as with the native one', async () => {
    // The default engine is native where its addons are built (npm ci builds them).
    const js = await scanLeak({ paths: [dir], matcher, workers: 2, engine: 'js' });
    const native = await scanLeak({ paths: [dir], matcher, workers: 2, engine: 'native' });
    expect(native.hits.length).toBeGreaterThanOrEqual(20);
    expect({ ...js, seconds: 0 }).toEqual({ ...native, seconds: 0 });
  });

  it('fails the scan (not a file) when the matcher cannot be loaded', async () => {
    await expect(
      scanLeak({ paths: [dir], matcher: { module: new URL('./no-such-matcher.js', import.meta.url).href, data: null } }),
    ).rejects.toThrow();
    await expect(
      scanLeak({ paths: [dir], matcher: { module: new URL('./scan-types.ts', import.meta.url).href, data: null } }),
    ).rejects.toThrow(/createMatcher/);
  });

  it('gives the same result when large files are split into byte ranges', async () => {
    const big = path.join(dir, 'split');
    await mkdir(big);
    const rows: string[] = ['bsn;achternaam;geboortedatum;opmerking'];
    const copy: string[] = ['-- dump', 'COPY p (bsn, achternaam) FROM stdin;'];
    for (let i = 0; i < 3000; i++) {
      const planted = i % 500 === 499 ? P[Math.floor(i / 500)] : null;
      rows.push(`${planted ? planted.bsn : (decoys[i % 300] as string)};Naam;01-01-1980;"regel\n${i}"`);
      copy.push(`${i % 700 === 699 ? '12345672' : (decoys[i % 300] as string)}\tX`);
    }
    copy.push('\\.');
    await writeFile(path.join(big, 'big.csv'), rows.join('\n'));
    await writeFile(path.join(big, 'big.sql'), copy.join('\n'));
    const whole = await scanLeak({ paths: [big], matcher });
    const split = await scanLeak({ paths: [big], matcher, rangeBytes: 4096 });
    expect(split.hits.records()).toEqual(whole.hits.records());
    expect(split.unmatchedValidBsns).toBe(whole.unmatchedValidBsns);
    expect(
      whole.hits
        .records()
        .filter((h) => h.file.endsWith('big.csv'))
        .map((h) => `${h.patient}@${h.line}`),
    ).toEqual(
      // Row i is on line 2 + 2i (a header, then two lines per row).
      [0, 1, 2, 3, 4].map((k) => `${P[k]?.patient}@${2 + 2 * (499 + 500 * k)}`),
    );
    expect(
      whole.hits
        .records()
        .filter((h) => h.file.endsWith('big.sql'))
        .map((h) => `${h.patient}@${h.line}x${h.count}`),
    ).toEqual(['2@702x4']);
  });

  it('numbers lines past 2^31 in one stream: the same result when lines count from a new base every 100,000', async () => {
    // One gzip stream (and a tar.gz member) of 3 x 4 MiB chunks and more: the scanners count lines
    // in 32 bits, so a unit's count starts again from a base (rebasing-book.ts). Rebasing after
    // nearly every chunk must change nothing: lines absolute, counts summed, unmatched BSNs kept.
    const big = path.join(dir, 'rebase');
    await mkdir(big);
    // Rows of 28 bytes: about 150,000 a chunk, so the count restarts after each of the first three.
    const rowsWith = (at: readonly number[]): Buffer => {
      const rows: string[] = ['bsn;achternaam;geboortedatum'];
      for (let i = 0; i < 500_000; i++) {
        const k = at.indexOf(i);
        const planted = k >= 0 ? P[k] : null;
        rows.push(planted ? `${planted.bsn};${planted.family};${planted.date}` : `${decoys[i % 300] as string};Anders;01-01-1950`);
      }
      return Buffer.from(rows.join('\n'));
    };
    // Hits under every base; and hits under the last base only (the bases before it had none).
    const spread = [77_777, 177_777, 277_777, 377_777];
    const late = [460_000, 470_000, 480_000, 490_000];
    const text = rowsWith(spread);
    expect(text.length).toBeGreaterThan(3 * (4 << 20));
    await writeFile(path.join(big, 'rows.csv.gz'), gzipSync(text));
    const src = path.join(big, 'src');
    await mkdir(src);
    await writeFile(path.join(src, 'rows.csv'), rowsWith(late));
    execFileSync('tar', ['-czf', path.join(big, 'rows.tar.gz'), '-C', src, 'rows.csv']);
    await rm(src, { recursive: true });
    for (const engine of ['js', 'native'] as const) {
      const whole = await scanLeak({ paths: [big], matcher, engine });
      const rebased = await scanLeak({ paths: [big], matcher, engine, rebaseLines: 100_000 });
      expect(rebased.hits.records()).toEqual(whole.hits.records());
      expect(rebased.unmatchedValidBsns).toBe(whole.unmatchedValidBsns);
      expect(whole.unmatchedValidBsns).toBe(300);
      // Row i is on line i + 2; each planted BSN row also matches by name + birth date.
      const where = (file: string): string[] =>
        whole.hits
          .records()
          .filter((h) => h.file.endsWith(file) && h.kind === 'bsn')
          .map((h) => `${h.patient}@${h.line}x${h.count}`);
      const expected = (at: readonly number[]): string[] => at.map((row, k) => `${P[k]?.patient}@${row + 2}x1`);
      expect(where('rows.csv.gz')).toEqual(expected(spread));
      expect(where('rows.tar.gz!rows.csv')).toEqual(expected(late));
    }
  });

  it('finds records in a JSON or XML document whose first lists are not its records', async () => {
    // A header list of two objects comes first and sits shallower than the patients: the records
    // are still the patients, one by one (no BSNs here: only name + birth date can find them).
    const docs = path.join(dir, 'nested');
    await mkdir(docs);
    const patients = [...P, ...P].map((p, i) => ({ nr: i, naam: { achternaam: p.family }, geboortedatum: p.date }));
    const filler = Array.from({ length: 300 }, (_, i) => ({ nr: 100 + i, naam: { achternaam: 'Anders' }, geboortedatum: '1950-05-05' }));
    await writeFile(
      path.join(docs, 'export.json'),
      JSON.stringify({ bron: [{ systeem: 'LIS' }, { systeem: 'HIS' }], gegevens: { patienten: [...filler, ...patients] } }, null, 1),
    );
    const xml = [...filler, ...patients]
      .map((p) => `<patient><achternaam>${p.naam.achternaam}</achternaam><geboortedatum>${p.geboortedatum}</geboortedatum></patient>`)
      .join('\n');
    await writeFile(
      path.join(docs, 'export.xml'),
      `<export><bron><s>LIS</s></bron><bron><s>HIS</s></bron><gegevens>\n${xml}\n</gegevens></export>\n`,
    );
    const r = await scanLeak({ paths: [docs], matcher });
    for (const file of ['export.json', 'export.xml']) {
      const found = r.hits.records().filter((h) => h.file.endsWith(file) && h.kind === 'name-date');
      // Each planted patient twice (and the namesakes of two of them, who share their keys).
      expect(found.map((h) => `${h.tenant}/${h.patient}x${h.count}`).sort(), file).toEqual(
        ['0/0x2', '0/1x2', '0/2x2', '0/3x2', '0/8x2', '0/9x2', '1/7x2'].sort(),
      );
    }
  });

  it('reads tar archives, plain and gzipped (GNU and pax long names), members named archive!member', async () => {
    const src = path.join(dir, 'tar-src');
    const long = `${'lange-mapnaam-'.repeat(8)}/export.csv`;
    await mkdir(path.join(src, path.dirname(long)), { recursive: true });
    await writeFile(path.join(src, long), `bsn;achternaam\n${decoys[0] as string};X\n${P[0].bsn};de Vries\n`);
    await writeFile(path.join(src, 'b.ndjson'), `{"bsn":"${P[4].bsn}"}\n`);
    await writeFile(path.join(src, 'plaatje.bin'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
    await writeFile(path.join(src, 'c.csv.gz'), gzipSync(Buffer.from(`bsn\n${P[1].bsn}\n`)));
    const out = path.join(dir, 'tars');
    await mkdir(out);
    const members = [long, 'b.ndjson', 'plaatje.bin', 'c.csv.gz'];
    execFileSync('tar', ['--format=gnu', '-cf', path.join(out, 'gnu.tar'), '-C', src, ...members]);
    execFileSync('tar', ['--format=pax', '-czf', path.join(out, 'pax.tar.gz'), '-C', src, ...members]);
    const whole = readFileSync(path.join(out, 'pax.tar.gz'));
    // Cut short: the stream ends inside the archive.
    await writeFile(path.join(out, 'cut.tgz'), gzipSync(gunzipSync(whole).subarray(0, 1536 + 200)));
    // The gzip stream itself cut short.
    await writeFile(path.join(out, 'short.tar.gz'), whole.subarray(0, whole.length - 40));
    // A later header damaged: what came before it is kept, the archive is listed as skipped.
    const bad = readFileSync(path.join(out, 'gnu.tar'));
    const at = bad.indexOf('b.ndjson') + 1;
    bad[at] = (bad[at] as number) ^ 0x20;
    await writeFile(path.join(out, 'bad.tar'), bad);
    const r = await scanLeak({ paths: [out], matcher });
    expect(hit(r, `bad.tar!${long}`)).toEqual(['0/0@3']);
    expect(r.skipped.find((x) => x.file.endsWith('bad.tar'))?.reason).toMatch(/tar: a header fails its checksum/);
    for (const archive of ['gnu.tar', 'pax.tar.gz']) {
      expect(hit(r, `${archive}!${long}`), archive).toEqual(['0/0@3']);
      expect(hit(r, `${archive}!b.ndjson`), archive).toEqual(['1/7@1']);
      const skipped = r.skipped
        .filter((x) => x.file.includes(`${archive}!`))
        .map((x) => `${x.file.slice(x.file.indexOf('!') + 1)}: ${x.reason}`);
      expect(skipped, archive).toEqual([
        'c.csv.gz: gzip archive inside a tar archive, not scanned: extract it and scan the result',
        expect.stringMatching(/^plaatje\.bin: /),
      ]);
    }
    expect(r.skipped.find((x) => x.file.endsWith('cut.tgz'))?.reason).toMatch(/tar: the archive ends inside a member/);
    expect(r.skipped.find((x) => x.file.endsWith('short.tar.gz'))?.reason).toMatch(/compressed data damaged or truncated/);
    expect(hit(r, `short.tar.gz!${long}`)).toEqual(['0/0@3']);
    expect(r.unmatchedValidBsns).toBe(1);
    expect(hit(r, 'bad.tar!b.ndjson')).toEqual([]);
  });

  it('keeps what a damaged tar held before the damage, and never fails the scan for it', async () => {
    const src = path.join(dir, 'tar-damage-src');
    await mkdir(src);
    const rows = Array.from({ length: 2000 }, (_, i) => `${decoys[i % 300] as string};X${i}`);
    rows.splice(10, 0, `${P[0].bsn};de Vries`);
    await writeFile(path.join(src, 'a.csv'), `bsn;achternaam\n${rows.join('\n')}\n`);
    // Incompressible and larger than the scan buffer: skipping its rest reads through the damage.
    await writeFile(path.join(src, 'big.bin'), randomBytes(5 << 20));
    await writeFile(path.join(src, 'z.csv'), `bsn\n${P[4].bsn}\n`);
    const out = path.join(dir, 'tar-damage');
    await mkdir(out);
    execFileSync('tar', ['-cf', path.join(out, 'whole.tar'), '-C', src, 'a.csv', 'big.bin', 'z.csv']);
    const tar = readFileSync(path.join(out, 'whole.tar'));
    // A member cut in the middle: its first part is still scanned.
    await writeFile(path.join(out, 'member-cut.tar'), tar.subarray(0, 512 + 1000));
    // The gzip stream cut inside the big member, past the first buffer's worth.
    await writeFile(path.join(out, 'gzip-cut.tgz'), gzipSync(tar).subarray(0, 512 + 4_700_000));
    // "ustar" where it belongs but a checksum field that is no number: not taken for a tar.
    const fake = Buffer.alloc(1024);
    fake.write('ustar', 257, 'latin1');
    fake.write('zzzzzzz', 148, 'latin1');
    await writeFile(path.join(out, 'fake.tar'), fake);
    const r = await scanLeak({ paths: [out], matcher });
    const reasons = Object.fromEntries(r.skipped.map((x) => [path.basename(x.file), x.reason]));
    expect(hit(r, 'whole.tar!a.csv')).toEqual(['0/0@12']);
    expect(hit(r, 'whole.tar!z.csv')).toEqual(['1/7@2']);
    expect(hit(r, 'member-cut.tar!a.csv')).toEqual(['0/0@12']);
    expect(reasons['member-cut.tar']).toMatch(/tar: the archive ends inside a member/);
    expect(hit(r, 'gzip-cut.tgz!a.csv')).toEqual(['0/0@12']);
    expect(hit(r, 'gzip-cut.tgz!z.csv')).toEqual([]);
    expect(reasons['gzip-cut.tgz']).toMatch(/compressed data damaged or truncated/);
    expect(reasons['fake.tar']).toMatch(/binary/);
    // Unmatched valid BSNs are counted in a tar read to its end too.
    const only = await scanLeak({ paths: [path.join(out, 'whole.tar')], matcher });
    expect(only.unmatchedValidBsns).toBe(300);
  });

  it('gives the same result when a split falls inside a quoted field or an SQL tuple that spans lines', async () => {
    // Every row starts with a two-line quoted note holding a delimiter: a range that starts after
    // the note's first line would read its columns shifted by one (the family name in the date
    // column): no name + birth date match there, and no BSN role for the 8-digit number.
    const big = path.join(dir, 'quoted');
    await mkdir(big);
    const rows: string[] = ['opmerking;bsn;achternaam;geboortedatum'];
    const tuples: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const p = P[i % 5] as (typeof P)[number];
      const [y, m, d] = p.date.split('-');
      const bsn = i % 400 === 7 ? '12345672' : (decoys[i % 300] as string);
      rows.push(`"eerste regel\nregel; ${i}";${bsn};${p.family};${d}-${m}-${y}`);
      tuples.push(`('notitie\nregel ${i}', '${bsn}', '${p.family}', '${p.date}')`);
    }
    await writeFile(path.join(big, 'notes.csv'), rows.join('\r\n'));
    await writeFile(
      path.join(big, 'notes.sql'),
      `INSERT INTO p (opmerking, bsn, achternaam, geboortedatum) VALUES\n${tuples.join(',\n')};\n`,
    );
    const whole = await scanLeak({ paths: [big], matcher });
    const split = await scanLeak({ paths: [big], matcher, rangeBytes: 4096 });
    expect(split.hits.records()).toEqual(whole.hits.records());
    expect(split.unmatchedValidBsns).toBe(whole.unmatchedValidBsns);
    expect(split.candidates).toBe(whole.candidates);
    // Row i sits on lines 2 + 2i and 3 + 2i; each family name and date is on every fifth row.
    const csv = whole.hits.records().filter((h) => h.file.endsWith('notes.csv'));
    const namesakes = new Set(Object.values(NAMESAKE));
    expect(
      csv.filter((h) => h.kind === 'name-date' && !namesakes.has(h.patient)).map((h) => `${h.tenant}/${h.patient}@${h.line}x${h.count}`),
    ).toEqual(P.map((p, k) => `${p.tenant}/${p.patient}@${3 + 2 * k}x400`));
    expect(csv.filter((h) => h.kind === 'bsn').map((h) => `${h.patient}@${h.line}x${h.count}`)).toEqual(['2@17x5']);
  });
});

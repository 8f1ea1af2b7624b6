import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decoyPeople, writeLeakDump, type DumpPerson } from '../bench/leak-dump.js';
import { Prng } from '../synth/prng.js';
import { ByteEvents } from './byte-events.js';
import { CandidateCollector } from './candidate-collector.js';
import { createScanner } from './create-scanner.js';
import { ScanMode, type FormatScanner } from './format-scanner.js';
import type { LeakFormat } from './format-sniff.js';
import type { IntList } from './int-list.js';
import { createNativeScanner, loadLeakExtract } from './native-extract.js';
import { sqlStatementBefore } from './sql-statement-before.js';

/**
 * The native scanner (native/leak-extract) against the JavaScript one: both read the same
 * ByteEvents buffer through the chunk loop of scan-chunks.ts (Partial, Cut when a record fills
 * the buffer, End), and after every chunk the consumed offset, every collector column and the
 * line count must be equal; at the end, endsInsideRecord too. Small buffers make records cross
 * chunks, so the abandon and Cut paths run.
 */
const COLUMN_NAMES = [
  'bsnValue',
  'bsnLine',
  'bsnRecord',
  'h1',
  'h2',
  'date',
  'from',
  'to',
  'line',
  'record',
  'recordStart',
  'recordEnd',
  'recordHint',
];
/** Columns whose values are identifiers or derived from them: a mismatch names the index only. */
const SECRET = new Set(['bsnValue', 'h1', 'h2', 'date']);

function columns(c: CandidateCollector): IntList[] {
  const k = c.keys;
  return [c.bsnValue, c.bsnLine, c.bsnRecord, k.h1, k.h2, k.date, k.from, k.to, k.line, k.record, c.recordStart, c.recordEnd, c.recordHint];
}

/** Entries compared so far (BSNs, keys, records): a test that compared nothing proves nothing. */
let compared = 0;

function sameColumns(js: CandidateCollector, nat: CandidateCollector, where: string): void {
  const a = columns(js);
  compared += js.bsnValue.length + js.keys.length + js.recordStart.length;
  const b = columns(nat);
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as IntList;
    const y = b[i] as IntList;
    const name = COLUMN_NAMES[i] as string;
    if (x.length !== y.length) throw new Error(`${where}: ${name} has ${y.length} entries, JS ${x.length}`);
    const bx = Buffer.from(x.data.buffer, x.data.byteOffset, 4 * x.length);
    const by = Buffer.from(y.data.buffer, y.data.byteOffset, 4 * y.length);
    if (bx.equals(by)) continue;
    for (let j = 0; j < x.length; j++)
      if (x.get(j) !== y.get(j))
        throw new Error(`${where}: ${name}[${j}] differs${SECRET.has(name) ? '' : ` (native ${y.get(j)}, JS ${x.get(j)})`}`);
  }
}

/** scan-chunks.ts cutPoint (not exported there). */
function cutPoint(buf: Buffer, n: number): number {
  const lf = buf.lastIndexOf(0x0a, n - 1);
  if (lf >= 0 && lf >= n - (1 << 20)) return lf + 1;
  for (let i = n - 1; i >= n - 4096 && i > 0; i--) {
    const b = buf[i] as number;
    if (b < 0x30 || (b > 0x39 && b < 0x41) || (b > 0x5a && b < 0x61) || (b > 0x7a && b < 0x80)) return i + 1;
  }
  return n;
}

/** Reads bytes into the buffer: an in-memory input or a file. */
type Read = (buf: Buffer, at: number, len: number) => number;
const fromBytes = (data: Buffer): Read => {
  let pos = 0;
  return (buf, at, len) => {
    const k = Math.min(len, data.length - pos);
    data.copy(buf, at, pos, pos + k);
    pos += k;
    return k;
  };
};

const eventsBySize = new Map<number, ByteEvents>();
function eventsOf(size: number): ByteEvents {
  let e = eventsBySize.get(size);
  if (!e) eventsBySize.set(size, (e = new ByteEvents(size)));
  return e;
}

interface Run {
  format: LeakFormat;
  delimiter?: number;
  size: number;
  midFile?: boolean;
  header?: Buffer;
  /** Timing instead of comparing: which scanner runs. */
  only?: 'js' | 'native';
}

/** Drives both scanners over the input as scanChunks does, comparing after every chunk; returns the chunk count. */
function drive(read: Read, run: Run, label: string): number {
  const events = eventsOf(run.size);
  const buf = events.buf;
  const delimiter = run.delimiter ?? -1;
  const midFile = run.midFile ?? false;
  const jc = new CandidateCollector();
  const nc = new CandidateCollector();
  const js: FormatScanner | null = run.only === 'native' ? null : createScanner(run.format, delimiter, jc, events, midFile);
  const nat = run.only === 'js' ? null : createNativeScanner(run.format, delimiter, nc, midFile);
  if (run.only !== 'js' && !nat) throw new Error('addon not loadable');
  if (run.header) {
    js?.useHeader?.(run.header, 0, run.header.length);
    nat?.useHeader?.(run.header, 0, run.header.length);
  }
  let n = 0;
  let eof = false;
  const fill = (from: number): void => {
    n = from;
    while (n < buf.length) {
      const k = read(buf, n, buf.length - n);
      if (k === 0) {
        eof = true;
        return;
      }
      n += k;
    }
  };
  fill(0);
  for (let chunk = 0; ; chunk++) {
    const where = `${label} size ${run.size} chunk ${chunk}`;
    const mode = eof ? ScanMode.End : ScanMode.Partial;
    const both = (to: number, m: ScanMode): number => {
      const a = js ? js.scan(buf, 0, to, m) : -1;
      const b = nat ? nat.scan(buf, 0, to, m) : -1;
      if (js && nat) {
        if (a !== b) throw new Error(`${where}: consumed ${b}, JS ${a} (mode ${m})`);
        if (js.lines !== nat.lines) throw new Error(`${where}: lines ${nat.lines}, JS ${js.lines}`);
      }
      return js ? a : b;
    };
    let consumed = both(n, mode);
    if (consumed === 0 && !eof && n === buf.length) consumed = both(cutPoint(buf, n), ScanMode.Cut);
    jc.settleColumns();
    nc.settleColumns();
    if (js && nat) sameColumns(jc, nc, where);
    jc.clearChunk();
    nc.clearChunk();
    if (eof && consumed >= n) {
      if (js && nat && (js.endsInsideRecord === true) !== nat.endsInsideRecord)
        throw new Error(`${where}: endsInsideRecord ${String(nat.endsInsideRecord)}`);
      return chunk + 1;
    }
    buf.copyWithin(0, consumed, n);
    fill(n - consumed);
  }
}

const compare = (data: Buffer | string, run: Run, label: string): number =>
  drive(fromBytes(Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8')), run, label);

const SIZES = [64, 100, 256, 1000, 4096, 65536];

function formatOf(name: string): { format: LeakFormat; delimiter?: number } {
  const ext = name.slice(name.lastIndexOf('.') + 1);
  if (ext === 'csv') return { format: 'csv', delimiter: name.includes('comma') ? 0x2c : 0x3b };
  if (ext === 'tsv') return { format: 'csv', delimiter: 0x09 };
  if (ext === 'psv') return { format: 'csv', delimiter: 0x7c };
  if (ext === 'log' || ext === 'txt') return { format: 'text' };
  if (ext === 'ndjson') return { format: 'ndjson' };
  return { format: ext as LeakFormat };
}

const A = '123456782';
const B = '111222333';
const C = '987654329';
const LOST = '12345672';
const LOST2 = '76543213';
const D = ['282716457', '198765436', '300000004', '100000009'];

/** The inputs of scan-leak.test.ts and candidate-extractor.test.ts (their texts; names say the format). */
const FIXTURES: [string, string][] = [
  [
    'a.csv',
    [
      'bsn;achternaam;voornaam;geboortedatum;adres;postcode;telefoon;email;uitslag',
      `${A};de Vries;Jan;12-03-1980;Kerkstraat 12;1234 AB;0612345678;jan@mail.example;hrHPV positief`,
      `${D[0]};Jansen;Piet;31-01-1975;;;;;`,
      `"${B}";"Smit";"Kees\r\nKoos";01-01-1950;;;;;`,
      `12345672;Bos;An;02-02-1960;;;;;`,
      `;de Vries;Jan;13-03-1980;;;;;`,
    ].join('\r\n'),
  ],
  [
    'b.json',
    JSON.stringify(
      [
        { bsn: D[1], name: { family: 'Bos' }, birthDate: '1970-01-01' },
        { id: 'x', name: { family: 'van der Berg' }, birthDate: '1990-02-01' },
      ],
      null,
      2,
    ),
  ],
  ['c.xml', `<export>\n<p><bsn>${C}</bsn></p>\n<p><bsn>${D[2]}</bsn></p>\n</export>\n`],
  [
    'd.sql',
    `INSERT INTO p (bsn, naam) VALUES ('${D[3]}', 'x'), ('1234.56.782', 'y');\nCOPY p (bsn, achternaam, geboortedatum) FROM stdin;\n${D[0]}\tBakker\t2001-07-04\n\\.\n`,
  ],
  ['e.hl7', `MSH|^~\\&|LAB\rPID|1||555444338^^^NLMINBIZA^NNNLD||Bakker^Lies||20010704\r`],
  ['f.log', `2024-05-01T10:00:00Z INFO lookup ${D[1]}\n2024-05-01T10:00:01Z INFO lookup 123 456 782\n`],
  ['g.ndjson', `{"bsn":"${D[2]}"}\n{"bsn":"${B}"}\n`],
  ['m1.comma.csv', `bsn,x\n${D[3]},1\n${A},2\n`],
  ['m2.txt', `first\nsecond ${C}\n`],
  ['i.tsv', `bsn\tachternaam\n${D[0]}\tX\n${B}\tY\n`],
  [
    'p.log',
    [`plain ${A}`, 'dots 1234.56.782', 'spaces 123 456 782', 'three dots 123.456.782', 'mixed 1234 56 782', `NL${B}B01`].join('\n'),
  ],
  ['q.log', `${A}0 0${A} 123456783 1234.56.7829 0612 345 678 21 ${A.slice(0, 3)} ${A.slice(3)}`],
  ['r.csv', `bsn;ordernummer;naam\n${LOST};${LOST2};Jansen\n"${LOST2}";${LOST};de Vries\n`],
  ['s.comma.csv', [A, B, C, LOST, A, B].map((bsn, i) => `${bsn},${LOST2},row ${i}`).join('\n')],
  ['t.log', `patient ${LOST} seen`],
  ['u.json', JSON.stringify([{ bsn: LOST, order: LOST2 }, { bsn: Number(LOST2) }])],
  ['v.xml', `<rows><row><bsn>${LOST}</bsn><nr>${LOST2}</nr></row>\n<row><bsn>${A}</bsn></row></rows>`],
  ['w.sql', `INSERT INTO p (nr, bsn) VALUES (${LOST2}, '${LOST}');\nCOPY p (bsn, nr) FROM stdin;\n${LOST2}\t${LOST}\n\\.\n`],
  ['x.hl7', `MSH|^~\\&|LAB\rPID|1||${LOST}^^^NLMINBIZA^NNNLD||Jansen^Jan||19800312|F|||${LOST2}\r`],
  ['y.comma.csv', `bsn,opmerking\r\n${A},"een\r\ntwee, drie"\r\n${B},x\r${C},"""quoted"" and\nmore"\n${A},end`],
  ['z.json', JSON.stringify([{ a: 1 }, { b: { bsn: A } }], null, 2)],
  ['z2.hl7', `MSH|^~\\&|LAB\rPID|1||${A}\rOBX|1\r\nMSH|^~\\&\nPID|1||${B}\r`],
  [
    'k1.csv',
    'bsn;achternaam;voornaam;geboortedatum;afnamedatum\n;van der Berg;Jan;12-03-1980;2024-05-01\n;Öztürk;Ayşe;1/2/1975;2024-05-02\n',
  ],
  ['k2.comma.csv', 'tussenvoegsel,achternaam,geboortedatum\nde,Vries,1980-03-12\n'],
  [
    'k3.json',
    JSON.stringify(
      { resourceType: 'Patient', identifier: [{ value: A }], name: [{ family: 'de Vries', given: ['Jan'] }], birthDate: '1980-03-12' },
      null,
      1,
    ),
  ],
  [
    'k4.xml',
    '<Bundle>\n<entry><Patient><name><family value="de Vries"/></name><birthDate value="1980-03-12"/></Patient></entry>\n<entry/></Bundle>',
  ],
  ['k5.hl7', 'MSH|^~\\&|LAB\rPID|1||123456782||de Vries&de&Vries^Jan||198003121200|F\rOBX|1|ST|HPV||20240501\r'],
  ['k6.log', '2024-05-01T10:00:00Z INFO lookup patient Jan de Vries (geb. 12-03-1980) result positief\n'],
  [
    'k7.log',
    `${Array.from({ length: 200 }, (_, i) => `Naam${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + ((i / 26) | 0))}`).join(' ')} 12-03-1980 01-01-1950\n`,
  ],
  ['k8.csv', 'bsn;achternaam;geboortedatum\n;Jansen;31-02-1980\n;Bakker;\n'],
  [
    'k9.sql',
    `INSERT INTO \`p\` (\`bsn\`, \`achternaam\`, \`geboortedatum\`) VALUES\n('${A}', 'O''Brien', '1980-03-12'),\n('${B}', 'd\\'Ancona', '1975-01-31');\n-- ${C}\n`,
  ],
  ['k10.xml', `<r>\n<!-- ${A} -->\n<p id="${B}"><![CDATA[${C}]]></p>\n</r>`],
  ['k11.json', `[{"bsn":"${A}"},{"x":"\\"${B}\\""}]`],
  [
    'c1.csv',
    `bsn;achternaam;geboortedatum;opmerking\n${Array.from({ length: 40 }, (_, i) => `${[A, B, C][i % 3]};de Vries;${1 + (i % 28)}-03-1980;"a\nb"`).join('\n')}\n`,
  ],
  [
    'c2.json',
    JSON.stringify(
      Array.from({ length: 30 }, (_, i) => ({ bsn: [A, B, C][i % 3], family: 'Jansen', birthDate: `1980-03-${10 + (i % 9)}` })),
      null,
      2,
    ),
  ],
  [
    'c3.xml',
    `<r>\n${Array.from({ length: 30 }, (_, i) => `<p><bsn>${[A, B, C][i % 3]}</bsn><achternaam>Smit</achternaam><geboortedatum>0${1 + (i % 9)}-01-1990</geboortedatum></p>`).join('\n')}\n</r>`,
  ],
  [
    'c4.sql',
    `COPY t (bsn, achternaam, geboortedatum) FROM stdin;\n${Array.from({ length: 30 }, (_, i) => `${[A, B, C][i % 3]}\tBos\t1970-01-${10 + (i % 9)}`).join('\n')}\n\\.\nINSERT INTO t VALUES ${Array.from({ length: 20 }, (_, i) => `('${[A, B, C][i % 3]}', 'x')`).join(',\n')};\n`,
  ],
  ['c5.hl7', Array.from({ length: 20 }, (_, i) => `MSH|^~\\&|L\rPID|1||${[A, B, C][i % 3]}||Bakker^Jan||1960010${1 + (i % 9)}\r`).join('')],
];

/** Names that are not plain ASCII: folded (Ö, ß, ø), fullwidth, mathematical letters, broken UTF-8. */
const NON_ASCII = [
  'Öztürk',
  'Straße',
  'Ørsted',
  'ＪＡＮＳＥＮ',
  '𝐁𝐚𝐤𝐤𝐞𝐫',
  'Ĳsselmeer',
  'Œuvre',
  'İnce',
  'Łukasz',
  'Þór',
  'ǅemal',
  '株式',
  'Ελένη',
];
const BROKEN = [
  Buffer.from([0xc3]),
  Buffer.from([0xe2, 0x82]),
  Buffer.from([0xf0, 0x9d, 0x90]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xff, 0xfe]),
  Buffer.from([0xc0, 0xaf]),
];

const native = loadLeakExtract();

describe("the addon's handles", () => {
  const addon = loadLeakExtract() as NonNullable<ReturnType<typeof loadLeakExtract>>;
  const counts = new Int32Array(15);
  const out = (): Int32Array[] => Array.from({ length: 13 }, () => new Int32Array(16));
  const buf = Buffer.from('{"achternaam": "Jansen", "geboortedatum": "1975-01-31"}\n');

  it("refuses what is not one of its scanners (another addon's handle too)", async () => {
    const { createNativeMatcher } = await import('./native-match.js');
    // The native matcher's C state (a private field): an external of the other addon.
    const foreign = (createNativeMatcher({ matchBsns: () => [], matchNameDates: () => [] }) as unknown as { state: object }).state;
    expect(foreign).toBeDefined();
    for (const h of [{}, foreign])
      expect(() =>
        addon.scan(
          h,
          buf,
          0,
          buf.length,
          ScanMode.End,
          0,
          out(),
          counts,
          () => 0,
          () => new Uint8Array(),
        ),
      ).toThrow(/not a scanner handle/);
  });

  it('refuses a released scanner; the next scanner, on the released memory, reads as a fresh one', () => {
    const csv = Buffer.from(`bsn;achternaam;geboortedatum\n${'123456782;Jansen;31-01-1975\n'.repeat(3000)}`);
    const scanOnce = (): Int32Array[] => {
      const h = addon.create(0, 0x3b, false);
      const o = out();
      const c = new Int32Array(15);
      addon.scan(
        h,
        csv,
        0,
        csv.length,
        ScanMode.End,
        0,
        o,
        c,
        () => 0,
        () => new Uint8Array([1, 3, 2]),
      );
      addon.release(h);
      expect(() =>
        addon.scan(
          h,
          csv,
          0,
          csv.length,
          ScanMode.End,
          0,
          out(),
          new Int32Array(15),
          () => 0,
          () => new Uint8Array(),
        ),
      ).toThrow(/already released/);
      expect(() => addon.release(h)).toThrow(/already released/);
      return o.map((col, i) => col.slice(0, c[i]));
    };
    const first = scanOnce();
    expect(first[0]?.length).toBe(3000);
    // The second and third scanners take the first one's lists and events, with its entries in them.
    expect(scanOnce()).toEqual(first);
    expect(scanOnce()).toEqual(first);
  });

  it('refuses to be re-entered from a field-role callback', () => {
    const h = addon.create(1, 1, false);
    let inner: unknown = null;
    const nameRole = (): number => {
      try {
        addon.scan(
          h,
          buf,
          0,
          buf.length,
          ScanMode.End,
          0,
          out(),
          new Int32Array(15),
          () => 0,
          () => new Uint8Array(),
        );
      } catch (e) {
        inner = e;
      }
      return 0;
    };
    addon.scan(h, buf, 0, buf.length, ScanMode.End, 0, out(), counts, nameRole, () => new Uint8Array());
    expect(String(inner)).toMatch(/re-entered/);
  });
});

/**
 * Out of memory inside the C scanners (the addon's failAllocationsAfter(N) fails every allocation
 * after the next N of the process, so each case runs in a child process). It was an abort(): the
 * process died, and a core dump would have held the scanned bytes.
 */
describe('an allocation that fails inside the native scanner', () => {
  const ROOT = fileURLToPath(new URL('../..', import.meta.url));
  const DIRECT = `
    import { createRequire } from 'node:module';
    const addon = createRequire(import.meta.url)(process.argv[2] + '/native/leak-extract/build/Release/leak_extract.node');
    if (Number(process.argv[3]) >= 0) addon.failAllocationsAfter(Number(process.argv[3]));
    const rows = Array.from({ length: 5000 }, (_, i) => '123456782;Jansen;31-01-1975;' + i).join('\\n');
    const buf = Buffer.from('bsn;achternaam;geboortedatum;nr\\n' + rows + '\\n');
    const out = Array.from({ length: 13 }, () => new Int32Array(16));
    const h = addon.create(0, 0x3b, false);
    for (const attempt of [1, 2])
      try {
        addon.scan(h, buf, 0, buf.length, 2, 0, out, new Int32Array(15), () => 1, () => new Uint8Array([1, 3, 2, 0]));
        console.log(attempt + ': scanned ' + out[0].length);
      } catch (e) {
        console.log(attempt + ': ' + e.code + ' ' + e.message);
      }`;
  const SCAN = `
    import { createRequire } from 'node:module';
    const [root, n, dir] = process.argv.slice(2);
    // The workers load the same library: the count is the process's.
    if (Number(n) >= 0) createRequire(import.meta.url)(root + '/native/leak-extract/build/Release/leak_extract.node').failAllocationsAfter(Number(n));
    const { scanLeak } = await import(root + '/dist/leak/scan-leak.js');
    const matcher = { module: 'file://' + root + '/dist/leak/test-matcher.js', data: { bsns: [], keys: [] } };
    try {
      const r = await scanLeak({ paths: [dir], matcher, workers: 2, engine: 'native' });
      console.log('scanned ' + r.files + ' file');
    } catch (e) {
      console.log('failed: ' + e.message);
    }`;
  // Script files, not --eval: the scan's worker threads would inherit --input-type.
  let tmp = '';
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'labvault-oom-'));
    await writeFile(path.join(tmp, 'direct.mjs'), DIRECT);
    await writeFile(path.join(tmp, 'scan.mjs'), SCAN);
    await mkdir(path.join(tmp, 'dump'));
    await writeFile(path.join(tmp, 'dump', 'a.csv'), `bsn;achternaam;geboortedatum\n${'123456782;Jansen;31-01-1975\n'.repeat(5000)}`);
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));
  const run = (
    script: string,
    failAfter: number,
    dir?: string,
    env: NodeJS.ProcessEnv = process.env,
  ): { status: number | null; signal: string | null; out: string } => {
    const r = spawnSync(process.execPath, [path.join(tmp, script), ROOT, String(failAfter), ...(dir ? [dir] : [])], {
      env,
      encoding: 'utf8',
    });
    return { status: r.status, signal: r.signal, out: r.stdout.trim() };
  };

  it.runIf(native)('throws an Error (ERR_LEAK_OUT_OF_MEMORY) and retires the scanner, wherever it fails; the process lives', () => {
    for (const n of [0, 1, 2, 5, 12, 30]) {
      const r = run('direct.mjs', n);
      expect({ n, status: r.status, signal: r.signal }).toEqual({ n, status: 0, signal: null });
      expect(r.out).toBe(
        '1: ERR_LEAK_OUT_OF_MEMORY leak_extract: out of memory while scanning\n' +
          '2: ERR_LEAK_OUT_OF_MEMORY leak_extract: scanner ran out of memory earlier and cannot go on',
      );
    }
    // Without the injected failure the same scan goes through (twice).
    expect(run('direct.mjs', -1).out).toMatch(/^1: scanned \d+\n2: scanned \d+$/);
  });

  it.runIf(native)('cannot be injected through the environment (the addon reads no failure setting from it)', () => {
    const env = { ...process.env, LEAK_EXTRACT_FAIL_ALLOC: '0' };
    const direct = run('direct.mjs', -1, undefined, env);
    expect(direct.status).toBe(0);
    expect(direct.out).toMatch(/^1: scanned \d+\n2: scanned \d+$/);
    expect(run('scan.mjs', -1, path.join(tmp, 'dump'), env).out).toBe('scanned 1 file');
  });

  it.runIf(native)('fails a scan on worker threads with a one-line error', () => {
    const failed = run('scan.mjs', 3, path.join(tmp, 'dump'));
    expect(failed).toEqual({ status: 0, signal: null, out: 'failed: leak scan failed: leak_extract: out of memory while scanning' });
    expect(run('scan.mjs', -1, path.join(tmp, 'dump')).out).toBe('scanned 1 file');
  });
});

describe('a birth-date field of six digits at the end of the data', () => {
  it('makes no date from the bytes after it, in either engine', () => {
    const events = new ByteEvents(1 << 12);
    // Stale bytes from an earlier chunk lie just past the end of this one.
    events.buf.write('naam,geboortedatum\nde Vries,19500307\n');
    const text = 'naam,geboortedatum\nde Vries,195003';
    const n = events.buf.write(text);
    for (const make of [
      (c: CandidateCollector) => createScanner('csv', 0x2c, c, events),
      (c: CandidateCollector) => createNativeScanner('csv', 0x2c, c, false) as FormatScanner,
    ]) {
      const c = new CandidateCollector();
      make(c).scan(events.buf, 0, n, ScanMode.End);
      expect(c.keys.length).toBe(0);
    }
  });
});

describe('a family name at the end of the data', () => {
  it('ends there, not in the letters of an earlier chunk after it, in either engine', () => {
    const events = new ByteEvents(1 << 12);
    // Stale letters from an earlier chunk continue the last name just past the end of this one
    // (the native tokeniser reads 16 bytes at a time: it must stop at the field's end).
    events.buf.write('geboortedatum,naam\n1950-03-07,Jansenxy\n');
    const n = events.buf.write('geboortedatum,naam\n1950-03-07,Jansen');
    const keys = [
      (c: CandidateCollector) => createScanner('csv', 0x2c, c, events),
      (c: CandidateCollector) => createNativeScanner('csv', 0x2c, c, false) as FormatScanner,
    ].map((make) => {
      const c = new CandidateCollector();
      make(c).scan(events.buf, 0, n, ScanMode.End);
      return Array.from(c.keys.h1.data.subarray(0, c.keys.length));
    });
    expect(keys[0]?.length).toBe(1);
    expect(keys[1]).toEqual(keys[0]);
  });
});

describe('native candidate extraction equals the JavaScript', () => {
  it('is built (npm ci builds it; without it the scan falls back to the JavaScript engine)', () => {
    expect(native).not.toBeNull();
  });

  it.each(FIXTURES)('fixture %s, every buffer size', (name, text) => {
    const f = formatOf(name);
    for (const size of SIZES) compare(text, { ...f, size }, name);
  });

  it('json fixtures read as ndjson, csv fixtures with other delimiters, sql mid-file', () => {
    for (const [name, text] of FIXTURES) {
      const f = formatOf(name);
      for (const size of [64, 4096]) {
        if (f.format === 'json') compare(text, { format: 'ndjson', size }, name);
        if (f.format === 'csv') for (const delimiter of [0x2c, 0x3b, 0x09, 0x7c]) compare(text, { format: 'csv', delimiter, size }, name);
        if (f.format === 'csv' || f.format === 'sql') compare(text, { ...f, size, midFile: true }, `${name} mid-file`);
        compare(text, { format: 'text', size }, `${name} as text`);
      }
    }
  });

  it('non-ASCII family names hash as normaliseFamilyName (per code point, and in random mixes)', () => {
    const prng = new Prng(11);
    const rows: Buffer[] = [Buffer.from('achternaam;geboortedatum;naam\n')];
    const logs: Buffer[] = [];
    const piece = (): Buffer => {
      const r = prng.int(10);
      if (r < 4) return Buffer.from(prng.pick(NON_ASCII));
      if (r < 6) return prng.pick(BROKEN);
      if (r < 8) return Buffer.from(prng.pick(['de', 'van', 'Jansen', 'x', ' ', '-', "'", 'Q']));
      return Buffer.from(String.fromCodePoint(0x80 + prng.int(0x2ff80)));
    };
    for (let i = 0; i < 3000; i++) {
      const name = Buffer.concat(Array.from({ length: 1 + prng.int(4) }, piece));
      const date = `${1 + prng.int(28)}-0${1 + prng.int(9)}-19${50 + prng.int(50)}`;
      rows.push(Buffer.concat([name, Buffer.from(`;${date};`), name, Buffer.from(' Jan\n')]));
      logs.push(Buffer.concat([Buffer.from('INFO '), name, Buffer.from(` geb. ${date} `), piece(), Buffer.from('\n')]));
    }
    for (const size of [256, 4096, 65536]) {
      compare(Buffer.concat(rows), { format: 'csv', delimiter: 0x3b, size }, 'non-ascii csv');
      compare(Buffer.concat(logs), { format: 'text', size }, 'non-ascii log');
    }
    // Every code point from U+0080 (surrogates excepted) once, as a family name with a birth date.
    const all: string[] = ['achternaam,geboortedatum'];
    for (let cp = 0x80; cp <= 0x10ffff; cp += cp < 0x30000 ? 1 : 97)
      if (cp < 0xd800 || cp > 0xdfff) all.push(`${String.fromCodePoint(cp)}a,1980-03-12`);
    compare(all.join('\n'), { format: 'csv', delimiter: 0x2c, size: 65536 }, 'code points');
  });

  it('a synthetic bench dump (writeLeakDump, all 7 files), whole and in mid-file ranges with their header', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lv-native-extract-'));
    try {
      const prng = new Prng(5);
      const people: DumpPerson[] = [
        ...decoyPeople(150, new Set(), prng),
        ...['Öztürk', 'van der Berg', 'Straße', "d'Ancona", 'ＪＡＮＳＥＮ'].map((family, i) => ({
          ...decoyPeople(1, new Set(), prng)[0]!,
          family,
          birthDate: `19${60 + i}-0${1 + i}-1${i}`,
        })),
      ];
      const { files } = await writeLeakDump(dir, people, 7 * 150_000, prng);
      let chunks = 0;
      for (const file of files) {
        const data = await readFile(file);
        const name = path.basename(file);
        const f =
          name === 'export.csv'
            ? { format: 'csv' as const, delimiter: 0x3b }
            : formatOf(name === 'records.xml' ? 'x.xml' : name === 'berichten.hl7' ? 'x.hl7' : name);
        for (const size of [256, 4096, 65536]) chunks += compare(data, { ...f, size }, name);
        // Byte ranges that do not start the file, as plan-units.ts splits it: the CSV header line
        // and the SQL statement a range starts inside of are read apart (useHeader).
        const fd = openSync(file, 'r');
        try {
          for (let k = 0; k < 6; k++) {
            const start = 1 + prng.int(data.length - 1);
            const end = Math.min(data.length, start + 5000 + prng.int(40_000));
            let header: Buffer | undefined;
            if (f.format === 'csv') header = data.subarray(0, data.indexOf(0x0a));
            if (f.format === 'sql') {
              const h = sqlStatementBefore(fd, start);
              if (h) header = data.subarray(h.start, h.start + h.length);
            }
            const midFile = f.format === 'csv' || f.format === 'sql';
            for (const size of [256, 65536])
              chunks += compare(data.subarray(start, end), { ...f, size, midFile, header }, `${name} [${start}, ${end})`);
          }
        } finally {
          closeSync(fd);
        }
      }
      expect(chunks).toBeGreaterThan(1000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  const FUZZ: [LeakFormat, number][] = [
    ['csv', 0x2c],
    ['csv', 0x3b],
    ['csv', 0x09],
    ['csv', 0x7c],
    ['text', -1],
    ['json', -1],
    ['ndjson', -1],
    ['sql', -1],
    ['xml', -1],
    ['hl7', -1],
  ];
  it.each(FUZZ)('fuzz: %s (delimiter %i), 600 random inputs', (format, delimiter) => {
    const prng = new Prng(1000 + delimiter + format.length * 7919);
    const before = compared;
    for (let i = 0; i < 600; i++) {
      const data = fuzzInput(prng, format, delimiter);
      const size = prng.pick([32, 48, 64, 100, 256, 1024, 4096]);
      const midFile = (format === 'csv' || format === 'sql') && prng.chance(0.2);
      const header = midFile && prng.chance(0.5) ? fuzzInput(prng, format, delimiter).subarray(0, 80) : undefined;
      compare(data, { format, delimiter, size, midFile, header }, `fuzz ${format} #${i}`);
    }
    expect(compared - before).toBeGreaterThan(3000);
  });
});

/** Random records of a format: digits, BSNs, dates, names, delimiters, quotes, brackets and noise. */
function fuzzInput(p: Prng, format: LeakFormat, delimiter: number): Buffer {
  const value = (): string => {
    switch (p.int(16)) {
      case 0:
        return p.pick([A, B, C, ...D]);
      case 1:
        return p.pick([LOST, LOST2, '01234567']);
      case 2:
        return p.pick(['1234.56.782', '123 456 782', '123.456.782', '1234 56 782', '0612 345 678']);
      case 3:
        return `${1 + p.int(31)}-${1 + p.int(12)}-${1900 + p.int(130)}`;
      case 4:
        return `${1900 + p.int(130)}-${String(1 + p.int(12)).padStart(2, '0')}-${String(1 + p.int(31)).padStart(2, '0')}${p.pick(['', 'T12:30', ' 9:05', ' 12:30:00', 'T1'])}`;
      case 5:
        return `${1900 + p.int(130)}${String(1 + p.int(12)).padStart(2, '0')}${String(1 + p.int(28)).padStart(2, '0')}${p.pick(['', '1200', '12'])}`;
      case 6:
        return p.pick([
          'Jansen',
          'de Vries',
          'van der Berg',
          "d'Ancona",
          'Smit-Jansen',
          'JANSEN',
          'AB',
          'Kerkstraat',
          'info',
          'van Dam, Annelies',
        ]);
      case 7:
        return p.pick(NON_ASCII);
      case 8:
        return String(p.int(10 ** (1 + p.int(9))));
      case 9:
        return '9'.repeat(1 + p.int(80));
      case 10:
        return p.pick(['', ' ', 'x', 'Jan', 'positief', 'geb.', '12/03/1980', '1/2/1975', '31-02-1980']);
      default:
        return p.pick(['Jan', 'Piet', 'Bos', 'Q', 'hrHPV', '2024-05-01', 'x1', '']);
    }
  };
  const noise = (alphabet: string): string => {
    let s = '';
    const n = p.int(4);
    for (let i = 0; i < n; i++) s += alphabet[p.int(alphabet.length)];
    return s;
  };
  const names = [
    'bsn',
    'achternaam',
    'naam',
    'geboortedatum',
    'voornaam',
    'id',
    'datum',
    'x',
    'family',
    'birthDate',
    'value',
    'patient_name',
    'tussenvoegsel',
  ];
  const eol = (): string => p.pick(['\n', '\n', '\n', '\r\n', '\r']);
  const parts: string[] = [];
  const records = 1 + p.int(40);
  switch (format) {
    case 'csv':
    case 'text': {
      const d = delimiter < 0 ? ' ' : String.fromCharCode(delimiter);
      const cols = 1 + p.int(6);
      if (p.chance(0.7))
        parts.push(Array.from({ length: cols }, () => (p.chance(0.3) ? `"${p.pick(names)}"` : p.pick(names))).join(d) + eol());
      for (let r = 0; r < records; r++) {
        const cells = Array.from({ length: cols + p.int(2) - p.int(2) }, () => {
          const v = value();
          if (p.chance(0.2)) return `"${v.replace(/"/g, '""')}${p.chance(0.2) ? '\n' + value() : ''}${p.chance(0.1) ? '""x""' : ''}"`;
          return v;
        });
        parts.push(cells.join(d) + noise(`"${d}\r\n0123 -/.`) + eol());
      }
      break;
    }
    case 'json':
    case 'ndjson': {
      const obj = (depth: number): string => {
        const n = p.int(5);
        const kv: string[] = [];
        for (let i = 0; i < n; i++) {
          const r = p.int(10);
          const v =
            depth < 3 && r === 0
              ? obj(depth + 1)
              : depth < 3 && r === 1
                ? `[${Array.from({ length: p.int(4) }, () => (p.chance(0.5) ? obj(depth + 1) : JSON.stringify(value()))).join(',')}]`
                : r < 5
                  ? JSON.stringify(value())
                  : r < 7 && /^\d+$/.test(value())
                    ? value()
                    : JSON.stringify(value() + (p.chance(0.1) ? '\\"' : ''));
          kv.push(`${JSON.stringify(p.pick(names))}:${p.chance(0.2) ? ' ' : ''}${v}`);
        }
        return `{${kv.join(p.chance(0.3) ? ',\n  ' : ',')}}`;
      };
      const items = Array.from({ length: records }, () => obj(0) + noise('{}[]",:\\\n0 '));
      if (format === 'ndjson' || p.chance(0.3)) parts.push(items.join(eol()) + eol());
      else if (p.chance(0.5)) parts.push(`[${items.join(',\n')}]`);
      else parts.push(`{"meta":[{"a":1},{"b":"${value()}"}],"data":{"patients":[${items.join(',')}]}}`);
      break;
    }
    case 'sql': {
      const cols = Array.from({ length: 1 + p.int(5) }, () => p.pick(names));
      for (let r = 0; r < 1 + p.int(4); r++) {
        const kind = p.int(4);
        const q = (v: string): string => (p.chance(0.6) ? `'${v.replace(/'/g, p.chance(0.5) ? "''" : "\\'")}'` : v);
        if (kind === 0) {
          const head = p.chance(0.5) ? `INSERT INTO p (${cols.join(', ')}) VALUES` : `insert into \`p\` values`;
          const tuples = Array.from(
            { length: 1 + p.int(8) },
            () => `(${Array.from({ length: cols.length }, () => q(value())).join(', ')}${noise("(),'\\")})`,
          );
          parts.push(`${head}${p.pick([' ', '\n'])}${tuples.join(p.pick([',', ',\n']))}${p.pick([';', ';\n', '\n;\n', ''])}${eol()}`);
        } else if (kind === 1) {
          parts.push(`COPY public.p (${cols.join(', ')}) FROM stdin;\n`);
          for (let i = 0; i < records; i++) parts.push(Array.from({ length: cols.length }, value).join('\t') + noise('\t\\;(') + eol());
          if (p.chance(0.8)) parts.push('\\.\n');
        } else if (kind === 2) parts.push(`-- ${value()} ${value()}${eol()}CREATE TABLE p (${cols.join(' text, ')} text);${eol()}`);
        else for (let i = 0; i < records; i++) parts.push(Array.from({ length: cols.length }, value).join('\t') + eol());
      }
      break;
    }
    case 'xml': {
      const el = (depth: number): string => {
        const name = p.pick(names);
        const attr = p.chance(0.3)
          ? ` ${p.pick(['id', 'value', 'bsn', 'achternaam'])}=${p.chance(0.5) ? '"' : "'"}${value().replace(/["'<&]/g, '')}${p.chance(0.5) ? '"' : "'"}`
          : '';
        if (p.chance(0.15)) return `<${name}${attr}/>`;
        const inner =
          depth < 3 && p.chance(0.5)
            ? Array.from({ length: 1 + p.int(4) }, () => el(depth + 1)).join(p.chance(0.5) ? '\n' : '')
            : p.chance(0.1)
              ? `<!-- ${value()} -->`
              : p.chance(0.1)
                ? `<![CDATA[${value()}]]>`
                : value().replace(/[<&]/g, '');
        return `<${name}${attr}>${inner}</${name}>${noise('<>="\'/\n')}`;
      };
      parts.push(p.chance(0.5) ? '<?xml version="1.0"?>\n' : '', p.chance(0.2) ? '<!DOCTYPE x>\n' : '', '<root>\n');
      for (let r = 0; r < records; r++) parts.push(`<patient>${el(1)}${el(1)}</patient>${eol()}`);
      if (p.chance(0.8)) parts.push('</root>\n');
      break;
    }
    case 'hl7': {
      for (let r = 0; r < records; r++) {
        const frame = p.chance(0.2);
        parts.push(`${frame ? '\x0b' : ''}MSH|^~\\&|LAB|${value()}${eol()}`);
        const fields = Array.from({ length: 9 }, (_, i) =>
          i === 3 || i === 5 || i === 7 || p.chance(0.3)
            ? `${value()}${p.chance(0.3) ? `^${value()}` : ''}${p.chance(0.2) ? `&${value()}` : ''}${p.chance(0.1) ? `~${value()}` : ''}`
            : '',
        );
        parts.push(`PID|${fields.join('|')}${noise('|^&~\r\n')}${eol()}`);
        if (p.chance(0.5)) parts.push(`OBX|1|ST|${value()}||${value()}${eol()}`);
        if (frame) parts.push('\x1c\r');
      }
      break;
    }
  }
  let out = Buffer.from(parts.join(''), 'utf8');
  if (p.chance(0.2)) {
    // Broken UTF-8 and stray bytes somewhere.
    const at = p.int(out.length + 1);
    out = Buffer.concat([out.subarray(0, at), p.pick(BROKEN), out.subarray(at)]);
  }
  return out;
}

/** Whole-file check and timing on the bench files (made by `labvault bench leak`), when present: run by hand. */
const DUMP = '/tmp/dump';
const BENCH: [string, LeakFormat, number][] = [
  ['export.csv', 'csv', 0x3b],
  ['patients.ndjson', 'ndjson', -1],
  ['dump.sql', 'sql', -1],
  ['copy.sql', 'sql', -1],
  ['berichten.hl7', 'hl7', -1],
  ['records.xml', 'xml', -1],
  ['app.log', 'text', -1],
];
const fromFile = (file: string): { read: Read; close: () => void } => {
  const fd = openSync(file, 'r');
  return { read: (buf, at, len) => readSync(fd, buf, at, len, null), close: () => closeSync(fd) };
};

// By hand only (not registered otherwise): LEAK_EXTRACT_BENCH=1 with the bench dump in /tmp/dump.
if (native && existsSync(`${DUMP}/export.csv`) && process.env.LEAK_EXTRACT_BENCH === '1')
  describe('bench files in /tmp/dump (LEAK_EXTRACT_BENCH=1)', () => {
    it.each(BENCH)('%s: equal, chunk by chunk with a 4 MiB buffer; then timed', (name, format, delimiter) => {
      const file = `${DUMP}/${name}`;
      if (!existsSync(file)) return;
      const f = fromFile(file);
      try {
        drive(f.read, { format, delimiter, size: 4 << 20 }, name);
      } finally {
        f.close();
      }
      const time = (only: 'js' | 'native'): number => {
        let best = Infinity;
        for (let r = 0; r < 3; r++) {
          const g = fromFile(file);
          const t0 = process.hrtime.bigint();
          drive(g.read, { format, delimiter, size: 4 << 20, only }, name);
          best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
          g.close();
        }
        return best;
      };
      const js = time('js');
      const nat = time('native');
      const mb = statSync(file).size / 1e6;
      console.log(
        `${name}: ${mb.toFixed(0)} MB; JS ${js.toFixed(2)} s (${(mb / js).toFixed(0)} MB/s), native ${nat.toFixed(2)} s (${(mb / nat).toFixed(0)} MB/s), ${(js / nat).toFixed(1)}x`,
      );
    });
  });

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nameBirthDateKey } from '../crypto/blind-index.js';
import { Prng } from '../synth/prng.js';
import type { scanLeak as scanLeakType } from './scan-leak.js';
import type { LeakScanResult, MatcherSpec } from './scan-types.js';
import type { ScanWorkers as ScanWorkersType } from './scan-workers.js';
import { randomPerson, writeSyntheticLeak, type SyntheticPerson } from './synthetic-leak.js';

/**
 * The built scanner (dist/, compiled by the test suite's global setup) on real worker threads:
 * the same answer with one worker and with several, and every planted person found by BSN in
 * every format. The sources run the same code in one thread (scan-leak.test.ts).
 */
const DIST = new URL('../../dist/leak/', import.meta.url);
type ScanLeak = { scanLeak: typeof scanLeakType };

describe.runIf(existsSync(fileURLToPath(new URL('scan-worker.js', DIST))))('scanLeak on worker threads', () => {
  let dir: string;
  let planted: SyntheticPerson[];
  let scanLeak: typeof scanLeakType;
  let ScanWorkers: typeof ScanWorkersType;
  let matcher: MatcherSpec;
  let one: LeakScanResult;
  let all: LeakScanResult;

  beforeAll(async () => {
    ({ scanLeak } = (await import(new URL('scan-leak.js', DIST).href)) as ScanLeak);
    ({ ScanWorkers } = (await import(new URL('scan-workers.js', DIST).href)) as { ScanWorkers: typeof ScanWorkersType });
    dir = await mkdtemp(path.join(os.tmpdir(), 'lv-workers-'));
    const prng = new Prng(31);
    planted = Array.from({ length: 25 }, () => randomPerson(prng));
    await writeSyntheticLeak({ dir, bytes: 4_000_000, seed: 5, planted, population: 3000 });
    matcher = {
      module: new URL('test-matcher.js', DIST).href,
      data: {
        bsnLines: planted.map((p) => p.bsn).join('\n'),
        keyLines: planted.map((p) => nameBirthDateKey(p.family, p.birthDate)).join('\n'),
      },
    };
    // Small ranges: the plain files are split, so several workers share each of them.
    one = await scanLeak({ paths: [dir], matcher, workers: 1, rangeBytes: 128 << 10 });
    all = await scanLeak({ paths: [dir], matcher, workers: 3, rangeBytes: 128 << 10 });
  }, 120_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the same result with one worker and with several', () => {
    const strip = (r: LeakScanResult): LeakScanResult => ({ ...r, seconds: 0 });
    expect(strip(all)).toEqual(strip(one));
    expect(one.hits.length).toBeGreaterThan(0);
  });

  it('joins ranges that start mid-record on worker threads too: one worker over whole files, three over 4 KB ranges', async () => {
    const quoted = path.join(dir, '..', `${path.basename(dir)}-quoted`);
    await mkdir(quoted, { recursive: true });
    try {
      const rows = ['opmerking;bsn;achternaam;geboortedatum'];
      const tuples: string[] = [];
      planted.forEach((p, i) => {
        const [y, m, d] = p.birthDate.split('-');
        for (let k = 0; k < 20; k++) {
          rows.push(`"regel een\nregel; ${i}-${k}";${k === 0 ? p.bsn : '000000000'};${p.family};${d}-${m}-${y}`);
          tuples.push(`('notitie\nregel ${i}', '${p.bsn}', '${p.family}', '${p.birthDate}')`);
        }
      });
      await writeFile(path.join(quoted, 'notes.csv'), rows.join('\r\n'));
      await writeFile(
        path.join(quoted, 'notes.sql'),
        `INSERT INTO p (opmerking, bsn, achternaam, geboortedatum) VALUES\n${tuples.join(',\n')};\n`,
      );
      const matcher = {
        module: new URL('test-matcher.js', DIST).href,
        data: {
          bsnLines: planted.map((p) => p.bsn).join('\n'),
          keyLines: planted.map((p) => nameBirthDateKey(p.family, p.birthDate)).join('\n'),
        },
      };
      const whole = await scanLeak({ paths: [quoted], matcher, workers: 1 });
      const split = await scanLeak({ paths: [quoted], matcher, workers: 3, rangeBytes: 4096 });
      expect({ ...split, seconds: 0 }).toEqual({ ...whole, seconds: 0 });
      // Every planted person by name + birth date in both files, 20 times each.
      for (const f of ['notes.csv', 'notes.sql']) {
        const byName = whole.hits.records().filter((h) => h.file.endsWith(f) && h.kind === 'name-date');
        expect(new Set(byName.map((h) => h.patient)).size, f).toBe(planted.length);
      }
    } finally {
      await rm(quoted, { recursive: true, force: true });
    }
  });

  it('scans on workers started before the matcher is known, rejoined ranges included, as on workers of its own', async () => {
    const pool = new ScanWorkers(3);
    try {
      // The workers start now; the matcher comes with the scan (leak-scan.ts loads the indexes meanwhile).
      await new Promise((r) => setTimeout(r, 50));
      const early = await scanLeak({ paths: [dir], matcher, rangeBytes: 128 << 10, started: pool });
      expect({ ...early, seconds: 0 }).toEqual({ ...all, seconds: 0 });
      // A second run on the same workers is refused: they have their matcher and scan one run at a time.
      const units = Promise.resolve([]);
      const first = pool.runUnits(
        units,
        () => undefined,
        () => undefined,
      );
      await expect(
        pool.runUnits(
          units,
          () => undefined,
          () => undefined,
        ),
      ).rejects.toThrow(/one run at a time/);
      await first;
    } finally {
      await pool.close();
    }
  });

  it('fails the scan when a progress callback throws, instead of losing the error in a worker listener', async () => {
    const pool = new ScanWorkers(2);
    try {
      const onProgress = (): void => {
        throw new Error('progress display failed');
      };
      await expect(scanLeak({ paths: [dir], matcher, started: pool, onProgress })).rejects.toThrow('progress display failed');
    } finally {
      await pool.close();
    }
  });

  it('fails the scan with one line when started workers cannot load the matcher, and closes them', async () => {
    const pool = new ScanWorkers(2);
    try {
      const broken = { module: new URL('no-such-matcher.js', DIST).href, data: {} };
      await expect(scanLeak({ paths: [dir], matcher: broken, started: pool })).rejects.toThrow(/^leak scan failed: /);
    } finally {
      await pool.close();
    }
  });

  it('keeps a coded error a worker raises: an integrity violation there is one here, not invalid input', async () => {
    const pool = new ScanWorkers(2);
    try {
      const failing = { module: new URL('../../test/support/integrity-matcher.mjs', import.meta.url).href, data: {} };
      const err = (await scanLeak({ paths: [dir], matcher: failing, started: pool }).then(
        () => null,
        (e: unknown) => e,
      )) as { code?: string; name?: string; message?: string } | null;
      expect(err?.code).toBe('integrity-violation');
      expect(err?.name).toBe('IntegrityViolation');
      expect(err?.message).toBe('leak scan failed: leak scan: the native blind-index PRF disagrees with node:crypto');
    } finally {
      await pool.close();
    }
  });

  it('finds every planted person by BSN in every file, and no one else', () => {
    const files = new Set(all.hits.records().map((h) => h.file));
    expect(files.size).toBe(9);
    for (const f of files) {
      const found = new Set(
        all.hits
          .records()
          .filter((h) => h.file === f && h.kind === 'bsn')
          .map((h) => h.patient),
      );
      expect(found.size, f).toBe(planted.length);
    }
    for (const h of all.hits.records()) expect(h.patient).toBeLessThan(planted.length);
    expect(all.skipped).toEqual([]);
  });
});

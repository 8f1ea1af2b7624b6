import { spawn } from 'node:child_process';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { BSN_SYSTEM } from '../domain/bsn.js';
import { TENANT_TAG_SYSTEM } from '../domain/tenant.js';
import { readLines } from '../services/ingest-files.js';
import { Prng } from '../synth/prng.js';
import { BenchFailed } from './bench-failed.js';
import { openLabVault } from './lab-vault.js';
import { leakScanProcess } from './leak-scan-process.js';
import { decoyPeople, writeLeakDump, type DumpPerson } from './leak-dump.js';

/**
 * `labvault bench leak`: a fresh vault with a synthetic lab; a mixed-format dump of about the
 * requested size in which a tenth of the lab's people are planted among decoys (valid BSNs and
 * name + birth date pairs of nobody in the vault); `labvault leak scan` over it as a process of
 * its own, as an operator runs it (blind indexes, workers, --details); recall and precision
 * against the planted patients; and, in
 * the same run over the same files, `grep -F -f` with the lab's BSNs — the plaintext list exists
 * only for this synthetic data, in the benchmark's temporary directory, removed at the end.
 */
export interface LeakBenchResult {
  bytes: number;
  seconds: number;
  gb_per_s: number;
  grep_seconds: number;
  grep_gb_per_s: number;
  speedup: number;
  /** The same scan with the TypeScript reference engine, in the same run (same report, or the bench fails). */
  js_seconds: number;
  js_gb_per_s: number;
  recall: number;
  precision: number;
  patients: number;
  planted_people: number;
  expected_patients: number;
  matched_patients: number;
  grep_patterns: number;
  workers: number;
  unmatched_valid_bsn: number;
  /** Peak resident memory of the `leak scan` process (getrusage maxrss, its workers included). */
  peak_rss_mb: number;
  /** Peak of this process: the lab's generation and ingest, and the TypeScript engine's scan. */
  bench_peak_rss_mb: number;
}

export async function benchLeak(opts: { gb: number; patients: number; log?: (s: string) => void }): Promise<LeakBenchResult> {
  const log = opts.log ?? (() => undefined);
  const people = new Map<string, DumpPerson>();
  const patientsOf = new Map<string, string[]>();
  const lab = await openLabVault({
    prefix: 'labvault-bench-leak-',
    patients: opts.patients,
    log,
    readLab: async (labDir) => {
      for await (const l of readLines(path.join(labDir, 'Patient.ndjson'))) {
        const p = JSON.parse(l.text) as FhirPatient;
        const bsn = p.identifier?.find((i) => i.system === BSN_SYSTEM)?.value;
        const tenant = p.meta?.tag?.find((t) => t.system === TENANT_TAG_SYSTEM)?.code;
        if (!bsn || !tenant) continue;
        (patientsOf.get(bsn) ?? patientsOf.set(bsn, []).get(bsn))?.push(`${tenant}/${p.id}`);
        if (!people.has(bsn)) people.set(bsn, dumpPerson(p, bsn));
      }
    },
  });
  const { vault, work } = lab;
  try {
    const dumpDir = path.join(work, 'dump');
    const ids = path.join(work, 'bsns.txt');
    // What is needed after the scan is kept; the lab's people are let go before it, so the scan runs
    // in a heap like the command's own (with 485,000 people held, this process's garbage collection
    // took CPU from the workers and the scan ran 0.9 s slower than `leak scan` of the same dump).
    const { dump, planted, expected, grepPatterns } = await writeDump(people, patientsOf, dumpDir, ids, opts.gb, log);
    people.clear();
    patientsOf.clear();

    log('scanning it (labvault leak scan, a process of its own)…');
    const details = path.join(work, 'details.ndjson');
    const { report: r, peakRssMb: scanPeakRssMb } = await leakScanProcess({ dataDir: lab.dataDir, paths: [dumpDir], details });
    log('scanning it again with the TypeScript engine…');
    const js = await vault.leaks.scan(lab.operator, [dumpDir], { engine: 'js' });
    if (JSON.stringify({ ...js, seconds: 0, gb_per_s: 0 }) !== JSON.stringify({ ...r, seconds: 0, gb_per_s: 0 }))
      throw new BenchFailed('the native and the TypeScript scan engines reported different results');
    const found = new Set<string>();
    for (const line of (await readFile(details, 'utf8')).split('\n'))
      if (line !== '') {
        const d = JSON.parse(line) as { tenant: string; patient: string; canary?: string };
        if (!d.canary) found.add(`${d.tenant}/${d.patient}`);
      }
    const hit = [...found].filter((x) => expected.has(x)).length;

    log(`grep -F -f with the lab's ${grepPatterns} BSNs over the same files…`);
    const grepSeconds = await timeGrep(ids, dump.files);
    const seconds = Math.max(r.seconds, 1e-9);
    return {
      bytes: r.bytes,
      seconds: r.seconds,
      gb_per_s: round(r.bytes / 1e9 / seconds),
      grep_seconds: round(grepSeconds),
      grep_gb_per_s: round(dump.bytes / 1e9 / grepSeconds),
      speedup: round(r.bytes / seconds / (dump.bytes / grepSeconds)),
      js_seconds: round(js.seconds),
      js_gb_per_s: round(js.bytes / 1e9 / Math.max(js.seconds, 1e-9)),
      recall: round(expected.size === 0 ? 1 : hit / expected.size, 6),
      precision: round(found.size === 0 ? 1 : hit / found.size, 6),
      patients: opts.patients,
      planted_people: planted,
      expected_patients: expected.size,
      matched_patients: found.size,
      grep_patterns: grepPatterns,
      workers: availableParallelism(),
      unmatched_valid_bsn: r.unmatched_valid_bsn,
      peak_rss_mb: scanPeakRssMb,
      bench_peak_rss_mb: lab.peakRssMb(),
    };
  } finally {
    await lab.close();
  }
}

/**
 * The dump (a tenth of the lab's people planted among decoys), the patients a scan must find, and
 * grep's pattern file (the lab's BSNs, in the benchmark's temporary directory only).
 */
async function writeDump(
  people: ReadonlyMap<string, DumpPerson>,
  patientsOf: ReadonlyMap<string, string[]>,
  dumpDir: string,
  ids: string,
  gb: number,
  log: (s: string) => void,
): Promise<{ dump: { files: string[]; bytes: number }; planted: number; expected: Set<string>; grepPatterns: number }> {
  const prng = new Prng(11);
  const planted = [...people.values()].filter(() => prng.chance(0.1));
  const decoys = decoyPeople(Math.ceil(planted.length / 2), new Set(people.keys()), prng);
  await mkdir(dumpDir, { mode: 0o700 });
  log(`writing a ${gb} GB dump: ${planted.length} planted people among ${decoys.length} decoys…`);
  const dump = await writeLeakDump(dumpDir, [...planted, ...decoys], gb * 1e9, prng);
  // On disk before the scan, as a leaked dump is: otherwise the kernel writes the gigabyte back
  // while the scan runs, on the same two cores.
  for (const f of dump.files) {
    const fh = await open(f, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  await writeFile(ids, `${[...people.keys()].join('\n')}\n`, { mode: 0o600 });
  const expected = new Set(planted.flatMap((p) => patientsOf.get(p.bsn) ?? []));
  return { dump, planted: planted.length, expected, grepPatterns: people.size };
}

interface FhirPatient {
  id: string;
  meta?: { tag?: { system?: string; code?: string }[] };
  identifier?: { system?: string; value?: string }[];
  name?: { family?: string; given?: string[] }[];
  birthDate?: string;
  address?: { line?: string[]; postalCode?: string; city?: string }[];
  telecom?: { system?: string; value?: string }[];
}

function dumpPerson(p: FhirPatient, bsn: string): DumpPerson {
  const a = p.address?.[0];
  return {
    bsn,
    given: p.name?.[0]?.given?.[0] ?? '',
    family: p.name?.[0]?.family ?? '',
    birthDate: p.birthDate ?? '',
    street: a?.line?.[0] ?? '',
    postcode: a?.postalCode ?? '',
    city: a?.city ?? '',
    phone: p.telecom?.find((t) => t.system === 'phone')?.value ?? '',
  };
}

/**
 * `grep -F -c -f ids files…`: counts only, so grep's own output costs nothing. Its stdout is a
 * pipe, not /dev/null: GNU grep stops at the first match when its output goes to /dev/null.
 */
function timeGrep(ids: string, files: readonly string[]): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('grep', ['-F', '-c', '-f', ids, ...files], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    child.stdout.resume();
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 && code !== 1) reject(new BenchFailed(`grep failed (${String(code)}): ${err.trim().split('\n')[0] ?? ''}`));
      else resolve((performance.now() - started) / 1000);
    });
  });
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

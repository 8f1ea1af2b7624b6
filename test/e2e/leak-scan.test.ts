import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decoyPeople, writeLeakDump, type DumpPerson } from '../../src/bench/leak-dump.js';
import { BSN_SYSTEM } from '../../src/domain/bsn.js';
import { operatorContext } from '../../src/domain/principal.js';
import { TENANT_TAG_SYSTEM } from '../../src/domain/tenant.js';
import { Prng } from '../../src/synth/prng.js';
import { generateSyntheticLab } from '../../src/synth/generator.js';
import { CTX } from '../support/context.js';
import { runCli } from '../support/cli.js';
import { tempVault, type TempVault } from '../support/temp-vault.js';

/**
 * `leak scan` against a real vault: the planted patients of a mixed-format dump are found per
 * controller through the blind indexes (recall and precision 1), decoys never match, a canary in
 * the dump names its copy, the details file holds pseudonymous ids only, the result is the same
 * for one worker and for all, and `--incident` makes the matches the incident's in-leaked-data
 * cohort.
 */
const OP = operatorContext('officer', 'leak-test');

describe('labvault leak scan', () => {
  let t: TempVault;
  let dir: string;
  let dump: string;
  const people = new Map<string, DumpPerson>();
  const patientsOf = new Map<string, string[]>();
  let planted: DumpPerson[];
  let canaryBsn: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lv-leak-'));
    t = await tempVault({ env: { LABVAULT_DETECTION_MODE: 'off' } });
    const lab = path.join(dir, 'lab');
    await generateSyntheticLab({ patients: 400, seed: 3, outDir: lab });
    await t.vault.ingest.ingest(CTX, [lab], { worker: false });
    for (const line of (await readFile(path.join(lab, 'Patient.ndjson'), 'utf8')).split('\n').filter((l) => l !== '')) {
      const p = JSON.parse(line) as {
        id: string;
        meta: { tag: { system: string; code: string }[] };
        identifier: { system: string; value: string }[];
        name: { family: string; given: string[] }[];
        birthDate: string;
        address: { line: string[]; postalCode: string; city: string }[];
      };
      const bsn = p.identifier.find((i) => i.system === BSN_SYSTEM)?.value as string;
      const tenant = p.meta.tag.find((x) => x.system === TENANT_TAG_SYSTEM)?.code as string;
      (patientsOf.get(bsn) ?? patientsOf.set(bsn, []).get(bsn))?.push(`${tenant}/${p.id}`);
      people.set(bsn, {
        bsn,
        given: p.name[0]?.given[0] ?? '',
        family: p.name[0]?.family ?? '',
        birthDate: p.birthDate,
        street: p.address[0]?.line[0] ?? '',
        postcode: p.address[0]?.postalCode ?? '',
        city: p.address[0]?.city ?? '',
        phone: '0612345678',
      });
    }
    await t.vault.canaries.plantTenant(OP, 'screening', 3);
    const sets = await t.vault.canaries.unsealedSets('screening');
    canaryBsn = sets[0]?.patients[0]?.bsn as string;
    const prng = new Prng(5);
    planted = [...people.values()].filter(() => prng.chance(0.2));
    dump = path.join(dir, 'dump');
    await mkdir(dump);
    await writeLeakDump(dump, [...planted, ...decoyPeople(40, new Set(people.keys()), prng)], 600_000, prng);
    // Compressed copies and a canary line: read transparently, attributed to its copy.
    const sub = path.join(dump, 'more');
    await mkdir(sub);
    await writeFile(path.join(sub, 'canary.log.gz'), gzipSync(`2025-07-01 export row bsn ${canaryBsn}\n`));
    execFileSync('zip', ['-q', '-j', path.join(sub, 'csv.zip'), path.join(dump, 'export.csv')]);
  });
  afterAll(async () => {
    await t.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('finds every planted patient per controller and nobody else; a canary names its copy', async () => {
    const details = path.join(dir, 'details.ndjson');
    const r = await t.vault.leaks.scan(OP, [dump], { details, workers: 2 });
    const found = new Set<string>();
    const lines = (await readFile(details, 'utf8')).split('\n').filter((l) => l !== '');
    const locations = new Set<string>();
    const evidence = new Map<string, number>();
    for (const l of lines) {
      const d = JSON.parse(l) as { tenant: string; patient: string; file: string; line: number; evidence: string[]; canary?: string };
      expect(Object.keys(d).sort()).toEqual(
        d.canary ? ['canary', 'evidence', 'file', 'line', 'patient', 'tenant'] : ['evidence', 'file', 'line', 'patient', 'tenant'],
      );
      expect(d.line).toBeGreaterThan(0);
      // One line per patient and location, naming what was found there.
      const at = `${d.tenant}/${d.patient}@${d.file}:${d.line}`;
      expect(locations.has(at), at).toBe(false);
      locations.add(at);
      expect([['bsn'], ['name-date'], ['bsn', 'name-date']]).toContainEqual(d.evidence);
      evidence.set(d.evidence.join('+'), (evidence.get(d.evidence.join('+')) ?? 0) + 1);
      if (!d.canary) found.add(`${d.tenant}/${d.patient}`);
    }
    // The dump's records hold a BSN with the name and birth date, and some formats only the one or the other.
    expect(evidence.get('bsn+name-date')).toBeGreaterThan(0);
    const expected = new Set(planted.flatMap((p) => patientsOf.get(p.bsn) ?? []));
    expect([...found].sort()).toEqual([...expected].sort());
    expect(r.matched.patients).toBe(expected.size);
    const byTenant: Record<string, number> = {};
    for (const x of expected) byTenant[x.split('/')[0] as string] = (byTenant[x.split('/')[0] as string] ?? 0) + 1;
    expect(r.matched.by_tenant).toEqual(Object.fromEntries(Object.entries(byTenant).sort()));
    expect(r.canaries).toEqual([expect.objectContaining({ tenant: 'screening', copy_kind: 'tenant', patients: 1 })]);
    // A canary's locations are its lines in the details file.
    expect(r.canaries[0]?.locations).toBe(lines.filter((l) => l.includes('"canary":')).length);
    expect(r.unmatched_valid_bsn).toBe(40);
    expect(r.skipped).toEqual([]);
    expect(r.categories.screening).toEqual(expect.arrayContaining(['names', 'addresses', 'birth-dates', 'national-id']));
    // Pseudonymous ids and locations only: no BSN, no name of the vault in the details file.
    const text = await readFile(details, 'utf8');
    for (const p of planted.slice(0, 50)) {
      expect(text).not.toContain(p.bsn);
      expect(text).not.toContain(p.family);
    }
    expect((await stat(details)).mode & 0o777).toBe(0o600);
    // An existing details file is refused before the scan, in one line, and left as it was.
    await expect(t.vault.leaks.scan(OP, [dump], { details })).rejects.toThrow(
      /^leak scan: the details file already exists, not overwritten: details\.ndjson$/,
    );
    expect(await readFile(details, 'utf8')).toBe(text);
  });

  it('gives the same result with one worker', async () => {
    const a = await t.vault.leaks.scan(OP, [dump], { workers: 1 });
    const b = await t.vault.leaks.scan(OP, [dump], { workers: 2 });
    expect({ ...a, seconds: 0, gb_per_s: 0 }).toEqual({ ...b, seconds: 0, gb_per_s: 0 });
  });

  it('feeds an incident’s in-leaked-data cohort, which its scope and letters then use', async () => {
    const i = await t.vault.incidents.open(OP, { title: 'dump published', types: ['confidentiality'], tenants: ['screening'] });
    await t.vault.leaks.scan(OP, [path.join(dump, 'export.csv')], { incident: i.id });
    const s = await t.vault.incidents.scope(OP, i.id, { leaked: true });
    const screening = s.tenants.find((x) => x.tenant === 'screening');
    const expected = planted
      .flatMap((p) => patientsOf.get(p.bsn) ?? [])
      .filter((x) => x.startsWith('screening/'))
      .map((x) => x.slice(10));
    expect(screening?.cohorts.inLeakedData).toEqual([...new Set(expected)].sort());
    expect(screening?.cohorts.accessedConfirmed).toEqual([]);
  });

  it('answers on the CLI with CLI.md’s JSON, and refuses a missing path in one line', async () => {
    const env = { LABVAULT_DATA_DIR: t.config.dataDir };
    const r = await runCli(['leak', 'scan', path.join(dump, 'app.log'), '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(j)).toEqual(
      expect.arrayContaining(['bytes', 'seconds', 'gb_per_s', 'candidates', 'matched', 'canaries', 'unmatched_valid_bsn']),
    );
    const bad = await runCli(['leak', 'scan', path.join(dir, 'nope'), '--json'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('labvault bench leak', () => {
  it('finds every planted patient and no one else, with both engines agreeing and grep timed on the same files', async () => {
    const r = await runCli(['bench', 'leak', '--gb', '0.02', '--patients', '1500', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const b = JSON.parse(r.stdout) as Record<string, number>;
    expect(b.recall).toBe(1);
    expect(b.precision).toBe(1);
    expect(b.expected_patients).toBeGreaterThan(0);
    expect(b.matched_patients).toBe(b.expected_patients);
    expect(b.grep_patterns).toBeGreaterThan(1000);
    expect(b.bytes).toBeGreaterThan(15_000_000);
    expect(b.gb_per_s).toBeGreaterThan(0);
    expect(b.grep_gb_per_s).toBeGreaterThan(0);
    expect(b.unmatched_valid_bsn).toBeGreaterThan(0);
    // The scan ran as a process of its own, which reported its peak memory (the bench's is apart).
    expect(b.peak_rss_mb).toBeGreaterThan(30);
    expect(b.bench_peak_rss_mb).toBeGreaterThan(30);
  }, 180_000);
});

import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYRING_FILE } from '../../src/keys/local-keyring.js';
import { generateSyntheticLab } from '../../src/synth/generator.js';
import { runCli, type CliResult } from '../support/cli.js';
import { patient, serviceRequest, testTenant } from '../support/fhir-builders.js';

/**
 * The command-line contract of ../shared/docs/CLI.md, checked against the built binary: exit codes
 * (0 ok, 1 work ran but found a problem, 2 usage/configuration), `--json` prints exactly one JSON
 * document on stdout, errors are one line on stderr without a stack trace and without identifiers.
 */
const SYNTH_TENANTS = ['screening', 'hospital-west', 'hospital-south', 'gp-network', 'private-clinic'];
const STACK_FRAME = /^\s+at\s/m;

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'lv-cli-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** stdout is exactly one JSON document (one line, nothing else) and returns it parsed. */
function oneJson(r: CliResult): Record<string, unknown> {
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  expect(lines, `stdout: ${r.stdout}`).toHaveLength(1);
  const doc = JSON.parse(r.stdout) as unknown;
  expect(doc).toBeTypeOf('object');
  expect(doc).not.toBeNull();
  expect(Array.isArray(doc)).toBe(false);
  return doc as Record<string, unknown>;
}

/** A usage/configuration failure: exit 2, nothing on stdout, exactly one stderr line, no stack. */
function expectOneLineFailure(r: CliResult, code: number): string {
  expect(r.code, `stderr: ${r.stderr}`).toBe(code);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines, `stderr: ${r.stderr}`).toHaveLength(1);
  expect(r.stderr).not.toMatch(STACK_FRAME);
  return lines[0]!;
}

describe('synth', () => {
  it('--json prints exactly one JSON document with patients, resources, files and tenants', async () => {
    const out = path.join(work, 'synth');
    const r = await runCli(['synth', '--patients', '25', '--seed', '3', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = oneJson(r);
    expect(doc.patients).toBe(25);
    expect(doc.tenants).toEqual(SYNTH_TENANTS);
    const files = doc.files as string[];
    expect(files.map((f) => path.basename(f)).sort()).toEqual(
      [
        'tenants.json',
        'Patient.ndjson',
        'ServiceRequest.ndjson',
        'Specimen.ndjson',
        'Observation.ndjson',
        'DiagnosticReport.ndjson',
      ].sort(),
    );
    let lines = 0;
    for (const f of files.filter((x) => x.endsWith('.ndjson')))
      lines += (await readFile(f, 'utf8')).split('\n').filter((l) => l.trim() !== '').length;
    expect(doc.resources).toBe(lines);
  });
});

describe('ingest of bad input', () => {
  const BAD_BSN = '123456789'; // fails the 11-proof
  const FAMILY = 'Kwakernaakstra';
  let dataDir: string;
  let input: string;
  beforeAll(async () => {
    dataDir = path.join(work, 'bad-data');
    const dir = path.join(work, 'bad-in');
    await mkdir(dir);
    await writeFile(path.join(dir, 'tenants.json'), JSON.stringify([testTenant('screening')]));
    input = path.join(dir, 'bad.ndjson');
    await writeFile(
      input,
      [
        JSON.stringify(patient('screening', 'p1', '123456782', FAMILY)), // 1 ok
        '{"resourceType": "Patient", "id": ', // 2 malformed JSON
        JSON.stringify(patient('screening', 'p-bad-bsn', BAD_BSN, FAMILY)), // 3 invalid BSN
        JSON.stringify(patient('nowhere', 'p-unknown-tenant', '111222333', FAMILY)), // 4 unknown tenant
        JSON.stringify(serviceRequest('screening', 'sr-dangling', 'p-missing')), // 5 dangling reference
      ].join('\n') + '\n',
    );
    expect((await runCli(['--data-dir', dataDir, 'init'])).code).toBe(0);
  });

  it('--json: exit 1, one JSON document with ingested/rejected/errors/seconds, no identifier anywhere', async () => {
    const r = await runCli(['--data-dir', dataDir, 'ingest', path.dirname(input), '--json']);
    expect(r.code, r.stderr).toBe(1);
    const doc = oneJson(r);
    expect(doc.ingested).toMatchObject({ Patient: 1 });
    expect(doc.rejected).toBe(4);
    expect(doc.seconds).toBeTypeOf('number');
    const errors = doc.errors as { file: string; line: number; reason: string }[];
    expect(errors.map((e) => e.line).sort()).toEqual([2, 3, 4, 5]);
    for (const e of errors) {
      expect(e.file).toBe(input);
      expect(e.reason).toBeTypeOf('string');
      expect(e.reason.length).toBeGreaterThan(0);
    }
    expect(r.stderr).not.toMatch(STACK_FRAME);
    for (const secret of [BAD_BSN, '111222333', FAMILY]) {
      expect(r.stdout).not.toContain(secret);
      expect(r.stderr).not.toContain(secret);
    }
  });

  it('without --json: exit 1, errors on stderr with file:line, still no identifier', async () => {
    const r = await runCli(['--data-dir', dataDir, 'ingest', input]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    // p1 is already stored, so only the four bad lines are reported again.
    for (const line of [2, 3, 4, 5]) expect(r.stderr).toContain(`${input}:${line}:`);
    for (const secret of [BAD_BSN, '111222333', FAMILY]) {
      expect(r.stdout).not.toContain(secret);
      expect(r.stderr).not.toContain(secret);
    }
  });
});

// Independent of each other: run concurrently (each is one short-lived CLI process).
describe.concurrent('usage and configuration errors exit 2 with one line', () => {
  it('an unknown command', async () => {
    const r = await runCli(['frobnicate', '--json']);
    expectOneLineFailure(r, 2);
    expect(r.stdout).toBe('');
  });

  it('LABVAULT_KEY_PROVIDER=bogus names the setting', async () => {
    const r = await runCli(['--data-dir', path.join(work, 'never'), 'keys', 'status', '--json'], { LABVAULT_KEY_PROVIDER: 'bogus' });
    expect(expectOneLineFailure(r, 2)).toContain('LABVAULT_KEY_PROVIDER');
    expect(r.stdout).toBe('');
  });

  it('--key-provider bogus names the setting', async () => {
    const r = await runCli(['--data-dir', path.join(work, 'never'), '--key-provider', 'bogus', 'keys', 'status']);
    expect(expectOneLineFailure(r, 2)).toMatch(/key-provider/);
  });

  it('a command on an uninitialised data dir (missing, or empty) points to init and creates nothing', async () => {
    const missing = path.join(work, 'missing');
    const empty = path.join(work, 'empty');
    await mkdir(empty);
    const [r1, r2] = await Promise.all([
      runCli(['--data-dir', missing, 'keys', 'status', '--json']),
      runCli(['--data-dir', empty, 'ingest', path.join(work, 'never-written'), '--json']),
    ]);
    expect(expectOneLineFailure(r1, 2)).toMatch(/init/);
    expect(r1.stdout).toBe('');
    expect(expectOneLineFailure(r2, 2)).toMatch(/init/);
    expect(r2.stdout).toBe('');
    expect(await readdir(empty)).toEqual([]);
  });
});

describe('keys and patients on an initialised vault', () => {
  let dataDir: string;
  let lab: string;
  let patientsPerTenant: Map<string, number>;
  let erasable: { tenant: string; id: string };
  const cli = (...args: string[]) => runCli(['--data-dir', dataDir, ...args]);

  beforeAll(async () => {
    dataDir = path.join(work, 'vault');
    lab = path.join(work, 'lab');
    await generateSyntheticLab({ patients: 60, seed: 5, outDir: lab });
    expect((await cli('init')).code).toBe(0);
    const ing = await cli('ingest', lab, '--json');
    expect(ing.code, ing.stderr).toBe(0);
    patientsPerTenant = new Map();
    const rows = (await readFile(path.join(lab, 'Patient.ndjson'), 'utf8')).split('\n').filter((l) => l.trim() !== '');
    const all = rows.map((l) => {
      const p = JSON.parse(l) as { id: string; meta: { tag: { code: string }[] } };
      return { tenant: p.meta.tag[0]!.code, id: p.id };
    });
    for (const p of all) patientsPerTenant.set(p.tenant, (patientsPerTenant.get(p.tenant) ?? 0) + 1);
    erasable = all.find((p) => p.tenant === 'hospital-west') ?? all[0]!;
  });

  type Status = {
    key_provider: string;
    master_key_id: string;
    tenants: { tenant: string; versions: { version: number; state: string; patients: number }[] }[];
  };
  async function status(): Promise<Status> {
    const r = await cli('keys', 'status', '--json');
    expect(r.code, r.stderr).toBe(0);
    return oneJson(r) as unknown as Status;
  }

  it('keys status --json: every tenant has an active v1 wrapping all its patients', async () => {
    const s = await status();
    expect(s.key_provider).toBe('local');
    expect(s.tenants.map((t) => t.tenant).sort()).toEqual([...SYNTH_TENANTS].sort());
    for (const t of s.tenants) {
      expect(t.versions, t.tenant).toEqual([
        expect.objectContaining({ version: 1, state: 'active', patients: patientsPerTenant.get(t.tenant) ?? 0 }),
      ]);
    }
  });

  it('keys rotate --tenant screening --json: v2 active, v1 destroyed; other tenants untouched', async () => {
    const r = await cli('keys', 'rotate', '--tenant', 'screening', '--json');
    expect(r.code, r.stderr).toBe(0);
    const doc = oneJson(r);
    expect(doc).toMatchObject({ tenant: 'screening', to: 2, destroyed: [1], rewrapped: patientsPerTenant.get('screening') });
    const s = await status();
    const screening = s.tenants.find((t) => t.tenant === 'screening')!;
    expect(screening.versions).toEqual([
      expect.objectContaining({ version: 1, state: 'destroyed', patients: 0 }),
      expect.objectContaining({ version: 2, state: 'active', patients: patientsPerTenant.get('screening') }),
    ]);
    for (const t of s.tenants.filter((x) => x.tenant !== 'screening'))
      expect(t.versions.map((v) => [v.version, v.state])).toEqual([[1, 'active']]);
  });

  it('keys rotate of an unknown tenant fails with one line and rotates nothing', async () => {
    const r = await cli('keys', 'rotate', '--tenant', 'no-such-tenant', '--json');
    expect(r.code).not.toBe(0);
    expectOneLineFailure(r, r.code ?? -1);
    expect(r.stdout).toBe('');
  });

  it('patient erase, then patient show of that id exits 1 with one line "not found"', async () => {
    const before = await cli('patient', 'show', '--tenant', erasable.tenant, '--id', erasable.id);
    expect(before.code, before.stderr).toBe(0);
    expect((oneJson(before).patient as { id: string }).id).toBe(erasable.id);

    const erase = await cli('patient', 'erase', '--tenant', erasable.tenant, '--id', erasable.id);
    expect(erase.code, erase.stderr).toBe(0);
    const after = await cli('patient', 'show', '--tenant', erasable.tenant, '--id', erasable.id);
    expect(expectOneLineFailure(after, 1)).toMatch(/not found/);
    expect(after.stdout).toBe('');
    // Erasing again: the patient no longer exists.
    const again = await cli('patient', 'erase', '--tenant', erasable.tenant, '--id', erasable.id);
    expect(expectOneLineFailure(again, 1)).toMatch(/not found/);
  });

  it('a keyring readable by group/others (0644) stops any command with exit 2 and one line naming the mode', async () => {
    const keyring = path.join(dataDir, KEYRING_FILE);
    const masterKey = (JSON.parse(await readFile(keyring, 'utf8')) as { masterKey: string }).masterKey;
    await chmod(keyring, 0o644);
    try {
      const commands = [
        ['keys', 'status', '--json'],
        ['patient', 'show', '--tenant', 'screening', '--id', 'x'],
        ['ingest', lab, '--json'],
      ];
      const results = await Promise.all(commands.map((args) => cli(...args)));
      results.forEach((r, i) => {
        expect(expectOneLineFailure(r, 2), commands[i]!.join(' ')).toMatch(/mode/);
        expect(r.stdout).toBe('');
        expect(r.stderr).not.toContain(masterKey);
      });
    } finally {
      await chmod(keyring, 0o600);
    }
    expect((await cli('keys', 'status', '--json')).code).toBe(0);
  });
});

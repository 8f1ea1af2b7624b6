import { CTX } from '../support/context.js';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vault } from '../../src/compose.js';
import type { VaultStore } from '../../src/ports/vault-store.js';
import { VaultReader } from '../../src/services/vault-reader.js';
import { generateSyntheticLab } from '../../src/synth/generator.js';
import { runCli, startCli } from '../support/cli.js';
import { ndjson, observation, patient, serviceRequest, testTenant } from '../support/fhir-builders.js';
import { freshSchema, pgAvailable, PG_REQUIRED, PG_URL } from '../support/pg.js';
import { tempVault, type TempVault } from '../support/temp-vault.js';

/**
 * Key rotation is online: while `labvault keys rotate` runs in another process (rewrapping every
 * DEK of the tenant and then destroying the old KEK), a reader with its own open vault keeps
 * reading patients and their records without a single failure. Afterwards every DEK is under the
 * new version, the old one is destroyed, and a fresh process (no cached keys) reads everything.
 */
const pgUp = await pgAvailable();
if (!pgUp && !PG_REQUIRED) {
  console.warn(`[rotation-online] PostgreSQL unreachable at ${new URL(PG_URL).host}: postgres case SKIPPED (CI=true makes this a failure)`);
}

const PERSONS = 3000;

interface SourcePatient {
  id: string;
  bsn: string;
  records: number;
}

let work: string;
let lab: string;
/** Screening patients of the lab with their BSN and how many clinical records reference them. */
let screening: SourcePatient[];

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'lv-rot-'));
  lab = path.join(work, 'lab');
  await generateSyntheticLab({ patients: PERSONS, seed: 21, outDir: lab });
  const byId = new Map<string, SourcePatient>();
  for (const line of (await readFile(path.join(lab, 'Patient.ndjson'), 'utf8')).split('\n')) {
    if (!line) continue;
    const p = JSON.parse(line) as { id: string; meta: { tag: { code: string }[] }; identifier: { value: string }[] };
    if (p.meta.tag[0]?.code === 'screening') byId.set(p.id, { id: p.id, bsn: p.identifier[0]!.value, records: 0 });
  }
  for (const type of ['ServiceRequest', 'Specimen', 'Observation', 'DiagnosticReport']) {
    for (const line of (await readFile(path.join(lab, `${type}.ndjson`), 'utf8')).split('\n')) {
      if (!line) continue;
      const r = JSON.parse(line) as { meta: { tag: { code: string }[] }; subject?: { reference?: string } };
      if (r.meta.tag[0]?.code !== 'screening') continue;
      const sp = byId.get(r.subject?.reference?.replace(/^Patient\//, '') ?? '');
      if (sp) sp.records++;
    }
  }
  screening = [...byId.values()];
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

interface Backend {
  name: string;
  /** Extra CLI arguments and environment so the child process opens the same vault. */
  cliArgs: string[];
  cliEnv: NodeJS.ProcessEnv;
  tv: TempVault;
}

/** Reads one patient and all its records; returns a failure description or null. */
async function readOne(vault: Vault, p: SourcePatient): Promise<string | null> {
  try {
    const pat = await vault.reader.patient(CTX, 'screening', p.id);
    const bsn = (pat.identifier as { value: string }[] | undefined)?.[0]?.value;
    if (pat.id !== p.id || bsn !== p.bsn) return `${p.id}: wrong patient content`;
    const recs = await vault.reader.resourcesOfPatient(CTX, 'screening', p.id);
    if (recs.length !== p.records) return `${p.id}: ${recs.length} records, expected ${p.records}`;
    for (const r of recs)
      if ((r.subject as { reference?: string } | undefined)?.reference !== `Patient/${p.id}`)
        return `${p.id}: record ${r.id} of another patient`;
    return null;
  } catch (e) {
    return `${p.id}: ${(e as Error).name}: ${(e as Error).message}`;
  }
}

async function rotateWhileReading(b: Backend): Promise<void> {
  const { tv } = b;
  const ingest = await tv.vault.ingest.ingest(CTX, [lab]);
  expect(ingest.rejected).toBe(0);
  expect(screening.length).toBeGreaterThan(1000);

  // The reader warms up (KEK v1 and some DEKs cached), as a long-running server would have.
  for (const p of screening.slice(0, 20)) expect(await readOne(tv.vault, p)).toBeNull();

  const child = startCli([...b.cliArgs, 'keys', 'rotate', '--tenant', 'screening', '--json'], b.cliEnv);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  let running = true;
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      running = false;
      resolve(code);
    }),
  );

  let reads = 0;
  const failures: string[] = [];
  while (running) {
    // Random order, so reads hit patients already rewrapped and ones not yet rewrapped.
    const p = screening[Math.floor(Math.random() * screening.length)]!;
    const f = await readOne(tv.vault, p);
    if (f) failures.push(f);
    reads++;
    // better-sqlite3 is synchronous: yield so the child's exit can be noticed.
    await yieldToLoop();
  }
  const code = await exited;
  expect(failures.slice(0, 10)).toEqual([]);
  expect(reads).toBeGreaterThan(0);
  expect(code, stderr).toBe(0);
  const rot = JSON.parse(stdout) as { tenant: string; to: number; rewrapped: number; destroyed: number[] };
  expect(rot).toMatchObject({ tenant: 'screening', to: 2, destroyed: [1], rewrapped: screening.length });

  // The long-running reader goes on after the destruction of v1 (it has v2 to load, v1 cached).
  for (const p of screening.slice(0, 50)) expect(await readOne(tv.vault, p)).toBeNull();

  const status = await runCli([...b.cliArgs, 'keys', 'status', '--json'], b.cliEnv);
  expect(status.code, status.stderr).toBe(0);
  const s = JSON.parse(status.stdout) as {
    tenants: { tenant: string; versions: { version: number; state: string; patients: number }[] }[];
  };
  expect(s.tenants.find((t) => t.tenant === 'screening')?.versions).toEqual([
    expect.objectContaining({ version: 1, state: 'destroyed', patients: 0 }),
    expect.objectContaining({ version: 2, state: 'active', patients: screening.length }),
  ]);

  // A fresh vault (nothing cached, v1 gone for good) reads everything of a spread of patients.
  const fresh = await tv.reopen();
  const step = Math.floor(screening.length / 25);
  for (let k = 0; k < screening.length; k += step) expect(await readOne(fresh, screening[k]!)).toBeNull();
}

describe('online KEK rotation while another process reads (SQLite)', () => {
  let tv: TempVault;
  beforeAll(async () => {
    tv = await tempVault();
  });
  afterAll(async () => {
    await tv.cleanup();
  });

  it('no read fails; afterwards all screening DEKs are under v2 and v1 is destroyed', async () => {
    await rotateWhileReading({ name: 'sqlite', cliArgs: ['--data-dir', tv.config.dataDir], cliEnv: {}, tv });
  });
});

describe.skipIf(!pgUp && !PG_REQUIRED)('online KEK rotation while another process reads (PostgreSQL)', () => {
  let tv: TempVault | undefined;
  let schema: { schema: string; drop: () => Promise<void> } | undefined;
  afterAll(async () => {
    await tv?.cleanup();
    await schema?.drop();
  });

  it('no read fails; afterwards all screening DEKs are under v2 and v1 is destroyed', async () => {
    schema = await freshSchema();
    const env = { LABVAULT_PG_SCHEMA: schema.schema };
    tv = await tempVault({ databaseUrl: PG_URL, env });
    await rotateWhileReading({ name: 'postgres', cliArgs: ['--data-dir', tv.config.dataDir, '--database-url', PG_URL], cliEnv: env, tv });
  });
});

/**
 * The same race made deterministic: a reader that has not cached the old KEK (a process started
 * during the rotation, or reading this tenant for the first time) loads a patient row still
 * wrapped under v1; before it fetches KEK v1, the rotation rewraps that row and destroys v1. The
 * read must still succeed (e.g. by re-reading the row), not fail as "decryption failed".
 */
describe('a cold reader racing the destruction of the KEK its row named', () => {
  let tv: TempVault;
  beforeAll(async () => {
    tv = await tempVault();
    await tv.vault.ingest.importTenants(CTX, [testTenant('screening')]);
    const f = path.join(tv.dir, 'in.ndjson');
    await writeFile(
      f,
      ndjson([patient('screening', 'p1'), serviceRequest('screening', 'sr1', 'p1'), observation('screening', 'o1', 'p1', 'sr1')]),
    );
    expect((await tv.vault.ingest.ingest(CTX, [f])).rejected).toBe(0);
  });
  afterAll(async () => {
    await tv.cleanup();
  });

  it('still reads the patient and its records', async () => {
    const cold = await tv.reopen();
    let rotated = false;
    // The store as the cold reader sees it; the first patient row it loads is followed, before the
    // reader continues, by a complete rotation in "another process" (the first vault).
    const getPatient: VaultStore['getPatient'] = async (tenantId, id) => {
      const row = await cold.store.getPatient(tenantId, id);
      if (!rotated) {
        rotated = true;
        expect((await tv.vault.keyAdmin.rotate(CTX, 'screening')).destroyed).toEqual([1]);
      }
      return row;
    };
    const racing = new Proxy(cold.store, {
      get(target, prop) {
        if (prop === 'getPatient') return getPatient;
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const reader = new VaultReader(racing, cold.keys, cold.audit);
    const p = await reader.patient(CTX, 'screening', 'p1');
    expect(p.id).toBe('p1');
    expect((await reader.resourcesOfPatient(CTX, 'screening', 'p1')).map((r) => r.id).sort()).toEqual(['o1', 'sr1']);
  });
});

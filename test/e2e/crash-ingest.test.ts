import { CTX } from '../support/context.js';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openVault } from '../../src/compose.js';
import type { ClinicalType } from '../../src/domain/resource-type.js';
import { generateSyntheticLab, type SynthSummary } from '../../src/synth/generator.js';
import { runCli, startCli } from '../support/cli.js';
import { ByteScanner, scanFiles, sqliteFiles } from '../support/scan-bytes.js';
import { describeHits, seededIdentifiers } from '../support/seeded-identifiers.js';

/**
 * Power cut during ingest: the CLI is SIGKILLed after some batches are committed and before the
 * rest. What is on disk must be a consistent database (integrity, foreign keys, no record without
 * its patient), every stored row must decrypt to exactly its source resource, nothing identifying
 * may be in plaintext in the file or the WAL, and running the same ingest again completes the
 * vault without duplicates and without rejections.
 */
const PERSONS = 15_000;
const SAMPLE = 200;

let work: string;
let lab: string;
let dataDir: string;
let dbFile: string;
let summary: SynthSummary;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'lv-crash-'));
  lab = path.join(work, 'lab');
  dataDir = path.join(work, 'data');
  summary = await generateSyntheticLab({ patients: PERSONS, seed: 11, outDir: lab });
  const init = await runCli(['--data-dir', dataDir, 'init']);
  expect(init.code, init.stderr).toBe(0);
  const config = loadConfig({ dataDir }, {});
  if (config.database.kind !== 'sqlite') throw new Error('expected the SQLite backend');
  dbFile = config.database.file;
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const RETRYABLE = /^SQLITE_(BUSY|LOCKED|CANTOPEN)/;
const isRetryable = (e: unknown): boolean =>
  typeof (e as { code?: unknown }).code === 'string' && RETRYABLE.test((e as { code: string }).code);

/** Runs a read on the read-only connection, retrying while the crashed writer's locks/WAL settle. */
async function withRetry<T>(read: () => T): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return read();
    } catch (e) {
      if (!isRetryable(e) || attempt > 200) throw e;
      await sleep(10);
    }
  }
}

/** Source resources by `tenant/type/id`, only for the wanted ones (the lab is ~75 MB; nothing else is kept). */
async function sourceResources(wanted: Set<string>): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (const type of ['Patient', 'ServiceRequest', 'Specimen', 'Observation', 'DiagnosticReport']) {
    const rl = createInterface({ input: createReadStream(path.join(lab, `${type}.ndjson`)), crlfDelay: Infinity });
    for await (const line of rl) {
      const id = /"id":"([^"]+)"/.exec(line)?.[1];
      const tenant = /"system":"https:\/\/labvault\.dev\/tenant","code":"([^"]+)"/.exec(line)?.[1];
      const key = `${tenant}/${type}/${id}`;
      if (wanted.has(key)) out.set(key, JSON.parse(line));
    }
  }
  return out;
}

describe('ingest killed with SIGKILL mid-run', () => {
  it('leaves a consistent, encrypted vault that re-running the ingest completes', async () => {
    const child = startCli(['--data-dir', dataDir, 'ingest', lab, '--json']);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout?.resume();
    let running = true;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => {
        running = false;
        resolve({ code, signal });
      }),
    );

    // Poll read-only (WAL lets a reader in while the CLI writes) until the first clinical record is
    // committed: all patients are in by then (Patient.ndjson goes first), the records are not.
    let ro: Database.Database | null = null;
    let committed = false;
    while (running && !committed) {
      try {
        ro ??= new Database(dbFile, { readonly: true, fileMustExist: true });
        committed = (ro.prepare('SELECT EXISTS (SELECT 1 FROM resources) AS x').get() as { x: number }).x === 1;
      } catch (e) {
        if (!isRetryable(e)) throw e;
      }
      if (!committed) await sleep(2);
    }
    child.kill('SIGKILL');
    const exit = await exited;
    expect(committed, `ingest ended before any record was seen (stderr: ${stderr})`).toBe(true);
    expect(exit.signal, 'the child must have been killed, not have finished').toBe('SIGKILL');

    const { atKill, storedPatientId } = await withRetry(() => {
      const db = (ro ??= new Database(dbFile, { readonly: true, fileMustExist: true }));
      return {
        atKill: (db.prepare('SELECT (SELECT count(*) FROM patients) + (SELECT count(*) FROM resources) AS n').get() as { n: number }).n,
        storedPatientId: (db.prepare('SELECT id FROM patients LIMIT 1').get() as { id: string }).id,
      };
    });
    ro?.close();
    expect(atKill).toBeGreaterThan(0);
    expect(atKill, 'some but not all resources were committed').toBeLessThan(summary.resources);

    // The files as the crash left them (before any recovery): no identifier in plaintext.
    const ids = await seededIdentifiers(lab);
    expect(ids.excluded.length, `values also in tenants.json: ${ids.excluded.join(', ')}`).toBeLessThan(10);
    // Positive control in the same pass: a plaintext tenant id and patient id (stored on purpose).
    const control = ['screening', storedPatientId];
    const scan = await scanFiles(new ByteScanner([...ids.values, ...control]), sqliteFiles(dbFile));
    const scanned = scan.scanned.map((s) => s.file);
    expect(scanned).toContain(dbFile);
    expect(scanned).toContain(`${dbFile}-wal`);
    expect(
      describeHits(
        scan.hits.filter((h) => ids.kindOf.has(h.needle)),
        ids,
      ),
    ).toEqual([]);
    expect(new Set(scan.hits.map((h) => h.needle)), 'positive control: stored plaintext tenant and patient id').toEqual(new Set(control));

    // Structural consistency after recovery.
    const db = new Database(dbFile);
    let sampleResources: { tenant_id: string; type: ClinicalType; id: string }[];
    let samplePatients: { tenant_id: string; id: string }[];
    let committedRows: number;
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.pragma('foreign_key_check')).toEqual([]);
      const orphans = db
        .prepare(
          'SELECT count(*) AS n FROM resources r WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = r.tenant_id AND p.id = r.patient_id)',
        )
        .get() as { n: number };
      expect(orphans.n).toBe(0);
      // Counted again after recovery: a commit whose WAL frame was written just before the kill is
      // in, even if the read-only poller's view (wal-index) missed it.
      committedRows = (db.prepare('SELECT (SELECT count(*) FROM patients) + (SELECT count(*) FROM resources) AS n').get() as { n: number })
        .n;
      sampleResources = db
        .prepare('SELECT tenant_id, type, id FROM resources ORDER BY random() LIMIT ?')
        .all(SAMPLE) as typeof sampleResources;
      samplePatients = db.prepare('SELECT tenant_id, id FROM patients ORDER BY random() LIMIT ?').all(SAMPLE) as typeof samplePatients;
    } finally {
      db.close();
    }
    expect(sampleResources.length).toBeGreaterThan(0);
    expect(samplePatients.length).toBe(SAMPLE);

    // The audit log survived the kill too: every committed batch has its event, and the log
    // verifies against its signed checkpoints and witness copies.
    const audit = await runCli(['--data-dir', dataDir, 'audit', 'verify', '--json']);
    expect(audit.code, audit.stdout).toBe(0);
    expect((JSON.parse(audit.stdout) as { events: number }).events).toBeGreaterThan(0);

    // A sample of what was committed decrypts to exactly its source resource.
    const wanted = new Set([
      ...sampleResources.map((r) => `${r.tenant_id}/${r.type}/${r.id}`),
      ...samplePatients.map((p) => `${p.tenant_id}/Patient/${p.id}`),
    ]);
    const source = await sourceResources(wanted);
    expect(source.size).toBe(wanted.size);
    const vault = await openVault(loadConfig({ dataDir }, {}));
    try {
      for (const p of samplePatients)
        expect(await vault.reader.patient(CTX, p.tenant_id, p.id)).toEqual(source.get(`${p.tenant_id}/Patient/${p.id}`));
      for (const r of sampleResources)
        expect(await vault.reader.resource(CTX, r.tenant_id, r.type, r.id)).toEqual(source.get(`${r.tenant_id}/${r.type}/${r.id}`));
    } finally {
      await vault.close();
    }

    // Running the same ingest again completes the vault: nothing rejected, nothing twice.
    const again = await runCli(['--data-dir', dataDir, 'ingest', lab, '--json']);
    expect(again.code, again.stderr).toBe(0);
    const r = JSON.parse(again.stdout) as { ingested: Record<string, number>; unchanged: number; rejected: number };
    expect(r.rejected).toBe(0);
    const newlyIngested = Object.values(r.ingested).reduce((a, b) => a + b, 0);
    expect(newlyIngested).toBeGreaterThan(0);
    expect(committedRows).toBeGreaterThanOrEqual(atKill);
    expect(r.unchanged).toBe(committedRows);
    expect(newlyIngested + r.unchanged).toBe(summary.resources);

    const after = await openVault(loadConfig({ dataDir }, {}));
    try {
      const stored = (await after.store.countResources()).reduce((a, c) => a + c.count, 0);
      expect(stored).toBe(summary.resources);
    } finally {
      await after.close();
    }
  });
});

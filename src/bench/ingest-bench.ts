import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../config.js';
import { recordCryptoBackend, type RecordCryptoBackend } from '../crypto/record-crypto.js';
import { openVault } from '../compose.js';
import { TENANT_TAG_SYSTEM } from '../domain/tenant.js';
import { operatorContext } from '../domain/principal.js';
import { planInput, readLines } from '../services/ingest-files.js';
import { DEFAULT_BATCH_SIZE } from '../services/ingest-service.js';
import { generateSyntheticLab } from '../synth/generator.js';
import { postgresPlainSink, sqlitePlainSink, type PlainJsonSink, type PlainRow } from './plain-json-sink.js';

/**
 * `labvault bench ingest`: a synthetic lab of N persons is ingested into a fresh vault and, in the
 * same run and database, stored as plain JSON rows (the baseline). Generation is not timed.
 */
export interface IngestBenchResult {
  backend: 'sqlite' | 'postgres';
  patients: number;
  resources: number;
  seconds: number;
  resources_per_s: number;
  baseline_seconds: number;
  baseline_resources_per_s: number;
  overhead_ratio: number;
  /**
   * CPU time of the whole process (every thread) during each run. On a shared machine the wall
   * clock varies with the neighbours; the CPU the work took varies far less.
   */
  cpu_seconds: number;
  baseline_cpu_seconds: number;
  rejected: number;
  peak_rss_mb: number;
  /** Which code sealed the records and MACed their content (record-crypto.ts). */
  record_crypto: RecordCryptoBackend;
}

export async function benchIngest(opts: {
  patients: number;
  databaseUrl?: string;
  batchSize?: number;
  log?: (s: string) => void;
}): Promise<IngestBenchResult> {
  const log = opts.log ?? (() => undefined);
  const work = await mkdtemp(path.join(os.tmpdir(), 'labvault-bench-'));
  const pgUrl = opts.databaseUrl && /^postgres(ql)?:/.test(opts.databaseUrl) ? opts.databaseUrl : undefined;
  const schema = `lv_bench_${randomBytes(4).toString('hex')}`;
  try {
    log(`generating a synthetic lab of ${opts.patients} persons…`);
    const labDir = path.join(work, 'lab');
    await generateSyntheticLab({ patients: opts.patients, seed: 1, outDir: labDir });
    const env = { ...process.env, LABVAULT_PG_SCHEMA: schema };
    const config = loadConfig({ dataDir: path.join(work, 'vault'), databaseUrl: pgUrl, keyProvider: 'local' }, env);
    const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;

    // Warm the page cache so neither run pays for the first read of the files.
    const plan = await planInput([labDir]);
    for (const f of plan.dataFiles) for await (const _ of readLines(f)) void _;

    log('baseline: plain JSON rows…');
    const vault = await openVault(config, { create: true });
    let baselineSeconds: number;
    let resources = 0;
    try {
      const sink = pgUrl
        ? await postgresPlainSink(pgUrl, schema)
        : sqlitePlainSink(config.database.kind === 'sqlite' ? config.database.file : '');
      const baselineCpu = process.cpuUsage();
      const b = await storePlain(plan.dataFiles, sink, batchSize);
      const baselineCpuSeconds = cpuSince(baselineCpu);
      baselineSeconds = b.seconds;
      resources = b.rows;
      await sink.close();

      log('vault: validate, encrypt, index, store…');
      const vaultCpu = process.cpuUsage();
      const r = await vault.ingest.ingest(operatorContext('bench', 'labvault-bench'), [labDir], { batchSize });
      const vaultCpuSeconds = cpuSince(vaultCpu);
      const stored = Object.values(r.ingested).reduce((a, x) => a + x, 0);
      const rps = stored / r.seconds;
      const brps = resources / baselineSeconds;
      return {
        backend: pgUrl ? 'postgres' : 'sqlite',
        patients: opts.patients,
        resources: stored,
        seconds: round(r.seconds),
        resources_per_s: Math.round(rps),
        baseline_seconds: round(baselineSeconds),
        baseline_resources_per_s: Math.round(brps),
        overhead_ratio: round(brps / rps),
        cpu_seconds: round(vaultCpuSeconds),
        baseline_cpu_seconds: round(baselineCpuSeconds),
        rejected: r.rejected,
        peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
        record_crypto: recordCryptoBackend(),
      };
    } finally {
      await vault.close();
    }
  } finally {
    if (pgUrl) {
      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
    await rm(work, { recursive: true, force: true });
  }
}

async function storePlain(files: string[], sink: PlainJsonSink, batchSize: number): Promise<{ rows: number; seconds: number }> {
  const started = process.hrtime.bigint();
  let rows = 0;
  let batch: PlainRow[] = [];
  for (const f of files) {
    for await (const { text } of readLines(f)) {
      const r = JSON.parse(text) as {
        resourceType: string;
        id: string;
        meta?: { tag?: { system?: string; code?: string }[] };
        subject?: { reference?: string };
      };
      const tenant = r.meta?.tag?.find((t) => t.system === TENANT_TAG_SYSTEM)?.code ?? '';
      const patient = r.resourceType === 'Patient' ? r.id : (r.subject?.reference ?? '').slice('Patient/'.length);
      batch.push({ tenant, type: r.resourceType, id: r.id, patient, json: text });
      if (batch.length >= batchSize) {
        await sink.write(batch);
        rows += batch.length;
        batch = [];
      }
    }
  }
  if (batch.length > 0) {
    await sink.write(batch);
    rows += batch.length;
  }
  return { rows, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

/** User and system CPU of the process (all threads, workers included) since `from`, in seconds. */
function cpuSince(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

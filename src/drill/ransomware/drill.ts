import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { listBackups, newestVerifiedBackup } from '../../backup/backup-list.js';
import { startBenchServer, type BenchServer } from '../../bench/bench-server.js';
import { cleanUpOnInterrupt } from '../../bench/interrupt-cleanup.js';
import { loadConfig } from '../../config.js';
import { openKeyProvider, openVault } from '../../compose.js';
import { operatorContext } from '../../domain/principal.js';
import { TENANT_TAG_SYSTEM } from '../../domain/tenant.js';
import { exportKeyring } from '../../keys/keyring-recovery.js';
import { writeRecoveryKeyPair } from '../../keys/recovery-key.js';
import { generateSyntheticLab } from '../../synth/generator.js';
import { DirectoryWitness } from '../../witness/directory-witness.js';
import { DrillFailed } from '../drill-failed.js';
import { encryptInPlace } from './encrypt-in-place.js';
import { JsonClient } from './json-client.js';

/**
 * `labvault drill ransomware`: a synthetic lab served over real HTTP with scheduled backups and a
 * stream of new results; then the data directory is encrypted in place the way ransomware does
 * (keyring included). Measured from that moment: detection (the server's integrity check turns
 * /healthz to 503); the operator's response — the keyring back from the offline recovery key, a
 * degraded read-only server from the newest verified backup answering urgent result reads, the
 * restore — and service back on the primary. Then every result the lab was told was stored and
 * that the restored vault lacks must be in the restore's list of lost writes, and the audit log
 * must verify. The vault is removed at the end.
 */
export interface RansomwareOptions {
  patients: number;
  /** Seconds between the server's scheduled backups. */
  backupIntervalSeconds: number;
  /** New results per second while the lab runs. */
  writesPerSecond: number;
  /** Urgent result reads sent to the degraded server. */
  urgentReads: number;
  log?: (s: string) => void;
}

export interface RansomwareReport {
  patients: number;
  detect_s: number;
  restore_s: number;
  rto_s: number;
  writes_lost: number;
  writes_lost_listed: number;
  degraded: { urgent_reads: number; served: number; writes_refused: boolean; start_s: number };
  verified: boolean;
  backup: { interval_s: number; scheduled: number; id: string; seconds_before_attack: number; bytes: number; verify_s: number };
  keys_import_s: number;
  writes: { acknowledged: number; after_last_backup: number; listed_by_restore: number };
  files_encrypted: number;
  seconds: number;
  problems: string[];
}

const run = promisify(execFile);
const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../cli/main.js');
const SEED = 5;

export async function drillRansomware(opts: RansomwareOptions): Promise<RansomwareReport> {
  const log = opts.log ?? (() => undefined);
  const started = Date.now();
  const work = await mkdtemp(path.join(os.tmpdir(), 'labvault-drill-rw-'));
  let primary: BenchServer | null = null;
  let degraded: BenchServer | null = null;
  const release = cleanUpOnInterrupt(work, () => primary ?? degraded);
  try {
    const dataDir = path.join(work, 'data');
    // Off the data disk: the backups, the witness (checkpoints and journal), the offline recovery key.
    const backups = path.join(work, 'backups');
    const witness = path.join(work, 'witness');
    const offline = path.join(work, 'offline');
    await mkdir(offline, { mode: 0o700 });
    const env: Record<string, string> = {
      LABVAULT_BACKUP_DIR: backups,
      LABVAULT_AUDIT_WITNESS_DIR: witness,
      LABVAULT_BACKUP_INTERVAL_S: String(opts.backupIntervalSeconds),
      LABVAULT_INTEGRITY_CHECK_MS: '1000',
      // Judged and alerted, never contained: the drill's clinician reads many patients on purpose.
      LABVAULT_DETECTION_MODE: 'monitor',
    };
    const config = loadConfig({ dataDir, keyProvider: 'local' }, env);
    const operator = operatorContext('drill', 'labvault-drill');

    log(`generating and ingesting a synthetic lab of ${opts.patients} persons…`);
    const labDir = path.join(work, 'lab');
    await generateSyntheticLab({ patients: opts.patients, seed: SEED, outDir: labDir });
    const templates = await observationTemplates(path.join(labDir, 'Observation.ndjson'), 200);
    const setup = await openVault(config, { create: true });
    let writer: { token: string };
    let clinician: { token: string };
    const urgent: { path: string; tenant: string }[] = [];
    try {
      const r = await setup.ingest.ingest(operator, [labDir]);
      if (r.rejected > 0) throw new DrillFailed(`the synthetic lab did not load: ${r.rejected} records rejected`);
      writer = await setup.principals.create(operator, {
        name: 'analyser interface',
        role: 'lab-technician',
        tenants: ['*'],
        purpose: 'TREAT',
      });
      clinician = await setup.principals.create(operator, {
        name: 'on-call clinician',
        role: 'pathologist',
        tenants: ['*'],
        purpose: 'TREAT',
      });
      for (const t of await setup.store.listTenants()) {
        const rows = await setup.store.searchResources(t.id, { type: 'DiagnosticReport', limit: Math.ceil(opts.urgentReads / 2) });
        for (const row of rows) urgent.push({ path: `/fhir/DiagnosticReport/${row.id}`, tenant: t.id });
      }
    } finally {
      await setup.close();
    }
    await rm(labDir, { recursive: true, force: true });
    const recoveryPrivate = path.join(offline, 'recovery.private.jwk');
    const recoveryPublic = path.join(offline, 'recovery.public.jwk');
    await writeRecoveryKeyPair(recoveryPrivate, recoveryPublic);
    const keyringExport = path.join(offline, 'keyring.jwe');
    await exportKeyring({ dataDir, recoveryKeyFile: recoveryPublic, out: keyringExport });

    log(`serving; a backup every ${opts.backupIntervalSeconds} s, ${opts.writesPerSecond} new results/s…`);
    primary = await startBenchServer({ dataDir, nodeArgs: [], rateLimitPerMin: config.api.rateLimitPerMinute, env });
    const writes: { id: string; tenant: string; requestId: string | null; at: number }[] = [];
    const client = new JsonClient(primary.base, writer.token, 'TREAT');
    let writing = true;
    let attackAt = 0;
    const writeLoop = (async () => {
      for (let n = 0; writing; n++) {
        const t = templates[n % templates.length] as Record<string, unknown>;
        const id = `obs-drill-${String(n).padStart(7, '0')}`;
        const reply = await client.post('/fhir/Observation', { ...t, id, issued: new Date().toISOString() });
        if (reply.status === 201) writes.push({ id, tenant: tenantOf(t), requestId: reply.requestId, at: Date.now() });
        await delay(1000 / opts.writesPerSecond);
      }
    })();
    // Ransomware strikes between two backups, after at least two scheduled ones.
    const scheduled = async (): Promise<number> => (await listBackups(backups)).length;
    const deadline = Date.now() + (opts.backupIntervalSeconds * 4 + 600) * 1000;
    while ((await scheduled()) < 2) {
      if (Date.now() > deadline) throw new DrillFailed('the server took no scheduled backups');
      await delay(250);
    }
    await delay((opts.backupIntervalSeconds * 1000) / 2);
    log('ransomware: the data directory is encrypted in place…');
    attackAt = Date.now();
    const hit = await encryptInPlace(dataDir);
    let detectedAt = 0;
    while (detectedAt === 0) {
      const h = await new JsonClient(primary.base, '', '').get('/healthz');
      if (h.status === 503) detectedAt = Date.now();
      else if (Date.now() - attackAt > 120_000) throw new DrillFailed('the integrity failure was not detected within 120 s');
      else await delay(100);
    }
    writing = false;
    await writeLoop;
    client.close();
    const detectS = (detectedAt - attackAt) / 1000;
    log(`detected after ${detectS.toFixed(2)} s; the primary is isolated`);
    await primary.stop().catch(() => undefined);
    primary = null;

    log('the keyring back from the offline recovery key…');
    const keysAt = Date.now();
    await cli(['--data-dir', dataDir, 'keys', 'import', keyringExport, '--recovery-key-private', recoveryPrivate, '--json'], env);
    const keysImportS = (Date.now() - keysAt) / 1000;
    const provider = await openKeyProvider(config, false);
    let newest: Awaited<ReturnType<typeof newestVerifiedBackup>>;
    const verifyAt = Date.now();
    try {
      newest = await newestVerifiedBackup(backups, { provider, witnessFor: (o) => new DirectoryWitness(witness, o) });
    } finally {
      await provider.close();
    }
    const verifyS = (Date.now() - verifyAt) / 1000;
    if (!newest) throw new DrillFailed('no backup verifies');

    log(`degraded read-only service from backup ${newest.id}…`);
    const degradedAt = Date.now();
    degraded = await startBenchServer({
      dataDir,
      nodeArgs: [],
      rateLimitPerMin: config.api.rateLimitPerMinute,
      env,
      serveArgs: ['--read-only', '--from-backup', newest.path],
    });
    const degradedStartS = (Date.now() - degradedAt) / 1000;
    const reader = new JsonClient(degraded.base, clinician.token, 'TREAT');
    let served = 0;
    const restoring = (async () => {
      const restoreAt = Date.now();
      const out = await cli(['--data-dir', dataDir, 'restore', newest.path, '--json'], env);
      return { r: JSON.parse(out) as RestoreJson, seconds: (Date.now() - restoreAt) / 1000 };
    })();
    for (const u of urgent.slice(0, opts.urgentReads)) if ((await reader.get(u.path, u.tenant)).status === 200) served++;
    const refused = await new JsonClient(degraded.base, writer.token, 'TREAT').post('/fhir/Observation', {
      ...templates[0],
      id: 'obs-drill-degraded',
    });
    reader.close();
    const restored = await restoring;
    await degraded.stop();
    degraded = null;

    log('service back on the restored primary…');
    primary = await startBenchServer({ dataDir, nodeArgs: [], rateLimitPerMin: config.api.rateLimitPerMinute, env });
    const check = new JsonClient(primary.base, writer.token, 'TREAT');
    const first = urgent[0]
      ? await new JsonClient(primary.base, clinician.token, 'TREAT').get(urgent[0].path, urgent[0].tenant)
      : { status: 200 };
    const backAt = Date.now();
    if (first.status !== 200) throw new DrillFailed(`the restored primary answers ${first.status}`);
    const lost: typeof writes = [];
    for (const w of writes) if ((await check.get(`/fhir/Observation/${w.id}`, w.tenant)).status === 404) lost.push(w);
    check.close();
    await primary.stop();
    primary = null;
    const listed = new Set(restored.r.lost_writes.map((w) => w.request_id));
    const lostListed = lost.filter((w) => w.requestId !== null && listed.has(w.requestId)).length;
    const lastBackupAt = Date.parse(newest.created_at);
    const after = writes.filter((w) => w.at > lastBackupAt).length;
    const verify = JSON.parse(
      await cli(['--data-dir', dataDir, 'audit', 'verify', '--json'], env).catch((e: { stdout?: string }) => e.stdout ?? '{}'),
    ) as {
      ok?: boolean;
    };
    const problems: string[] = [];
    if (lostListed !== lost.length) problems.push(`${lost.length - lostListed} lost writes are not in the restore's list`);
    if (lost.some((w) => w.at < lastBackupAt - 1000)) problems.push('a write from before the last backup was lost');
    if (refused.status !== 503) problems.push(`the degraded server answered a write with ${refused.status}, not 503`);
    if (verify.ok !== true) problems.push('the audit log does not verify after the restore');
    if (!restored.r.verified) problems.push('the restore did not verify its audit log');
    return {
      patients: opts.patients,
      detect_s: round(detectS),
      restore_s: round(restored.seconds),
      rto_s: round((backAt - attackAt) / 1000),
      writes_lost: lost.length,
      writes_lost_listed: lostListed,
      degraded: {
        urgent_reads: Math.min(opts.urgentReads, urgent.length),
        served,
        writes_refused: refused.status === 503,
        start_s: round(degradedStartS),
      },
      verified: verify.ok === true && restored.r.verified,
      backup: {
        interval_s: opts.backupIntervalSeconds,
        scheduled: await scheduled(),
        id: newest.id,
        seconds_before_attack: round((attackAt - lastBackupAt) / 1000),
        bytes: newest.bytes,
        verify_s: round(verifyS),
      },
      keys_import_s: round(keysImportS),
      writes: {
        acknowledged: writes.length,
        after_last_backup: after,
        listed_by_restore: restored.r.lost_writes.filter((w) => w.action === 'ingest.write').length,
      },
      files_encrypted: hit.length,
      seconds: round((Date.now() - started) / 1000),
      problems,
    };
  } finally {
    await primary?.stop().catch(() => undefined);
    await degraded?.stop().catch(() => undefined);
    release();
    await rm(work, { recursive: true, force: true });
  }
}

interface RestoreJson {
  verified: boolean;
  lost_writes: { request_id: string | null; action: string }[];
}

/** Runs the CLI as the operator would; returns stdout, throws with its one-line error. */
async function cli(args: string[], env: Record<string, string>): Promise<string> {
  try {
    const { stdout } = await run(process.execPath, [MAIN, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      maxBuffer: 64 << 20,
    });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string };
    throw Object.assign(
      new DrillFailed(
        `labvault ${args.find((a) => !a.startsWith('-') && !a.includes('/')) ?? ''}: ${(err.stderr ?? '').trim().split('\n').pop() ?? ''}`,
      ),
      {
        stdout: err.stdout,
      },
    );
  }
}

/** Up to `n` Observations of the lab, as templates for new results (same patients, new ids). */
async function observationTemplates(file: string, n: number): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    out.push(JSON.parse(line) as Record<string, unknown>);
    if (out.length >= n) break;
  }
  lines.close();
  if (out.length === 0) throw new DrillFailed('the synthetic lab has no Observation to model new results on');
  return out;
}

function tenantOf(r: Record<string, unknown>): string {
  const tags = ((r.meta as { tag?: { system?: string; code?: string }[] } | undefined)?.tag ?? []).filter(
    (t) => t.system === TENANT_TAG_SYSTEM,
  );
  return tags[0]?.code ?? '';
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

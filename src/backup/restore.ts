import { promises as fs, constants } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { decodeEvent } from '../audit/event-codec.js';
import { originOf } from '../audit/audit-log.js';
import type { Config } from '../config.js';
import type { Vault } from '../compose.js';
import { auditEvent, type AuditAction, type AuditEvent } from '../domain/audit-event.js';
import { ConfigurationError, IntegrityViolation } from '../domain/errors.js';
import type { AccessContext } from '../domain/principal.js';
import type { CheckpointWitness } from '../ports/checkpoint-witness.js';
import type { CanarySetRow } from '../ports/detection-store.js';
import type { KeyProvider } from '../ports/key-provider.js';
import type { VaultStore } from '../ports/vault-store.js';
import { PostgresVaultStore } from '../storage/postgres/postgres-vault-store.js';
import { SqliteVaultStore } from '../storage/sqlite/sqlite-vault-store.js';
import { DirectoryWitness } from '../witness/directory-witness.js';
import { checkManifest, verifyBackup } from './backup-verifier.js';
import { CANARY_FILE, DATABASE_FILE, PG_DUMP_FILE, pgEnv, pgTool } from './backup-layout.js';
import { syncPath } from './backup-files.js';
import { ErasureLedger } from './erasure-ledger.js';

/** A write the backup does not hold, as the journal recorded it: what to enter again. */
export interface LostWrite {
  seq: number;
  time: string;
  action: AuditAction;
  tenant: string | null;
  principal: string;
  request_id: string | null;
  /** Pseudonymous patient ids the write named. */
  patients: string[];
  records: number;
}

export interface RestoreResult {
  restored: true;
  id: string;
  seconds: number;
  /** The audit log's size once restored (the backup's, plus the journal's events after it). */
  audit_size: number;
  backup_audit_size: number;
  events_after_backup: number;
  /** Writes among those events: lost with the primary, listed to be entered again. */
  lost_writes: LostWrite[];
  /** Events the witness signed that its journal does not hold (lost without a list). */
  unjournaled_events: number;
  erasures_reapplied: number;
  canaries_removed: number;
  /** Where the files the restore replaced were moved (kept for forensics), or null. */
  quarantine: string | null;
  verified: boolean;
}

export interface RestoreDeps {
  config: Readonly<Config>;
  provider: KeyProvider;
  /** Opens the restored vault with every service (the CLI's openVault). */
  openVault: () => Promise<Vault>;
  ctx: AccessContext;
}

const WRITES: ReadonlySet<AuditAction> = new Set(['ingest.write', 'resource.create', 'patient.erase', 'tenant.import', 'keys.rotate']);

/**
 * `labvault restore`: only from a backup that verifies. The copy's database goes into the data dir
 * (what it replaces is moved aside, not deleted) or into a fresh PostgreSQL database; the audit log
 * then continues from the copy: the events the witness's journal holds after the copy's size are
 * put back (their bytes must reproduce what the witness signed), and the writes among them are
 * listed, since their data went with the primary. Then every erasure in the ledger is applied
 * again (a patient shredded after the backup stays shredded), the copy's own canaries are taken
 * out of the live vault (they belong to the copy), and `audit verify` must pass.
 */
export async function restoreBackup(dir: string, deps: RestoreDeps): Promise<RestoreResult> {
  const started = process.hrtime.bigint();
  const { config, provider } = deps;
  const check = await verifyBackup(dir, {
    provider,
    witnessFor: (o) => new DirectoryWitness(config.audit.witnessDir, o),
    postgresUrl: config.database.kind === 'postgres' ? config.database.url : null,
  });
  if (!check.ok) throw new IntegrityViolation(`the backup does not verify: ${check.reason ?? 'unknown'}`);
  const manifest = await checkManifest(dir, provider);
  if (manifest.backend !== config.database.kind)
    throw new ConfigurationError(`a ${manifest.backend} backup cannot be restored into ${config.database.kind}`);
  const quarantine = manifest.backend === 'sqlite' ? await installSqlite(dir, config) : await installPostgres(dir, config);
  const witness = new DirectoryWitness(config.audit.witnessDir, originOf((await provider.auditSigner()).publicKey));
  const replay = await replayJournal(config, witness, manifest.audit.size);
  const vault = await deps.openVault();
  let result: RestoreResult;
  try {
    const at = vault.clock.now();
    let erasures = 0;
    // Two sources, so neither alone can bring a patient back: the ledger (outside every backup,
    // written before each erasure commits) and the signed erasure events the journal re-applied.
    const fromJournal = replay.events
      .filter((e) => e.action === 'patient.erase' && e.outcome === 'allowed' && e.tenant !== null)
      .flatMap((e) => e.patients.map((patient) => ({ tenant: e.tenant as string, patient, at: e.time })));
    for (const e of [...(await new ErasureLedger(config.backup.erasureLedger).entries()), ...fromJournal]) {
      const row = await vault.store.getPatient(e.tenant, e.patient);
      if (!row || row.erasedAt) continue;
      await vault.store.erasePatient(e.tenant, e.patient, e.at, (changed) =>
        changed
          ? [
              auditEvent(deps.ctx, at, {
                action: 'patient.erase',
                tenant: e.tenant,
                patients: [e.patient],
                categories: ['identity', 'key-material'],
                records: 1,
                detail: { reapplied: true },
              }),
            ]
          : [],
      );
      vault.keys.forget(e.tenant, e.patient);
      erasures++;
    }
    const canaries = await removeCopyCanaries(dir, vault, deps.ctx, at);
    await vault.audit.record([
      vault.audit.event(deps.ctx, {
        action: 'backup.restore',
        records: replay.events.length,
        detail: {
          backup: manifest.id,
          backup_audit_size: manifest.audit.size,
          events_after_backup: replay.events.length,
          lost_writes: replay.writes.length,
          erasures_reapplied: erasures,
          canaries_removed: canaries,
        },
      }),
    ]);
    await vault.audit.checkpoint();
    const verified = await vault.audit.verify();
    result = {
      restored: true,
      id: manifest.id,
      seconds: 0,
      audit_size: (await vault.store.auditHead()).size,
      backup_audit_size: manifest.audit.size,
      events_after_backup: replay.events.length,
      lost_writes: replay.writes,
      unjournaled_events: replay.unjournaled,
      erasures_reapplied: erasures,
      canaries_removed: canaries,
      quarantine,
      verified: verified.ok,
    };
  } finally {
    await vault.close();
  }
  result.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return result;
}

/** Moves the data dir's database files aside and puts the copy's database in their place. */
async function installSqlite(dir: string, config: Readonly<Config>): Promise<string | null> {
  if (config.database.kind !== 'sqlite') throw new ConfigurationError('restore: not a SQLite configuration');
  const file = config.database.file;
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  let quarantine: string | null = null;
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    try {
      await fs.access(f);
    } catch {
      continue;
    }
    quarantine ??= path.join(path.dirname(file), `quarantine-${new Date().toISOString().replace(/[-:.]/g, '')}`);
    await fs.mkdir(quarantine, { recursive: true, mode: 0o700 });
    await fs.rename(f, path.join(quarantine, path.basename(f)));
  }
  const tmp = `${file}.restore-${process.pid}`;
  await fs.copyFile(path.join(dir, DATABASE_FILE), tmp, constants.COPYFILE_EXCL);
  await fs.chmod(tmp, 0o600);
  await syncPath(tmp);
  await fs.rename(tmp, file);
  await syncPath(path.dirname(file));
  return quarantine;
}

/** Restores the dump into the configured database, which must not hold a vault yet. */
async function installPostgres(dir: string, config: Readonly<Config>): Promise<null> {
  if (config.database.kind !== 'postgres') throw new ConfigurationError('restore: not a PostgreSQL configuration');
  const { url, schema } = config.database;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query("SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'schema_migrations'", [
      schema,
    ]);
    if (rows.length > 0)
      throw new ConfigurationError(`restore: the database already holds a vault in schema ${schema}; restore into a fresh database`);
  } finally {
    await c.end();
  }
  await pgTool(
    'pg_restore',
    [
      '--no-owner',
      '--no-privileges',
      '--exit-on-error',
      `--dbname=${new URL(url).pathname.slice(1) || 'postgres'}`,
      path.join(dir, PG_DUMP_FILE),
    ],
    pgEnv(url),
  );
  return null;
}

/**
 * Appends the journal's events from `from` on to the restored log, in order, stopping at a gap.
 * The store re-encodes each event, so the stored bytes are checked against the journal's.
 */
async function replayJournal(
  config: Readonly<Config>,
  witness: CheckpointWitness,
  from: number,
): Promise<{ events: AuditEvent[]; writes: LostWrite[]; unjournaled: number }> {
  const store: VaultStore =
    config.database.kind === 'sqlite'
      ? new SqliteVaultStore(config.database.file)
      : await PostgresVaultStore.connect({ url: config.database.url, schema: config.database.schema, poolSize: 2 });
  try {
    await store.migrate();
    const events: AuditEvent[] = [];
    const bytes: Buffer[] = [];
    const writes: LostWrite[] = [];
    let next = from;
    for (const seg of (await witness.journalSegments?.()) ?? []) {
      if (seg.to <= next) continue;
      if (seg.from > next) break; // a gap: nothing after it can be chained
      const lines = (await witness.readJournal?.(seg.from, seg.to)) ?? [];
      for (const line of lines.slice(next - seg.from)) {
        const sealed = decodeEvent(line);
        if (sealed.seq !== next) throw new IntegrityViolation(`journal event at ${next} carries seq ${sealed.seq}`);
        events.push(sealed.event);
        bytes.push(line);
        if (WRITES.has(sealed.event.action) && sealed.event.outcome === 'allowed')
          writes.push({
            seq: sealed.seq,
            time: sealed.event.time,
            action: sealed.event.action,
            tenant: sealed.event.tenant,
            principal: sealed.event.principal.id,
            request_id: sealed.event.origin.requestId,
            patients: [...sealed.event.patients],
            records: sealed.event.records,
          });
        next++;
      }
    }
    for (let i = 0; i < events.length; i += 1000) await store.appendAudit(events.slice(i, i + 1000));
    for await (const page of store.readAuditEvents(from, next)) {
      for (const b of page) {
        const expected = bytes[decodeEvent(b).seq - from];
        if (!expected || !expected.equals(b)) throw new IntegrityViolation('the restored log does not reproduce the journal’s events');
      }
    }
    const witnessed = (await witness.list()).reduce((n, w) => Math.max(n, Number(/(\d{16})\.checkpoint$/.exec(w.source)?.[1] ?? 0)), 0);
    return { events, writes, unjournaled: Math.max(0, witnessed - next) };
  } finally {
    await store.close();
  }
}

/** Shreds the copy's own canary patients out of the live vault and keeps their sealed registry rows. */
async function removeCopyCanaries(dir: string, vault: Vault, ctx: AccessContext, at: Date): Promise<number> {
  let rows: CanarySetRow[];
  try {
    const raw = JSON.parse(await fs.readFile(path.join(dir, CANARY_FILE), 'utf8')) as (Omit<CanarySetRow, 'sealed'> & { sealed: string })[];
    rows = raw.map((r) => ({ ...r, sealed: Buffer.from(r.sealed, 'base64') }));
  } catch {
    return 0;
  }
  let removed = 0;
  for (const row of rows) {
    const known = (await vault.store.listCanarySets(row.tenantId)).some((r) => r.id === row.id);
    if (!known)
      await vault.store.insertCanarySet(row, [
        auditEvent(ctx, at, {
          action: 'canary.plant',
          tenant: row.tenantId,
          detail: { set: row.id, copy_kind: row.copyKind, copy: row.copyId, restored: true },
        }),
      ]);
    for (const p of await vault.canaries.patientsOf(row)) {
      if (await vault.store.erasePatient(row.tenantId, p.id, at.toISOString(), () => [])) removed++;
      vault.keys.forget(row.tenantId, p.id);
    }
  }
  return removed;
}

import { promises as fs, constants } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { decodeEvent } from '../audit/event-codec.js';
import { originOf } from '../audit/audit-log.js';
import { formatVerifierKey } from '../audit/verifier/signed-note.js';
import { verifyLog } from '../audit/verifier/verify-log.js';
import type { Config } from '../config.js';
import type { Vault } from '../compose.js';
import { auditEvent, type AuditAction, type AuditEvent } from '../domain/audit-event.js';
import { ConfigurationError, IntegrityViolation } from '../domain/errors.js';
import { containsBsnLike } from '../domain/validate-resource.js';
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
  /** Journal events no witnessed checkpoint vouches for: not replayed, their segments set aside. */
  unverified_journal_events: number;
  erasures_reapplied: number;
  canaries_removed: number;
  /** Where the files the restore replaced were moved (kept for forensics), or null. */
  quarantine: string | null;
  verified: boolean;
}

export interface RestoreDeps {
  config: Readonly<Config>;
  provider: KeyProvider;
  /** Opens a vault over the given configuration with every service (the CLI's openVault). */
  openVault: (config: Readonly<Config>) => Promise<Vault>;
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
  // Everything below runs on a staged database (SQLite: a file beside the live one; PostgreSQL: the
  // fresh database, which holds nothing else): the live files are replaced only once it is done, so
  // a failure half-way leaves them as they were.
  const staged = manifest.backend === 'sqlite' ? await stageSqlite(dir, config) : await installPostgres(dir, config);
  try {
    const signer = await provider.auditSigner();
    const witness = new DirectoryWitness(config.audit.witnessDir, originOf(signer.publicKey));
    const replay = await replayJournal(
      staged,
      witness,
      manifest.audit.size,
      formatVerifierKey(originOf(signer.publicKey), signer.publicKey),
    );
    const vault = await deps.openVault(staged);
    let result: RestoreResult;
    try {
      const at = vault.clock.now();
      let erasures = 0;
      // Two sources, so neither alone can bring a patient back: the ledger (outside every backup,
      // written before each erasure commits) and the signed erasure events the journal re-applied.
      for (const e of await erasuresToReapply(new ErasureLedger(config.backup.erasureLedger), replay.vouched)) {
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
            // A copy made before backup ids were kept BSN-free may have one the audit log refuses.
            backup: containsBsnLike(manifest.id) ? null : manifest.id,
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
        unverified_journal_events: replay.unverified,
        erasures_reapplied: erasures,
        canaries_removed: canaries,
        quarantine: null,
        verified: verified.ok,
      };
    } finally {
      await vault.close();
    }
    result.quarantine = await installStaged(staged, config);
    result.seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return result;
  } catch (e) {
    if (staged !== config && staged.database.kind === 'sqlite')
      for (const f of sqliteFiles(staged.database.file)) await fs.rm(f, { force: true });
    throw e;
  }
}

const sqliteFiles = (file: string): string[] => [file, `${file}-wal`, `${file}-shm`, `${file}-journal`];

/** The copy's database in a staging file beside the live one (same file system: the final step is a rename). */
async function stageSqlite(dir: string, config: Readonly<Config>): Promise<Readonly<Config>> {
  if (config.database.kind !== 'sqlite') throw new ConfigurationError('restore: not a SQLite configuration');
  await fs.mkdir(path.dirname(config.database.file), { recursive: true, mode: 0o700 });
  const file = `${config.database.file}.restore-${process.pid}`;
  for (const f of sqliteFiles(file)) await fs.rm(f, { force: true });
  await fs.copyFile(path.join(dir, DATABASE_FILE), file, constants.COPYFILE_EXCL);
  await fs.chmod(file, 0o600);
  await syncPath(file);
  return Object.freeze({ ...config, database: { kind: 'sqlite' as const, file } });
}

/** Moves the live database files aside (kept for forensics) and renames the finished staging file into place. */
async function installStaged(staged: Readonly<Config>, config: Readonly<Config>): Promise<string | null> {
  if (staged.database.kind !== 'sqlite' || config.database.kind !== 'sqlite') return null;
  const file = config.database.file;
  let quarantine: string | null = null;
  for (const f of sqliteFiles(file)) {
    try {
      await fs.access(f);
    } catch {
      continue;
    }
    quarantine ??= path.join(path.dirname(file), `quarantine-${new Date().toISOString().replace(/[-:.]/g, '')}`);
    await fs.mkdir(quarantine, { recursive: true, mode: 0o700 });
    await fs.rename(f, path.join(quarantine, path.basename(f)));
  }
  // The staging vault was closed, so its WAL is folded in: one file to move.
  await syncPath(staged.database.file);
  await fs.rename(staged.database.file, file);
  await syncPath(path.dirname(file));
  return quarantine;
}

/** Restores the dump into the configured database, which must not hold a vault yet. */
async function installPostgres(dir: string, config: Readonly<Config>): Promise<Readonly<Config>> {
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
  return config;
}

/**
 * The journal's events after the copy, replayed only as far as a witnessed checkpoint vouches for
 * them: the copy's events followed by the journal's are run through the standalone verifier with
 * every witness checkpoint, and only events below the largest checkpoint whose root they reproduce
 * are appended (the journal's encoding has no key: a line written into the witness directory by
 * anyone else would otherwise be replayed, and its erasures applied). Segments past that point are
 * set aside (renamed, kept), so the restored log's journal continues cleanly. The store re-encodes
 * each event; the stored bytes must equal the journal's.
 */
async function replayJournal(
  config: Readonly<Config>,
  witness: CheckpointWitness,
  from: number,
  verifierKey: string,
): Promise<{ events: AuditEvent[]; vouched: Buffer[]; writes: LostWrite[]; unjournaled: number; unverified: number }> {
  const store: VaultStore =
    config.database.kind === 'sqlite'
      ? new SqliteVaultStore(config.database.file)
      : await PostgresVaultStore.connect({ url: config.database.url, schema: config.database.schema, poolSize: 2 });
  try {
    await store.migrate();
    const { lines, vouched, upTo, segments, witnessedSize } = await vouchedJournal(store, witness, from, verifierKey);
    const events: AuditEvent[] = [];
    const writes: LostWrite[] = [];
    for (const line of vouched) {
      const sealed = decodeEvent(line);
      events.push(sealed.event);
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
    }
    for (let i = 0; i < events.length; i += 1000) await store.appendAudit(events.slice(i, i + 1000));
    for await (const page of store.readAuditEvents(from, upTo)) {
      for (const b of page) {
        const expected = vouched[decodeEvent(b).seq - from];
        if (!expected || !expected.equals(b)) throw new IntegrityViolation('the restored log does not reproduce the journal’s events');
      }
    }
    // What the journal holds past the vouched point is kept, renamed, out of the journal's way.
    const stamp = new Date().toISOString().replace(/[-:.]/g, '');
    for (const seg of segments) if (seg.to > upTo) await witness.setAsideJournal?.(seg.from, seg.to, stamp);
    return { events, vouched, writes, unjournaled: Math.max(0, witnessedSize - upTo), unverified: from + lines.length - upTo };
  } finally {
    await store.close();
  }
}

/**
 * The journal's lines after a copy of `from` events held by `store`, contiguous from that size (a
 * gap ends them), and how many of them a witnessed checkpoint vouches for: the copy's events and
 * these lines run through the standalone verifier with every witness checkpoint.
 */
export async function vouchedJournal(
  store: VaultStore,
  witness: CheckpointWitness,
  from: number,
  verifierKey: string,
): Promise<{ lines: Buffer[]; vouched: Buffer[]; upTo: number; segments: { from: number; to: number }[]; witnessedSize: number }> {
  const lines: Buffer[] = [];
  const segments = (await witness.journalSegments?.()) ?? [];
  for (const seg of segments) {
    const next = from + lines.length;
    if (seg.to <= next) continue;
    if (seg.from > next) break;
    lines.push(...((await witness.readJournal?.(seg.from, seg.to)) ?? []).slice(next - seg.from));
  }
  const checkpoints = await witness.list();
  const copyPages = store.readAuditNdjson({ fast: false });
  const check = await verifyLog({
    events: (async function* () {
      for await (const ndjson of copyPages) yield { ndjson };
      for (const line of lines) yield line;
    })(),
    checkpoints,
    verifierKey,
  });
  const upTo = Math.max(from, Math.min(check.verified_size, from + lines.length));
  const witnessedSize = checkpoints.reduce((n, w) => Math.max(n, Number(/(\d{16})\.checkpoint$/.exec(w.source)?.[1] ?? 0)), 0);
  return { lines, vouched: lines.slice(0, upTo - from), upTo, segments, witnessedSize };
}

/** Every erasure the ledger lists or a vouched journal event records: what a copy must shred again. */
export async function erasuresToReapply(
  ledger: ErasureLedger,
  vouched: readonly Buffer[],
): Promise<{ tenant: string; patient: string; at: string }[]> {
  const fromJournal = vouched
    .map((line) => decodeEvent(line).event)
    .filter((e) => e.action === 'patient.erase' && e.outcome === 'allowed' && e.tenant !== null)
    .flatMap((e) => e.patients.map((patient) => ({ tenant: e.tenant as string, patient, at: e.time })));
  return [...(await ledger.entries()), ...fromJournal];
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

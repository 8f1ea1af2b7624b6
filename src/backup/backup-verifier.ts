import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { verifyLog } from '../audit/verifier/verify-log.js';
import { formatVerifierKey } from '../audit/verifier/signed-note.js';
import { originOf } from '../audit/audit-log.js';
import { Section, recordAad } from '../crypto/aad.js';
import { open } from '../crypto/envelope.js';
import { KeyHierarchy } from '../crypto/key-hierarchy.js';
import { IntegrityViolation, VaultError } from '../domain/errors.js';
import type { CheckpointWitness } from '../ports/checkpoint-witness.js';
import type { KeyProvider } from '../ports/key-provider.js';
import type { VaultStore } from '../ports/vault-store.js';
import { PostgresVaultStore } from '../storage/postgres/postgres-vault-store.js';
import { SqliteVaultStore } from '../storage/sqlite/sqlite-vault-store.js';
import { MANIFEST_FILE, SIGNATURE_FILE, manifestSignatureValid, parseManifest, type BackupManifest } from './backup-manifest.js';
import { DATABASE_FILE, PG_DUMP_FILE, pgEnv, pgTool, withDatabase } from './backup-layout.js';
import { sha256File } from './backup-files.js';

export interface BackupVerifyResult {
  ok: boolean;
  reason: string | null;
  id: string | null;
  path: string;
  created_at: string | null;
  audit_size: number | null;
  /** Patients decrypted from the trial restore (a sample per tenant). */
  sample_decrypted: number;
  seconds: number;
}

export interface VerifyDeps {
  provider: KeyProvider;
  witnessFor: (origin: string) => CheckpointWitness;
  /** PostgreSQL: where a scratch database for the trial restore may be created. */
  postgresUrl?: string | null;
  /** Patients decrypted per tenant (default 5). */
  sample?: number;
}

/** A trial restore of a verified copy: a store over a private scratch copy, removed by `dispose`. */
export interface TrialCopy {
  store: VaultStore;
  dispose(): Promise<void>;
}

/**
 * `labvault backup verify`: the manifest names this vault and carries its signature; every file
 * is there with its size and hash and nothing else is; a trial restore into a scratch location
 * opens, passes SQLite's quick_check (or restores cleanly into PostgreSQL), has the manifest's
 * schema version, its audit log verifies up to the manifest's size with the manifest's root (and
 * with every witnessed checkpoint up to that size), and a sample of patients per tenant decrypts.
 * Each failure is one plain reason; nothing of the copy's content is printed.
 */
export async function verifyBackup(dir: string, deps: VerifyDeps): Promise<BackupVerifyResult> {
  const started = process.hrtime.bigint();
  const out: BackupVerifyResult = {
    ok: false,
    reason: null,
    id: null,
    path: path.resolve(dir),
    created_at: null,
    audit_size: null,
    sample_decrypted: 0,
    seconds: 0,
  };
  const done = (reason: string | null): BackupVerifyResult => {
    out.ok = reason === null;
    out.reason = reason;
    out.seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return out;
  };
  let manifest: BackupManifest;
  try {
    manifest = await checkManifest(dir, deps.provider);
  } catch (e) {
    return done(reasonOf(e));
  }
  out.id = manifest.id;
  out.created_at = manifest.created_at;
  out.audit_size = manifest.audit.size;
  let trial: TrialCopy;
  try {
    trial = await openTrialCopy(dir, manifest, deps.postgresUrl ?? null);
  } catch (e) {
    return done(`trial restore failed: ${reasonOf(e)}`);
  }
  try {
    const store = trial.store;
    const version = store instanceof SqliteVaultStore ? store.schemaVersion() : await (store as PostgresVaultStore).schemaVersion();
    if (version !== manifest.schema_version)
      return done(`trial restore has schema version ${version}, the manifest says ${manifest.schema_version}`);
    const audit = await verifyCopyAudit(store, manifest, deps);
    if (audit) return done(audit);
    out.sample_decrypted = await decryptSample(store, deps.provider, deps.sample ?? 5);
    return done(null);
  } catch (e) {
    return done(reasonOf(e));
  } finally {
    await trial.dispose();
  }
}

/** Manifest, signature, vault and files; returns the manifest or throws with the reason. */
export async function checkManifest(dir: string, provider: KeyProvider): Promise<BackupManifest> {
  const read = async (name: string): Promise<Buffer> => {
    try {
      return await fs.readFile(path.join(dir, name));
    } catch (cause) {
      throw new IntegrityViolation((cause as NodeJS.ErrnoException).code === 'ENOENT' ? `missing file ${name}` : `cannot read ${name}`, {
        cause,
      });
    }
  };
  const bytes = await read(MANIFEST_FILE);
  const signature = Buffer.from((await read(SIGNATURE_FILE)).toString('utf8').trim(), 'base64');
  const m = parseManifest(bytes);
  const key = (await provider.auditSigner()).publicKey;
  if (m.vault !== originOf(key)) throw new IntegrityViolation(`the manifest is from another vault (${m.vault})`);
  if (!manifestSignatureValid(bytes, signature, key)) throw new IntegrityViolation("the manifest is not signed by this vault's key");
  const present = new Set(await fs.readdir(dir));
  for (const f of m.files) {
    if (!present.has(f.name)) throw new IntegrityViolation(`missing file ${f.name}`);
    const h = await sha256File(path.join(dir, f.name));
    if (h.bytes !== f.bytes) throw new IntegrityViolation(`${f.name} has ${h.bytes} bytes, the manifest says ${f.bytes}`);
    if (h.sha256 !== f.sha256) throw new IntegrityViolation(`${f.name} does not match its hash in the manifest`);
  }
  const expected = new Set([MANIFEST_FILE, SIGNATURE_FILE, ...m.files.map((f) => f.name)]);
  const extra = [...present].filter((n) => !expected.has(n));
  if (extra.length > 0) throw new IntegrityViolation(`unexpected file ${extra[0] as string} in the backup`);
  return m;
}

/** Restores the copy's database into a private scratch place and opens a store over it. */
export async function openTrialCopy(dir: string, m: BackupManifest, postgresUrl: string | null): Promise<TrialCopy> {
  if (m.backend === 'sqlite') {
    const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'labvault-trial-'));
    const file = path.join(scratch, DATABASE_FILE);
    await fs.copyFile(path.join(dir, DATABASE_FILE), file);
    await fs.chmod(file, 0o600);
    let store: SqliteVaultStore | null = null;
    const dispose = async (): Promise<void> => {
      await store?.close().catch(() => undefined);
      await fs.rm(scratch, { recursive: true, force: true });
    };
    try {
      store = new SqliteVaultStore(file);
      const check = store.quickCheck();
      if (check !== 'ok') throw new IntegrityViolation(`the database copy fails quick_check (${check})`);
      return { store, dispose };
    } catch (e) {
      await dispose();
      throw e;
    }
  }
  if (!postgresUrl) throw new IntegrityViolation('a PostgreSQL backup needs --database-url for its trial restore');
  const scratch = `labvault_trial_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  let store: PostgresVaultStore | null = null;
  const dispose = async (): Promise<void> => {
    await store?.close().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`).catch(() => undefined);
    await admin.end().catch(() => undefined);
  };
  try {
    await admin.query(`CREATE DATABASE ${scratch}`);
    await pgTool(
      'pg_restore',
      ['--no-owner', '--no-privileges', '--exit-on-error', `--dbname=${scratch}`, path.join(dir, PG_DUMP_FILE)],
      pgEnv(postgresUrl, scratch),
    );
    const schema = await schemaOf(withDatabase(postgresUrl, scratch));
    store = await PostgresVaultStore.connect({ url: withDatabase(postgresUrl, scratch), schema, poolSize: 2 });
    return { store, dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}

/** The schema a restored dump created (the one holding schema_migrations). */
async function schemaOf(url: string): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ s: string }>(
      "SELECT table_schema AS s FROM information_schema.tables WHERE table_name = 'schema_migrations' LIMIT 1",
    );
    if (!rows[0]) throw new IntegrityViolation('the restored dump holds no vault schema');
    return rows[0].s;
  } finally {
    await c.end();
  }
}

/** null when the copy's log verifies up to the manifest's size with its root; else the reason. */
async function verifyCopyAudit(store: VaultStore, m: BackupManifest, deps: VerifyDeps): Promise<string | null> {
  const signer = await deps.provider.auditSigner();
  const origin = originOf(signer.publicKey);
  const head = await store.auditHead();
  if (head.size !== m.audit.size) return `the copy's audit log holds ${head.size} events, the manifest says ${m.audit.size}`;
  const witnessed = (await deps.witnessFor(origin).list()).filter((w) => sizeOfSource(w.source) <= m.audit.size);
  const stored = (await store.listCheckpoints()).map((c) => ({ note: c.note, source: `store:${c.size}` }));
  const r = await verifyLog({
    events: (async function* () {
      for await (const ndjson of store.readAuditNdjson({ fast: false })) yield { ndjson };
    })(),
    checkpoints: [...stored, ...witnessed],
    verifierKey: formatVerifierKey(origin, signer.publicKey),
  });
  if (!r.ok) return `the copy's audit log does not verify: ${r.reason ?? 'unknown'}`;
  if (r.events !== m.audit.size || r.root !== m.audit.root) return `the copy's audit root differs from the manifest's`;
  return null;
}

function sizeOfSource(source: string): number {
  const m = /(\d{16})\.checkpoint$/.exec(source);
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}

/** Decrypts up to `n` live patients per tenant with the vault's keys; throws on the first failure. */
async function decryptSample(store: VaultStore, provider: KeyProvider, n: number): Promise<number> {
  const keys = new KeyHierarchy(store, provider);
  let done = 0;
  try {
    for (const t of await store.listTenants()) {
      let inTenant = 0;
      for (const id of await store.listPatientIds(t.id, '', n * 4)) {
        if (inTenant >= n) break;
        const row = await store.getPatient(t.id, id);
        if (!row || row.erasedAt || !row.identity) continue;
        const dek = await keys.dek(t.id, row.id, row.kekVersion, row.wrappedDek);
        open(dek, row.identity, recordAad(t.id, 'Patient', row.id, row.version, Section.Identity));
        inTenant++;
        done++;
      }
    }
  } finally {
    keys.close();
  }
  return done;
}

function reasonOf(e: unknown): string {
  if (e instanceof VaultError || e instanceof Error) return e.message.split('\n')[0] ?? 'failed';
  return String(e);
}

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AuditLog } from '../audit/audit-log.js';
import type { BackupConfig } from '../config.js';
import { KeyHierarchy } from '../crypto/key-hierarchy.js';
import { ConfigurationError, IntegrityViolation } from '../domain/errors.js';
import type { AccessContext } from '../domain/principal.js';
import type { Clock } from '../ports/clock.js';
import type { CheckpointWitness } from '../ports/checkpoint-witness.js';
import type { KeyProvider } from '../ports/key-provider.js';
import type { VaultStore } from '../ports/vault-store.js';
import type { CanaryService } from '../services/canary-service.js';
import { IngestService } from '../services/ingest-service.js';
import { SqliteVaultStore } from '../storage/sqlite/sqlite-vault-store.js';
import { canaryBundle } from '../synth/canary-bundle.js';
import {
  BACKUP_FORMAT,
  MANIFEST_FILE,
  SIGNATURE_FILE,
  backupId,
  manifestBytes,
  signManifest,
  type BackupManifest,
} from './backup-manifest.js';
import { copyDirOnce, publishDir, removeTree, sha256File, writeOnce } from './backup-files.js';
import { CANARY_FILE, DATABASE_FILE, dumpPostgres, type PlantedCanaries, type Snapshot } from './backup-layout.js';

export interface BackupDeps {
  config: BackupConfig;
  store: VaultStore;
  provider: KeyProvider;
  audit: AuditLog;
  canaries: CanaryService;
  clock: Clock;
  /** PostgreSQL: the connection and schema pg_dump reads. */
  postgres: { url: string; schema: string } | null;
}

export interface BackupResult {
  id: string;
  path: string;
  bytes: number;
  seconds: number;
  audit_size: number;
  /** The copy in the second target, when one is configured. */
  second_path: string | null;
  canaries: number;
}

/**
 * `labvault backup create`: a consistent online snapshot holding only ciphertext (SQLite's
 * online-backup API; PostgreSQL's pg_dump), with canary patients planted in the copy only, and a
 * signed manifest. Written once into a new directory named by its content, synced, read-only.
 */
export class BackupService {
  constructor(private readonly d: BackupDeps) {}

  async create(ctx: AccessContext, opts: { to?: string; second?: string | null } = {}): Promise<BackupResult> {
    const started = process.hrtime.bigint();
    const root = path.resolve(opts.to ?? this.d.config.dir);
    await fs.mkdir(root, { recursive: true, mode: 0o700 });
    await this.d.audit.ready();
    const tmp = await fs.mkdtemp(path.join(root, '.tmp-'));
    let published: string | null = null;
    try {
      const createdAt = this.d.clock.now().toISOString();
      const snapshot = await this.snapshot(ctx, tmp);
      const data = await sha256File(path.join(tmp, snapshot.file));
      const unsigned = {
        format: BACKUP_FORMAT,
        vault: this.d.audit.origin,
        created_at: createdAt,
        backend: this.d.store.backend,
        schema_version: snapshot.schemaVersion,
        files: [{ name: snapshot.file, ...data }],
        audit: { size: snapshot.audit.size, root: snapshot.audit.root.toString('hex') },
        canaries: [],
      } satisfies Omit<BackupManifest, 'id'>;
      const id = backupId(unsigned);
      // The copy's canaries are registered (sealed) in the vault under the copy's id, and the sealed
      // rows kept beside the copy so a restore from it keeps attributing the copy's canaries.
      const rows = [];
      for (const p of snapshot.planted) rows.push(await this.d.canaries.registerBackup(ctx, p.tenant, id, p.records));
      const sealed = Buffer.from(`${JSON.stringify(rows.map((r) => ({ ...r, sealed: r.sealed.toString('base64') })))}\n`);
      await writeOnce(path.join(tmp, CANARY_FILE), sealed);
      const manifest: BackupManifest = {
        ...unsigned,
        id,
        files: [...unsigned.files, { name: CANARY_FILE, ...(await sha256File(path.join(tmp, CANARY_FILE))) }],
        canaries: rows.map((r, i) => ({ tenant: r.tenantId, set: r.id, patients: snapshot.planted[i]?.records.patients.length ?? 0 })),
      };
      const bytes = manifestBytes(manifest);
      await writeOnce(path.join(tmp, MANIFEST_FILE), bytes);
      await writeOnce(
        path.join(tmp, SIGNATURE_FILE),
        `${(await signManifest(bytes, await this.d.provider.auditSigner())).toString('base64')}\n`,
      );
      const final = path.join(root, dirName(createdAt, id));
      await publishDir(tmp, final);
      published = final;
      const second = opts.second === undefined ? this.d.config.secondDir : opts.second;
      const secondPath = second ? await copyDirOnce(final, path.resolve(second)) : null;
      const total = manifest.files.reduce((n, f) => n + f.bytes, 0);
      await this.d.audit.record([
        this.d.audit.event(ctx, {
          action: 'backup.create',
          records: snapshot.audit.size,
          bytes: total,
          detail: { backup: id, audit_size: snapshot.audit.size, canary_sets: rows.length, second: secondPath !== null },
        }),
      ]);
      return {
        id,
        path: final,
        bytes: total,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        audit_size: snapshot.audit.size,
        second_path: secondPath,
        canaries: manifest.canaries.reduce((n, c) => n + c.patients, 0),
      };
    } finally {
      if (published === null) await removeTree(tmp);
    }
  }

  /** The database copy in `dir`, the copy's canaries, and the copy's audit head and schema version. */
  private async snapshot(ctx: AccessContext, dir: string): Promise<Snapshot> {
    if (this.d.store instanceof SqliteVaultStore) {
      const file = path.join(dir, DATABASE_FILE);
      await this.d.store.backupTo(file);
      const copy = new SqliteVaultStore(file);
      try {
        const planted = await this.plantInto(ctx, copy);
        const head = await copy.auditHead();
        const schemaVersion = copy.schemaVersion();
        return { file: DATABASE_FILE, schemaVersion, audit: { size: head.size, root: head.root }, planted };
      } finally {
        await copy.close();
        // The copy must be one self-contained file again (close folds the WAL in).
        await fs.rm(`${file}-wal`, { force: true });
        await fs.rm(`${file}-shm`, { force: true });
      }
    }
    if (!this.d.postgres) throw new ConfigurationError('backup: no PostgreSQL connection configured');
    return dumpPostgres(this.d.postgres, dir, (copy) => this.plantInto(ctx, copy));
  }

  /**
   * Writes fresh canary patients of every tenant into `copy` (and nowhere else), through the
   * ordinary ingest path over the copy with no audit events: the copy's log stays exactly the
   * snapshot's, which the manifest records.
   */
  async plantInto(ctx: AccessContext, copy: VaultStore): Promise<PlantedCanaries[]> {
    const n = this.d.config.canariesPerTenant;
    if (n === 0) return [];
    const keys = new KeyHierarchy(copy, this.d.provider);
    const audit = await AuditLog.open(copy, this.d.provider, () => REFUSING_WITNESS, this.d.clock, {
      checkpointEvents: Number.MAX_SAFE_INTEGER,
      checkpointMs: 3_600_000,
      journal: false,
      signs: false,
    });
    const planted: PlantedCanaries[] = [];
    try {
      const ingest = new IngestService(copy, keys, this.d.clock, audit);
      for (const t of await copy.listTenants()) {
        const { records, stamp } = await this.d.canaries.forBackup(t.id, n);
        const r = await ingest.submit(ctx, canaryBundle(records), 'backup-canaries', () => [], stamp);
        if (r.rejected > 0) throw new IntegrityViolation(`backup: ${r.rejected} canary records were rejected`);
        planted.push({ tenant: t.id, records });
      }
    } finally {
      audit.abandon();
      keys.close();
    }
    return planted;
  }
}

/** `20261129T061500Z-<id>`: sorts by time, named by content. */
export function dirName(createdAt: string, id: string): string {
  return `${createdAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${id}`;
}

/** The copy's log takes no events, so it never signs: a witness call would be a bug. */
const REFUSING_WITNESS: CheckpointWitness = {
  location: '(backup copy: no witness)',
  publish: () => Promise.reject(new IntegrityViolation('a backup copy signs no checkpoints')),
  list: async () => [],
};

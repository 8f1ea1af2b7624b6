import Database from 'better-sqlite3';
import path from 'node:path';
import type { Tenant } from '../../domain/tenant.js';
import type { ClinicalType } from '../../domain/resource-type.js';
import { ConfigurationError, Conflict, IntegrityViolation, StorageError, VaultError } from '../../domain/errors.js';
import { MIGRATIONS } from '../migrations/migrations.js';
import {
  resourceKeyString,
  type PatientKeyInfo,
  type PatientRow,
  type ResourceCount,
  type ResourceKey,
  type ResourceRow,
  type RewrapUpdate,
  type TenantKeyRow,
  type VaultStore,
  type WriteBatch,
} from '../../ports/vault-store.js';
import { staleKekError } from '../stale-kek.js';
import { SQLITE_CACHE_PRAGMA, SQLITE_MMAP_BYTES, SQLITE_WAL_AUTOCHECKPOINT } from './sqlite-tuning.js';
import { toKeyRow, toPatientRow, toResourceRow, type Row } from '../row-mappers.js';
import type { AuditEvent } from '../../domain/audit-event.js';
import type {
  AuditEvents,
  AuditHead,
  AuditIndexRow,
  AuditOriginRef,
  AuditPatientRef,
  AuditQuery,
  StoredAuditEvent,
  StoredCheckpoint,
} from '../../ports/audit-store.js';
import { BULK_INTERVAL_MS, BULK_MAX_WAL_BYTES, WalCheckpointer } from './wal-checkpointer.js';
import { dropIndexesForLoad, ensureIndexes } from './deferred-indexes.js';
import { WalSync } from './wal-sync.js';
import { SqliteAuditLog } from './sqlite-audit-log.js';
import type { AccessStore } from '../../ports/access-store.js';
import { SqliteAccessStore } from './sqlite-access-store.js';
import type { DetectionStore } from '../../ports/detection-store.js';
import { SqliteDetectionStore } from './sqlite-detection-store.js';

/**
 * Embedded backend: one SQLite file in the data directory, WAL mode, batched transactions.
 * better-sqlite3 is synchronous; methods are async anyway so errors arrive as rejections, as with
 * every other adapter.
 */
export class SqliteVaultStore implements VaultStore {
  readonly backend = 'sqlite' as const;
  private readonly db: Database.Database;
  private stmts: ReturnType<typeof prepare> | undefined;
  private auditLog: SqliteAuditLog | undefined;
  private accessStore: SqliteAccessStore | undefined;
  private detectionStore: SqliteDetectionStore | undefined;
  private bulkLoad = false;
  /** This bulk load dropped the secondary indexes (deferred-indexes.ts) and rebuilds them when it ends. */
  private indexesDeferred = false;
  private checkpointer: WalCheckpointer | null = null;
  /** Set in server mode: audit appends sync the WAL from the thread pool (wal-sync.ts). */
  private walSync: WalSync | null = null;
  /** Bulk mode's: audit checkpoints sync the WAL from the thread pool (see addCheckpoint). */
  private bulkWalSync: WalSync | null = null;
  /** Bulk mode's WAL folds, in a worker thread (see setBulkLoad). */
  private bulkCheckpointer: WalCheckpointer | null = null;

  /**
   * `bulkMaxWalBytes`: past this WAL size a bulk load's fold is a RESTART, which waits for the
   * writer's transaction to end and starts the WAL over (wal-checkpoint-worker.ts). Tests set a
   * small one.
   */
  constructor(
    private readonly file: string,
    private readonly bulkMaxWalBytes = BULK_MAX_WAL_BYTES,
  ) {
    this.db = new Database(file);
    try {
      this.configure();
    } catch (cause) {
      this.db.close();
      // A file that is not (or no longer) SQLite: say so in one line, never a stack trace.
      const code = (cause as { code?: string }).code;
      if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')
        throw new IntegrityViolation(
          `${path.basename(file)} is not a readable SQLite database (damaged or encrypted): restore it from a backup ('labvault backup list', 'labvault restore')`,
          { cause },
        );
      throw cause;
    }
  }

  private configure(): void {
    // 8 KiB pages hold several ~1 KiB ciphertext rows and halve B-tree page splits: measured 44k →
    // 64k rows/s for bulk inserts here. Only takes effect on a new file, before WAL is enabled.
    this.db.pragma('page_size = 8192');
    // WAL lets readers run during ingest and rotation; FULL sync makes every committed batch durable.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    // Overwrite freed pages with zeros so erased DEKs and identities do not linger in the file.
    this.db.pragma('secure_delete = ON');
    this.db.pragma('busy_timeout = 10000');
    this.db.pragma(`cache_size = ${SQLITE_CACHE_PRAGMA}`);
    this.db.pragma(`mmap_size = ${SQLITE_MMAP_BYTES}`);
    this.db.pragma(`wal_autocheckpoint = ${SQLITE_WAL_AUTOCHECKPOINT}`);
  }

  /** Statements are prepared on first use, after migrate() has created the tables. */
  private get s(): ReturnType<typeof prepare> {
    this.stmts ??= prepare(this.db);
    return this.stmts;
  }

  private get audit(): SqliteAuditLog {
    this.auditLog ??= new SqliteAuditLog(this.db);
    return this.auditLog;
  }

  private get access(): SqliteAccessStore {
    this.accessStore ??= new SqliteAccessStore(this.db, this.audit);
    return this.accessStore;
  }

  private get detection(): SqliteDetectionStore {
    this.detectionStore ??= new SqliteDetectionStore(this.db, this.audit);
    return this.detectionStore;
  }

  // AccessStore, delegated: its queries live in sqlite-access-store.ts and commit through the same
  // connection and audit log as the vault writes here.
  readonly insertPrincipal: AccessStore['insertPrincipal'] = (...a) => this.access.insertPrincipal(...a);
  readonly getPrincipal: AccessStore['getPrincipal'] = (...a) => this.access.getPrincipal(...a);
  readonly listPrincipals: AccessStore['listPrincipals'] = () => this.access.listPrincipals();
  readonly setPrincipalStatus: AccessStore['setPrincipalStatus'] = (...a) => this.access.setPrincipalStatus(...a);
  readonly insertApiKey: AccessStore['insertApiKey'] = (...a) => this.access.insertApiKey(...a);
  readonly getApiKey: AccessStore['getApiKey'] = (...a) => this.access.getApiKey(...a);
  readonly revokeApiKey: AccessStore['revokeApiKey'] = (...a) => this.access.revokeApiKey(...a);
  readonly revokeToken: AccessStore['revokeToken'] = (...a) => this.access.revokeToken(...a);
  readonly isTokenRevoked: AccessStore['isTokenRevoked'] = (...a) => this.access.isTokenRevoked(...a);
  readonly insertBreakGlass: AccessStore['insertBreakGlass'] = (...a) => this.access.insertBreakGlass(...a);
  readonly activeBreakGlass: AccessStore['activeBreakGlass'] = (...a) => this.access.activeBreakGlass(...a);
  readonly insertExportJob: AccessStore['insertExportJob'] = (...a) => this.access.insertExportJob(...a);
  readonly getExportJob: AccessStore['getExportJob'] = (...a) => this.access.getExportJob(...a);
  readonly approveExportJob: AccessStore['approveExportJob'] = (...a) => this.access.approveExportJob(...a);
  readonly searchResources: AccessStore['searchResources'] = (...a) => this.access.searchResources(...a);
  readonly countSearch: AccessStore['countSearch'] = (...a) => this.access.countSearch(...a);
  readonly listPatientIds: AccessStore['listPatientIds'] = (...a) => this.access.listPatientIds(...a);
  readonly listBlindIndexes: AccessStore['listBlindIndexes'] = (...a) => this.access.listBlindIndexes(...a);

  // DetectionStore, delegated likewise (sqlite-detection-store.ts).
  readonly insertIncident: DetectionStore['insertIncident'] = (...a) => this.detection.insertIncident(...a);
  readonly getIncident: DetectionStore['getIncident'] = (...a) => this.detection.getIncident(...a);
  readonly listIncidents: DetectionStore['listIncidents'] = () => this.detection.listIncidents();
  readonly updateIncident: DetectionStore['updateIncident'] = (...a) => this.detection.updateIncident(...a);
  readonly contain: DetectionStore['contain'] = (...a) => this.detection.contain(...a);
  readonly getContainment: DetectionStore['getContainment'] = (...a) => this.detection.getContainment(...a);
  readonly activeContainments: DetectionStore['activeContainments'] = () => this.detection.activeContainments();
  readonly listContainments: DetectionStore['listContainments'] = () => this.detection.listContainments();
  readonly approvalsOf: DetectionStore['approvalsOf'] = (...a) => this.detection.approvalsOf(...a);
  readonly approveRelease: DetectionStore['approveRelease'] = (...a) => this.detection.approveRelease(...a);
  readonly insertCanarySet: DetectionStore['insertCanarySet'] = (...a) => this.detection.insertCanarySet(...a);
  readonly listCanarySets: DetectionStore['listCanarySets'] = (...a) => this.detection.listCanarySets(...a);
  readonly saveBaselines: DetectionStore['saveBaselines'] = (...a) => this.detection.saveBaselines(...a);
  readonly loadBaselines: DetectionStore['loadBaselines'] = (...a) => this.detection.loadBaselines(...a);
  readonly recordOrigin: DetectionStore['recordOrigin'] = (...a) => this.detection.recordOrigin(...a);
  readonly hasOrigins: DetectionStore['hasOrigins'] = (...a) => this.detection.hasOrigins(...a);
  readonly newestOrderDate: DetectionStore['newestOrderDate'] = (...a) => this.detection.newestOrderDate(...a);

  async migrate(): Promise<void> {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
    );
    for (const m of MIGRATIONS) {
      // Checked inside the write transaction: two processes opening a new vault at once must not
      // both apply the same step.
      this.db
        .transaction(() => {
          if (this.db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(m.version)) return;
          if (m.refuseIf && this.db.prepare(m.refuseIf.sql).get()) throw new ConfigurationError(m.refuseIf.message);
          this.db.exec(m.sqlite);
          this.db
            .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
            .run(m.version, m.name, new Date().toISOString());
        })
        .immediate();
    }
    // A bulk load that crashed left its deferred indexes dropped: every open puts them back.
    ensureIndexes(this.db);
  }

  /**
   * For a long-running server: WAL checkpoints in a worker thread instead of inside the commit
   * that crosses the threshold (wal-checkpointer.ts). Without the built worker nothing changes.
   */
  startBackgroundCheckpoints(): void {
    if (this.checkpointer || !this.db.open) return;
    this.checkpointer = this.startFolds();
    this.walSync = new WalSync(`${this.file}-wal`);
  }

  /**
   * WAL folds in a worker thread (wal-checkpointer.ts); the writer's in-line checkpoints are off
   * while it runs, and come back if it dies. Null where the built worker is not available.
   */
  private startFolds(intervalMs?: number, maxWalBytes?: number): WalCheckpointer | null {
    const c = WalCheckpointer.start(
      this.file,
      () => {
        if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${SQLITE_WAL_AUTOCHECKPOINT}`);
      },
      intervalMs,
      maxWalBytes,
    );
    if (c) this.db.pragma('wal_autocheckpoint = 0');
    return c;
  }

  /** Stops the background WAL checkpoints (the WAL then stays as it is until close or abandon). */
  stopBackgroundCheckpoints(): void {
    const c = this.checkpointer;
    this.checkpointer = null;
    void c?.stop();
  }

  /**
   * A consistent copy of the database at `file` through SQLite's online-backup API: writers on
   * this connection go on (their changes reach the copy too), others restart the page copy. The
   * copy is then made a single self-contained file (WAL folded, rollback journal mode).
   */
  async backupTo(file: string): Promise<void> {
    try {
      await this.db.backup(file);
      const copy = new Database(file);
      try {
        copy.pragma('journal_mode = DELETE');
      } finally {
        copy.close();
      }
    } catch (cause) {
      throw mapError(cause);
    }
  }

  /** SQLite's quick_check: 'ok', or its first complaint (page and structure checks, no index contents). */
  quickCheck(): string {
    return String(this.db.pragma('quick_check(1)', { simple: true }));
  }

  /** The schema version the migrations reached (the newest applied step). */
  schemaVersion(): number {
    return (this.db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
  }

  /**
   * Stops the background threads without the explicit WAL fold of close(): for a store that failed
   * its integrity check, where folding writes into a damaged file and drops WAL frames forensics
   * may want. Not airtight: better-sqlite3 closes the handle when the process exits, and SQLite
   * then checkpoints the WAL of its last connection (the restore moves what it finds aside).
   */
  async abandon(): Promise<void> {
    await this.stopBulkCheckpoints();
    await this.closeBulkWalSync();
    if (this.walSync) {
      await this.walSync.close();
      this.walSync = null;
    }
    if (this.checkpointer) {
      await this.checkpointer.stop();
      this.checkpointer = null;
    }
  }

  async close(): Promise<void> {
    await this.abandon();
    if (this.db.open) {
      // Fold the WAL back into the main file so no stale pages (e.g. an erased DEK) stay in -wal.
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.close();
    }
    return;
  }

  async upsertTenant(tenant: Tenant, audit: readonly AuditEvent[]): Promise<void> {
    try {
      await this.audit.write(audit, () => this.s.upsertTenant.run(tenant.id, JSON.stringify(tenant), new Date().toISOString()));
    } catch (cause) {
      throw mapError(cause);
    }
  }

  async getTenant(id: string): Promise<Tenant | null> {
    const row = this.s.getTenant.get(id) as { doc: string } | undefined;
    return row ? (JSON.parse(row.doc) as Tenant) : null;
  }

  async listTenants(): Promise<Tenant[]> {
    return (this.s.listTenants.all() as { doc: string }[]).map((r) => JSON.parse(r.doc) as Tenant);
  }

  async listTenantKeys(tenantId: string): Promise<TenantKeyRow[]> {
    return (this.s.listTenantKeys.all(tenantId) as Row[]).map(toKeyRow);
  }

  async addTenantKey(row: TenantKeyRow, audit: readonly AuditEvent[]): Promise<void> {
    try {
      await this.audit.write(audit, () => {
        this.s.retireKeys.run(row.tenantId);
        this.s.insertKey.run(row.tenantId, row.version, row.wrappedKek, row.masterKeyId, row.state, row.createdAt);
      });
    } catch (cause) {
      throw mapError(cause);
    }
  }

  async destroyTenantKey(tenantId: string, version: number, audit: AuditEvents<boolean>): Promise<boolean> {
    try {
      return await this.audit.write(audit, () => {
        const { n } = this.s.countDeks.get(tenantId, version) as { n: number };
        if (n > 0) return false;
        return this.s.destroyKey.run(tenantId, version).changes === 1;
      });
    } catch (cause) {
      throw mapError(cause);
    }
  }

  async getIndexKey(tenantId: string): Promise<{ wrappedKey: Buffer; masterKeyId: string } | null> {
    const row = this.s.getIndexKey.get(tenantId) as { wrapped_key: Buffer; master_key_id: string } | undefined;
    return row ? { wrappedKey: row.wrapped_key, masterKeyId: row.master_key_id } : null;
  }

  async putIndexKeyIfAbsent(tenantId: string, wrappedKey: Buffer, masterKeyId: string): Promise<Buffer> {
    this.s.putIndexKey.run(tenantId, wrappedKey, masterKeyId);
    return (this.s.getIndexKey.get(tenantId) as { wrapped_key: Buffer }).wrapped_key;
  }

  // One statement per call (keys passed as a JSON array): per-key statements cost more in
  // better-sqlite3 call overhead than the B-tree probes themselves.
  async findContentMacs(keys: ResourceKey[]): Promise<Map<string, Buffer | null>> {
    const out = new Map<string, Buffer | null>();
    const patients = keys.filter((k) => k.type === 'Patient').map((k) => [k.tenantId, k.id]);
    const others = keys.filter((k) => k.type !== 'Patient').map((k) => [k.tenantId, k.type, k.id]);
    if (patients.length > 0) {
      for (const r of this.s.patientMacs.all(JSON.stringify(patients)) as { tenant_id: string; id: string; content_mac: Buffer | null }[]) {
        out.set(resourceKeyString({ tenantId: r.tenant_id, type: 'Patient', id: r.id }), r.content_mac);
      }
    }
    if (others.length > 0) {
      for (const r of this.s.resourceMacs.all(JSON.stringify(others)) as {
        tenant_id: string;
        type: string;
        id: string;
        content_mac: Buffer;
      }[]) {
        out.set(resourceKeyString({ tenantId: r.tenant_id, type: r.type, id: r.id }), r.content_mac);
      }
    }
    return out;
  }

  async findPatientKeys(tenantId: string, ids: string[]): Promise<Map<string, PatientKeyInfo>> {
    const out = new Map<string, PatientKeyInfo>();
    const rows = this.s.patientKeys.all(tenantId, JSON.stringify(ids)) as {
      id: string;
      kek_version: number;
      wrapped_dek: Buffer | null;
      erased_at: string | null;
      content_mac: Buffer | null;
    }[];
    for (const row of rows) {
      out.set(resourceKeyString({ tenantId, type: 'Patient', id: row.id }), {
        kekVersion: row.kek_version,
        wrappedDek: row.wrapped_dek,
        erased: row.erased_at !== null,
        contentMac: row.content_mac,
      });
    }
    return out;
  }

  async setBulkLoad(enabled: boolean, incomingBytes = 0): Promise<void> {
    if (enabled) {
      try {
        if (!this.bulkLoad) this.indexesDeferred = dropIndexesForLoad(this.db, incomingBytes);
      } catch (cause) {
        throw mapError(cause);
      }
      this.bulkLoad = true;
      this.db.pragma('synchronous = NORMAL');
      // Inserts into tables with a trigger or foreign key keep a statement journal, and one that
      // outgrows 64 KiB (a page split of random-keyed B-trees) spilled to a temp file: measured
      // at 100k persons, 884 MB in 215,000 writes on the writer thread, page images of the vault
      // on disk outside it. In memory it holds one statement's pages. (The index rebuild at the
      // end sorts in files of index keys, on helper threads: deferred-indexes.ts.)
      this.db.pragma('temp_store = MEMORY');
      this.startBulkCheckpoints();
      return;
    }
    try {
      // A rebuild that fails (a lock held too long elsewhere) leaves the indexes to the next open.
      if (this.indexesDeferred) ensureIndexes(this.db);
    } catch (cause) {
      throw mapError(cause);
    } finally {
      // Whatever the rebuild did, what bulk mode wrote is made durable: a checkpoint syncs the WAL
      // and the database file.
      this.indexesDeferred = false;
      this.bulkLoad = false;
      await this.stopBulkCheckpoints();
      this.db.pragma('synchronous = FULL');
      this.db.pragma('temp_store = DEFAULT');
      this.db.pragma('wal_checkpoint(PASSIVE)');
      // After the pragmas: nothing else may commit on this connection under bulk mode's settings.
      await this.closeBulkWalSync();
    }
  }

  /**
   * A load's WAL folds move to a worker thread, as a server's do: an automatic checkpoint runs
   * inside the commit that crosses the threshold, and during a bulk load that was the writer's
   * (main) thread copying every page into the database file, ~2.5 s of its ~20 s at 100k persons
   * (`perf`), while the other core had time to spare. The fold copies the same pages either way.
   * A server's own checkpointer, if running, already does this.
   */
  private startBulkCheckpoints(): void {
    if (this.checkpointer || this.bulkCheckpointer) return;
    this.bulkCheckpointer = this.startFolds(BULK_INTERVAL_MS, this.bulkMaxWalBytes);
  }

  private async stopBulkCheckpoints(): Promise<void> {
    const c = this.bulkCheckpointer;
    if (!c) return;
    this.bulkCheckpointer = null;
    await c.stop();
    if (this.db.open && !this.checkpointer) this.db.pragma(`wal_autocheckpoint = ${SQLITE_WAL_AUTOCHECKPOINT}`);
  }

  private async closeBulkWalSync(): Promise<void> {
    const w = this.bulkWalSync;
    this.bulkWalSync = null;
    await w?.close();
  }

  async erasureEpoch(): Promise<number> {
    return this.epochNow();
  }

  private epochNow(): number {
    return (this.s.erasureEpoch.get() as { n: number }).n;
  }

  async writeBatch(batch: WriteBatch): Promise<{ skippedResources: ResourceKey[] }> {
    const { insertPatient, insertResource } = this.s;
    try {
      return await this.audit.write(batch.audit, () => {
        if (batch.erasureEpoch !== undefined && this.epochNow() !== batch.erasureEpoch) {
          throw new Conflict('a patient was erased while the batch was prepared; retry');
        }
        const skippedResources: ResourceKey[] = [];
        for (const p of batch.patients) {
          const { changes } = insertPatient.run(
            p.tenantId,
            p.id,
            p.version,
            p.kekVersion,
            p.wrappedDek,
            p.bsnIndex,
            p.nameIndex,
            p.contentMac,
            p.identity,
            p.createdAt,
          );
          // The caller encrypted this batch under a fresh DEK for the patient; if another writer
          // created the patient meanwhile, those ciphertexts would be unreadable: write nothing.
          if (changes === 0) throw new Conflict('a patient in the batch was created concurrently; retry');
        }
        for (const r of batch.resources) {
          const { changes } = insertResource.run(
            r.tenantId,
            r.type,
            r.id,
            r.version,
            r.patientId,
            r.status,
            r.code,
            r.effectiveDate,
            r.contentMac,
            r.body,
            r.createdAt,
          );
          if (changes === 0) skippedResources.push({ tenantId: r.tenantId, type: r.type, id: r.id });
        }
        return { skippedResources };
      });
    } catch (cause) {
      throw mapError(cause);
    }
  }

  async getPatient(tenantId: string, id: string): Promise<PatientRow | null> {
    const row = this.s.getPatient.get(tenantId, id) as Row | undefined;
    return row ? toPatientRow(row) : null;
  }

  async findPatientsByBsnIndex(tenantId: string, index: Buffer): Promise<PatientRow[]> {
    return (this.s.byBsn.all(index, tenantId) as Row[]).map(toPatientRow);
  }

  async findPatientsByNameIndex(tenantId: string, index: Buffer): Promise<PatientRow[]> {
    return (this.s.byName.all(tenantId, index) as Row[]).map(toPatientRow);
  }

  async getResource(tenantId: string, type: ClinicalType, id: string): Promise<ResourceRow | null> {
    const row = this.s.getResource.get(tenantId, type, id) as Row | undefined;
    return row ? toResourceRow(row) : null;
  }

  async listResourcesOfPatient(tenantId: string, patientId: string, type?: ClinicalType): Promise<ResourceRow[]> {
    const rows = (
      type ? this.s.resourcesOfPatientType.all(tenantId, patientId, type) : this.s.resourcesOfPatient.all(tenantId, patientId)
    ) as Row[];
    return rows.map(toResourceRow);
  }

  async listDeksWrappedBy(
    tenantId: string,
    kekVersion: number,
    afterId: string,
    limit: number,
  ): Promise<{ id: string; wrappedDek: Buffer }[]> {
    const rows = this.s.deksWrappedBy.all(tenantId, kekVersion, afterId, limit) as { id: string; wrapped_dek: Buffer }[];
    return rows.map((r) => ({ id: r.id, wrappedDek: r.wrapped_dek }));
  }

  async rewrapDeks(
    tenantId: string,
    fromVersion: number,
    toVersion: number,
    updates: RewrapUpdate[],
    audit: AuditEvents<number>,
  ): Promise<number> {
    try {
      return await this.audit.write(audit, () => {
        let n = 0;
        for (const u of updates) n += this.s.rewrap.run(toVersion, u.wrappedDek, tenantId, u.id, fromVersion).changes;
        return n;
      });
    } catch (cause) {
      throw mapError(cause);
    }
  }

  async countDeksWrappedBy(tenantId: string, kekVersion: number): Promise<number> {
    return (this.s.countDeks.get(tenantId, kekVersion) as { n: number }).n;
  }

  async erasePatient(tenantId: string, id: string, at: string, audit: AuditEvents<boolean>): Promise<boolean> {
    let changed: boolean;
    try {
      changed = await this.audit.write(audit, () => this.s.erase.run(at, tenantId, id).changes === 1);
    } catch (cause) {
      throw mapError(cause);
    }
    // The old page images of the row sit in the WAL until a checkpoint: fold them in now.
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    return changed;
  }

  async appendAudit(events: readonly AuditEvent[]): Promise<AuditHead> {
    const deferSync = this.walSync !== null && !this.bulkLoad;
    try {
      await this.audit.write(events, () => undefined, deferSync);
    } catch (cause) {
      throw mapError(cause);
    }
    // Durable before the caller goes on, as with synchronous=FULL, but synced off the event loop.
    if (deferSync) await this.walSync?.sync();
    return this.audit.head();
  }

  async auditHead(): Promise<AuditHead> {
    return this.audit.head();
  }

  async *readAuditEvents(from: number, to: number): AsyncIterable<Buffer[]> {
    yield* this.audit.read(from, to);
  }

  async getAuditEvent(seq: number): Promise<Buffer | null> {
    return this.audit.event(seq);
  }

  async *readAuditNdjson(opts: { fast?: boolean } = {}): AsyncIterable<Buffer> {
    yield* this.audit.ndjson(opts.fast ?? false);
  }

  async *readAuditIndexRows(): AsyncIterable<AuditIndexRow[]> {
    yield* this.audit.indexRows();
  }

  async *readAuditPatientRefs(): AsyncIterable<AuditPatientRef[]> {
    yield* this.audit.patientRefs();
  }

  async *readAuditOriginRefs(): AsyncIterable<AuditOriginRef[]> {
    yield* this.audit.originRefs();
  }

  async getAuditTile(level: number, index: number): Promise<Buffer | null> {
    return this.audit.tile(level, index);
  }

  async queryAudit(q: AuditQuery): Promise<StoredAuditEvent[]> {
    return this.audit.query(q);
  }

  async addCheckpoint(cp: StoredCheckpoint): Promise<void> {
    if (this.walSync && !this.bulkLoad) {
      // Server mode: the same durability (the WAL synced before this returns), but the sync runs
      // in the thread pool: a checkpoint per second must not stall every request behind the disk.
      this.audit.addCheckpoint(cp, false, true);
      await this.walSync.sync();
      return;
    }
    if (this.bulkLoad) {
      // Bulk mode commits under synchronous = NORMAL. A checkpoint vouches for every event before
      // it, so it must be durable before the caller publishes it: the WAL is synced before this
      // resolves, but in the thread pool, so the load's next batch is prepared meanwhile.
      this.audit.addCheckpoint(cp, false);
      this.bulkWalSync ??= new WalSync(`${this.file}-wal`);
      await this.bulkWalSync.sync();
      return;
    }
    this.audit.addCheckpoint(cp, false);
  }

  async listCheckpoints(): Promise<StoredCheckpoint[]> {
    return this.audit.checkpoints();
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | null> {
    return this.audit.latestCheckpoint();
  }

  async countResources(): Promise<ResourceCount[]> {
    const rows = this.s.counts.all() as { tenant_id: string; type: string; n: number }[];
    return rows.map((r) => ({ tenantId: r.tenant_id, type: r.type, count: r.n }));
  }
}

function prepare(db: Database.Database) {
  const patientCols = 'tenant_id, id, version, kek_version, wrapped_dek, bsn_idx, name_idx, content_mac, identity, created_at, erased_at';
  const resourceCols = 'tenant_id, type, id, version, patient_id, status, code, effective_date, content_mac, body, created_at';
  return {
    upsertTenant: db.prepare(
      'INSERT INTO tenants (id, doc, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc',
    ),
    getTenant: db.prepare('SELECT doc FROM tenants WHERE id = ?'),
    listTenants: db.prepare('SELECT doc FROM tenants ORDER BY id'),
    listTenantKeys: db.prepare('SELECT * FROM tenant_keys WHERE tenant_id = ? ORDER BY version'),
    retireKeys: db.prepare("UPDATE tenant_keys SET state = 'retired' WHERE tenant_id = ? AND state = 'active'"),
    insertKey: db.prepare(
      'INSERT INTO tenant_keys (tenant_id, version, wrapped_kek, master_key_id, state, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    destroyKey: db.prepare(
      "UPDATE tenant_keys SET state = 'destroyed', wrapped_kek = NULL WHERE tenant_id = ? AND version = ? AND state = 'retired'",
    ),
    getIndexKey: db.prepare('SELECT wrapped_key, master_key_id FROM tenant_index_keys WHERE tenant_id = ?'),
    putIndexKey: db.prepare(
      'INSERT INTO tenant_index_keys (tenant_id, wrapped_key, master_key_id) VALUES (?, ?, ?) ON CONFLICT (tenant_id) DO NOTHING',
    ),
    patientMacs: db.prepare(
      'SELECT tenant_id, id, content_mac FROM patients WHERE (tenant_id, id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?))',
    ),
    resourceMacs: db.prepare(
      'SELECT tenant_id, type, id, content_mac FROM resources WHERE (tenant_id, type, id) IN (SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?))',
    ),
    erasureEpoch: db.prepare('SELECT n FROM erasure_epoch WHERE id = 1'),
    patientKeys: db.prepare(
      'SELECT id, kek_version, wrapped_dek, erased_at, content_mac FROM patients WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))',
    ),
    insertPatient: db.prepare(`INSERT INTO patients (${patientCols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING`),
    insertResource: db.prepare(`INSERT INTO resources (${resourceCols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
    getPatient: db.prepare(`SELECT ${patientCols} FROM patients WHERE tenant_id = ? AND id = ?`),
    byBsn: db.prepare(`SELECT ${patientCols} FROM patients WHERE bsn_idx = ? AND tenant_id = ? ORDER BY id`),
    byName: db.prepare(`SELECT ${patientCols} FROM patients WHERE tenant_id = ? AND name_idx = ? ORDER BY id`),
    getResource: db.prepare(`SELECT ${resourceCols} FROM resources WHERE tenant_id = ? AND type = ? AND id = ?`),
    resourcesOfPatient: db.prepare(`SELECT ${resourceCols} FROM resources WHERE tenant_id = ? AND patient_id = ? ORDER BY type, id`),
    resourcesOfPatientType: db.prepare(
      `SELECT ${resourceCols} FROM resources WHERE tenant_id = ? AND patient_id = ? AND type = ? ORDER BY id`,
    ),
    deksWrappedBy: db.prepare(
      'SELECT id, wrapped_dek FROM patients WHERE tenant_id = ? AND kek_version = ? AND wrapped_dek IS NOT NULL AND id > ? ORDER BY id LIMIT ?',
    ),
    countDeks: db.prepare('SELECT count(*) AS n FROM patients WHERE tenant_id = ? AND kek_version = ? AND wrapped_dek IS NOT NULL'),
    rewrap: db.prepare(
      'UPDATE patients SET kek_version = ?, wrapped_dek = ? WHERE tenant_id = ? AND id = ? AND kek_version = ? AND wrapped_dek IS NOT NULL',
    ),
    erase: db.prepare(
      'UPDATE patients SET wrapped_dek = NULL, identity = NULL, bsn_idx = NULL, name_idx = NULL, content_mac = NULL, erased_at = ? WHERE tenant_id = ? AND id = ? AND erased_at IS NULL',
    ),
    counts: db.prepare(
      "SELECT tenant_id, 'Patient' AS type, count(*) AS n FROM patients WHERE erased_at IS NULL GROUP BY tenant_id UNION ALL SELECT tenant_id, type, count(*) AS n FROM resources GROUP BY tenant_id, type ORDER BY 1, 2",
    ),
  };
}

function mapError(cause: unknown): Error {
  if (cause instanceof VaultError) return cause;
  if (staleKekError(cause)) return new Conflict('key-encryption key was rotated during the write; retry', { cause });
  return new StorageError('storage write failed', { cause });
}

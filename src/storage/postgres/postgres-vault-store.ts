import pg from 'pg';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import type { Tenant } from '../../domain/tenant.js';
import type { ClinicalType } from '../../domain/resource-type.js';
import { ConfigurationError, Conflict, StorageError, VaultError } from '../../domain/errors.js';
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
import { PostgresAuditLog } from './postgres-audit-log.js';
import type { AccessStore } from '../../ports/access-store.js';
import { PostgresAccessStore } from './postgres-access-store.js';
import type { DetectionStore } from '../../ports/detection-store.js';
import { PostgresDetectionStore } from './postgres-detection-store.js';
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
import { toKeyRow, toPatientRow, toResourceRow, type Row } from '../row-mappers.js';
import { INSERT_PATIENTS, INSERT_RESOURCES } from './bulk-insert.js';

/** Options for {@link PostgresVaultStore.connect}. */
export interface PostgresConnectOptions {
  /** libpq-style connection URL; never echoed in errors because it may carry a password. */
  url: string;
  /** Schema holding the vault's tables; one database can host several vaults (and test runs) side by side. */
  schema: string;
  /** Maximum pooled connections (default 10). */
  poolSize?: number;
}

/**
 * Lower-case unquoted identifiers only: they mean the same quoted or not, so the name in
 * search_path, CREATE SCHEMA and the advisory-lock key can never disagree. `pg_` is reserved.
 */
const SCHEMA_NAME = /^(?!pg_)[a-z_][a-z0-9_]{0,62}$/;

/** First key of the two-int advisory lock that serialises migrators; the second is hashtext(schema). */
const MIGRATION_LOCK_CLASS = 0x6c76; // 'lv'

const PATIENT_COLS = 'tenant_id, id, version, kek_version, wrapped_dek, bsn_idx, name_idx, content_mac, identity, created_at, erased_at';
const RESOURCE_COLS = 'tenant_id, type, id, version, patient_id, status, code, effective_date, content_mac, body, created_at';

/**
 * Server backend: PostgreSQL through a `pg.Pool`, every table in one schema. Semantics match
 * `SqliteVaultStore` exactly (the contract suite runs both); the differences are in how the
 * work reaches the server: bulk writes and key look-ups are one statement over `unnest` arrays, so
 * a batch costs a fixed number of round trips however many rows it carries.
 */
export class PostgresVaultStore implements VaultStore {
  readonly backend = 'postgres' as const;
  private closed = false;
  private bulkLoad = false;
  private readonly audit: PostgresAuditLog;
  private readonly access: PostgresAccessStore;
  private readonly detection: PostgresDetectionStore;

  private constructor(
    private readonly pool: Pool,
    private readonly schema: string,
  ) {
    this.audit = new PostgresAuditLog(pool, schema, (fn) => this.tx(fn));
    this.access = new PostgresAccessStore(pool, this.audit);
    this.detection = new PostgresDetectionStore(pool, this.audit);
  }

  // AccessStore, delegated: its queries live in postgres-access-store.ts and commit through the same
  // pool and audit log as the vault writes here.
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

  // DetectionStore, delegated likewise (postgres-detection-store.ts).
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

  /**
   * Opens a pool whose every connection has `search_path` set to `schema`, and checks the server
   * answers. The schema need not exist yet: {@link migrate} creates it.
   */
  static async connect(opts: PostgresConnectOptions): Promise<PostgresVaultStore> {
    if (!SCHEMA_NAME.test(opts.schema)) {
      throw new ConfigurationError('PostgreSQL schema must be a lower-case identifier ([a-z_][a-z0-9_]*, not pg_*)');
    }
    const quoted = quoteIdent(opts.schema);
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      // pg-pool awaits this before handing the connection out, so no query can run unscoped
      // (@types/pg declares the hook as returning void, hence the lint exception). Only the vault
      // schema (pg_catalog is implicit): an unqualified name can never resolve to public.*.
      // eslint-disable-next-line @typescript-eslint/no-misused-promises
      onConnect: (client) => client.query(`SET search_path TO ${quoted}`),
    });
    // An idle connection dropped by the server emits 'error' on the pool; unhandled, it would
    // crash the process. The pool discards that connection and the next checkout opens a new one.
    pool.on('error', () => undefined);
    const store = new PostgresVaultStore(pool, opts.schema);
    try {
      await pool.query('SELECT 1');
    } catch (cause) {
      await pool.end().catch(() => undefined);
      throw new StorageError('cannot connect to PostgreSQL', { cause });
    }
    return store;
  }

  /**
   * Creates the schema and schema_migrations if absent, then applies each pending migration in its
   * own transaction. Concurrent migrators (several app instances starting at once) queue on a
   * transaction-scoped advisory lock and re-read what is applied once they hold it.
   */
  async migrate(): Promise<void> {
    try {
      await this.tx(async (c) => {
        await this.lockMigrations(c);
        // Look before creating: CREATE SCHEMA checks the CREATE-on-database privilege even with
        // IF NOT EXISTS, and a least-privilege role may be handed a schema made by the DBA.
        const exists = await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.schema]);
        if (!exists.rowCount) await c.query(`CREATE SCHEMA ${quoteIdent(this.schema)}`);
        await c.query(
          'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)',
        );
      });
      for (const m of MIGRATIONS) {
        await this.tx(async (c) => {
          await this.lockMigrations(c);
          const done = await c.query('SELECT 1 FROM schema_migrations WHERE version = $1', [m.version]);
          if (done.rowCount) return;
          if (m.refuseIf && (await c.query(m.refuseIf.sql)).rowCount) throw new ConfigurationError(m.refuseIf.message);
          // No parameters: simple-query protocol, so a migration may hold several statements.
          await c.query(m.postgres);
          await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
            m.version,
            m.name,
            new Date().toISOString(),
          ]);
        });
      }
    } catch (cause) {
      throw mapError(cause, 'schema migration failed');
    }
  }

  /** Ends the pool; idempotent like the SQLite adapter's close(). */
  /** The schema version the migrations reached (the newest applied step). */
  async schemaVersion(): Promise<number> {
    const { rows } = await this.pool.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
    return rows[0]?.v ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  async upsertTenant(tenant: Tenant, audit: readonly AuditEvent[]): Promise<void> {
    try {
      await this.audit.write(audit, async (c) => {
        await c.query('INSERT INTO tenants (id, doc, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc', [
          tenant.id,
          JSON.stringify(tenant),
          new Date().toISOString(),
        ]);
      });
    } catch (cause) {
      throw mapError(cause);
    }
  }

  async getTenant(id: string): Promise<Tenant | null> {
    const { rows } = await this.run<{ doc: string }>('SELECT doc FROM tenants WHERE id = $1', [id]);
    const row = rows[0];
    return row ? (JSON.parse(row.doc) as Tenant) : null;
  }

  async listTenants(): Promise<Tenant[]> {
    const { rows } = await this.run<{ doc: string }>('SELECT doc FROM tenants ORDER BY id');
    return rows.map((r) => JSON.parse(r.doc) as Tenant);
  }

  async listTenantKeys(tenantId: string): Promise<TenantKeyRow[]> {
    const { rows } = await this.run<Row>('SELECT * FROM tenant_keys WHERE tenant_id = $1 ORDER BY version', [tenantId]);
    return rows.map(toKeyRow);
  }

  async addTenantKey(row: TenantKeyRow, audit: readonly AuditEvent[]): Promise<void> {
    try {
      await this.audit.write(audit, async (c) => {
        await c.query("UPDATE tenant_keys SET state = 'retired' WHERE tenant_id = $1 AND state = 'active'", [row.tenantId]);
        await c.query(
          'INSERT INTO tenant_keys (tenant_id, version, wrapped_kek, master_key_id, state, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
          [row.tenantId, row.version, row.wrappedKek, row.masterKeyId, row.state, row.createdAt],
        );
      });
    } catch (cause) {
      throw mapError(cause);
    }
  }

  /**
   * Race-free against concurrent inserts and rewraps: the key row is locked FOR UPDATE before the
   * count, and the migration's trigger takes FOR SHARE on the same row for every patient written
   * under that version. So either a writer committed first (we wait for it, and the count, taken
   * after the lock with a fresh read-committed snapshot, sees its row) or it waits for us and then
   * finds the version destroyed and fails with Conflict.
   */
  async destroyTenantKey(tenantId: string, version: number, audit: AuditEvents<boolean>): Promise<boolean> {
    try {
      return await this.audit.write(audit, async (c) => {
        await c.query('SELECT 1 FROM tenant_keys WHERE tenant_id = $1 AND version = $2 FOR UPDATE', [tenantId, version]);
        const { rows } = await c.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM patients WHERE tenant_id = $1 AND kek_version = $2 AND wrapped_dek IS NOT NULL',
          [tenantId, version],
        );
        if ((rows[0]?.n ?? 0) > 0) return false;
        const res = await c.query(
          "UPDATE tenant_keys SET state = 'destroyed', wrapped_kek = NULL WHERE tenant_id = $1 AND version = $2 AND state = 'retired'",
          [tenantId, version],
        );
        return res.rowCount === 1;
      });
    } catch (cause) {
      throw mapError(cause);
    }
  }

  async getIndexKey(tenantId: string): Promise<{ wrappedKey: Buffer; masterKeyId: string } | null> {
    const { rows } = await this.run<{ wrapped_key: Buffer; master_key_id: string }>(
      'SELECT wrapped_key, master_key_id FROM tenant_index_keys WHERE tenant_id = $1',
      [tenantId],
    );
    const row = rows[0];
    return row ? { wrappedKey: row.wrapped_key, masterKeyId: row.master_key_id } : null;
  }

  async putIndexKeyIfAbsent(tenantId: string, wrappedKey: Buffer, masterKeyId: string): Promise<Buffer> {
    // A racing writer's ON CONFLICT waits for the winner to commit, and the SELECT (a new
    // read-committed snapshot) then returns the winner's key, so both callers get the same one.
    await this.run(
      'INSERT INTO tenant_index_keys (tenant_id, wrapped_key, master_key_id) VALUES ($1, $2, $3) ON CONFLICT (tenant_id) DO NOTHING',
      [tenantId, wrappedKey, masterKeyId],
    );
    const { rows } = await this.run<{ wrapped_key: Buffer }>('SELECT wrapped_key FROM tenant_index_keys WHERE tenant_id = $1', [tenantId]);
    const row = rows[0];
    if (!row) throw new StorageError('tenant index key vanished after insert');
    return row.wrapped_key;
  }

  /** One query however many keys: Patient keys join patients, the rest join resources. */
  async findContentMacs(keys: ResourceKey[]): Promise<Map<string, Buffer | null>> {
    const out = new Map<string, Buffer | null>();
    if (keys.length === 0) return out;
    const { rows } = await this.run<{ tenant_id: string; type: string; id: string; content_mac: Buffer | null }>(
      `WITH k (tenant_id, type, id) AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))
       SELECT p.tenant_id, 'Patient' AS type, p.id, p.content_mac
         FROM k JOIN patients p ON p.tenant_id = k.tenant_id AND p.id = k.id
        WHERE k.type = 'Patient'
       UNION ALL
       SELECT r.tenant_id, r.type, r.id, r.content_mac
         FROM k JOIN resources r ON r.tenant_id = k.tenant_id AND r.type = k.type AND r.id = k.id
        WHERE k.type <> 'Patient'`,
      [keys.map((k) => k.tenantId), keys.map((k) => k.type), keys.map((k) => k.id)],
    );
    for (const r of rows) out.set(resourceKeyString({ tenantId: r.tenant_id, type: r.type, id: r.id }), r.content_mac);
    return out;
  }

  /** One query however many ids. */
  async findPatientKeys(tenantId: string, ids: string[]): Promise<Map<string, PatientKeyInfo>> {
    const out = new Map<string, PatientKeyInfo>();
    if (ids.length === 0) return out;
    const { rows } = await this.run<{
      id: string;
      kek_version: number;
      wrapped_dek: Buffer | null;
      erased: boolean;
      content_mac: Buffer | null;
    }>(
      `SELECT p.id, p.kek_version, p.wrapped_dek, p.erased_at IS NOT NULL AS erased, p.content_mac
         FROM (SELECT DISTINCT id FROM unnest($2::text[]) AS u (id)) k
         JOIN patients p ON p.tenant_id = $1 AND p.id = k.id`,
      [tenantId, ids],
    );
    for (const r of rows) {
      out.set(resourceKeyString({ tenantId, type: 'Patient', id: r.id }), {
        kekVersion: r.kek_version,
        wrappedDek: r.wrapped_dek,
        erased: r.erased,
        contentMac: r.content_mac,
      });
    }
    return out;
  }

  /**
   * The bulk-ingest hot path: one transaction, one multi-row INSERT … SELECT FROM unnest(…) per
   * table (patients first, so the resources' foreign keys resolve). Rows whose id exists are
   * skipped by ON CONFLICT DO NOTHING; within a batch the first occurrence of an id wins.
   */
  async setBulkLoad(enabled: boolean): Promise<void> {
    this.bulkLoad = enabled;
    // synchronous_commit=off commits are flushed by the WAL writer within a few hundred ms;
    // a synchronous commit (txid_current() forces a commit record) waits for all of them.
    if (!enabled) await this.run('SELECT txid_current()');
  }

  async erasureEpoch(): Promise<number> {
    try {
      const { rows } = await this.pool.query<{ n: string }>('SELECT n FROM erasure_epoch WHERE id = 1');
      return Number(rows[0]?.n);
    } catch (cause) {
      throw mapError(cause);
    }
  }

  async writeBatch(batch: WriteBatch): Promise<{ skippedResources: ResourceKey[] }> {
    const { patients: ps, resources: rs } = batch;
    if (ps.length === 0 && rs.length === 0 && batch.audit.length === 0) return { skippedResources: [] };
    try {
      // Counted, not a set: a key repeated within the batch is inserted once and skipped after that.
      const inserted = new Map<string, number>();
      await this.audit.write(
        batch.audit,
        async (c) => {
          inserted.clear();
          if (batch.erasureEpoch !== undefined) {
            // FOR SHARE: an erasure (which bumps this row) waits for this transaction, or has committed and is seen.
            const { rows } = await c.query<{ n: string }>('SELECT n FROM erasure_epoch WHERE id = 1 FOR SHARE');
            if (Number(rows[0]?.n) !== batch.erasureEpoch) throw new Conflict('a patient was erased while the batch was prepared; retry');
          }
          if (ps.length > 0) {
            const res = await c.query(`${INSERT_PATIENTS.sql} RETURNING id`, INSERT_PATIENTS.values(ps));
            // The caller encrypted this batch under fresh DEKs for these patients; if another writer
            // created one meanwhile, those ciphertexts would be unreadable: write nothing.
            if (res.rowCount !== ps.length) throw new Conflict('a patient in the batch was created concurrently; retry');
          }
          if (rs.length > 0) {
            const res = await c.query<{ tenant_id: string; type: string; id: string }>(
              `${INSERT_RESOURCES.sql} RETURNING tenant_id, type, id`,
              INSERT_RESOURCES.values(rs),
            );
            for (const r of res.rows) {
              const k = resourceKeyString({ tenantId: r.tenant_id, type: r.type, id: r.id });
              inserted.set(k, (inserted.get(k) ?? 0) + 1);
            }
          }
        },
        { syncOff: this.bulkLoad },
      );
      const skippedResources: ResourceKey[] = [];
      for (const r of rs) {
        const k = resourceKeyString(r);
        const n = inserted.get(k) ?? 0;
        if (n > 0) inserted.set(k, n - 1);
        else skippedResources.push({ tenantId: r.tenantId, type: r.type, id: r.id });
      }
      return { skippedResources };
    } catch (cause) {
      throw mapError(cause);
    }
  }

  async getPatient(tenantId: string, id: string): Promise<PatientRow | null> {
    const { rows } = await this.run<Row>(`SELECT ${PATIENT_COLS} FROM patients WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
    const row = rows[0];
    return row ? toPatientRow(row) : null;
  }

  async findPatientsByBsnIndex(tenantId: string, index: Buffer): Promise<PatientRow[]> {
    const { rows } = await this.run<Row>(`SELECT ${PATIENT_COLS} FROM patients WHERE bsn_idx = $1 AND tenant_id = $2 ORDER BY id`, [
      index,
      tenantId,
    ]);
    return rows.map(toPatientRow);
  }

  async findPatientsByNameIndex(tenantId: string, index: Buffer): Promise<PatientRow[]> {
    const { rows } = await this.run<Row>(`SELECT ${PATIENT_COLS} FROM patients WHERE tenant_id = $1 AND name_idx = $2 ORDER BY id`, [
      tenantId,
      index,
    ]);
    return rows.map(toPatientRow);
  }

  async getResource(tenantId: string, type: ClinicalType, id: string): Promise<ResourceRow | null> {
    const { rows } = await this.run<Row>(`SELECT ${RESOURCE_COLS} FROM resources WHERE tenant_id = $1 AND type = $2 AND id = $3`, [
      tenantId,
      type,
      id,
    ]);
    const row = rows[0];
    return row ? toResourceRow(row) : null;
  }

  async listResourcesOfPatient(tenantId: string, patientId: string, type?: ClinicalType): Promise<ResourceRow[]> {
    const { rows } = type
      ? await this.run<Row>(`SELECT ${RESOURCE_COLS} FROM resources WHERE tenant_id = $1 AND patient_id = $2 AND type = $3 ORDER BY id`, [
          tenantId,
          patientId,
          type,
        ])
      : await this.run<Row>(`SELECT ${RESOURCE_COLS} FROM resources WHERE tenant_id = $1 AND patient_id = $2 ORDER BY type, id`, [
          tenantId,
          patientId,
        ]);
    return rows.map(toResourceRow);
  }

  async listDeksWrappedBy(
    tenantId: string,
    kekVersion: number,
    afterId: string,
    limit: number,
  ): Promise<{ id: string; wrappedDek: Buffer }[]> {
    const { rows } = await this.run<{ id: string; wrapped_dek: Buffer }>(
      'SELECT id, wrapped_dek FROM patients WHERE tenant_id = $1 AND kek_version = $2 AND wrapped_dek IS NOT NULL AND id > $3 ORDER BY id LIMIT $4',
      [tenantId, kekVersion, afterId, limit],
    );
    return rows.map((r) => ({ id: r.id, wrappedDek: r.wrapped_dek }));
  }

  /**
   * One UPDATE … FROM unnest: a single statement is its own transaction, so the page is rewrapped
   * all or nothing without BEGIN/COMMIT round trips. The trigger refuses a destroyed `toVersion`.
   */
  async rewrapDeks(
    tenantId: string,
    fromVersion: number,
    toVersion: number,
    updates: RewrapUpdate[],
    audit: AuditEvents<number>,
  ): Promise<number> {
    if (updates.length === 0) return 0;
    try {
      return await this.audit.write(audit, async (c) => {
        const res = await c.query(
          `UPDATE patients p SET kek_version = $3, wrapped_dek = u.wrapped_dek
           FROM unnest($4::text[], $5::bytea[]) AS u (id, wrapped_dek)
          WHERE p.tenant_id = $1 AND p.id = u.id AND p.kek_version = $2 AND p.wrapped_dek IS NOT NULL`,
          [tenantId, fromVersion, toVersion, updates.map((u) => u.id), updates.map((u) => u.wrappedDek)],
        );
        return res.rowCount ?? 0;
      });
    } catch (cause) {
      throw mapError(cause);
    }
  }

  async countDeksWrappedBy(tenantId: string, kekVersion: number): Promise<number> {
    const { rows } = await this.run<{ n: number }>(
      'SELECT count(*)::int AS n FROM patients WHERE tenant_id = $1 AND kek_version = $2 AND wrapped_dek IS NOT NULL',
      [tenantId, kekVersion],
    );
    return rows[0]?.n ?? 0;
  }

  /**
   * Nulls the DEK, identity, blind indexes and MAC, then VACUUMs `patients` (outside any
   * transaction, as VACUUM requires) so the dead tuple version still holding the old values is
   * pruned now rather than whenever autovacuum gets to it. INDEX_CLEANUP ON because PostgreSQL
   * otherwise skips index vacuuming when few pages have dead tuples, which would leave the old
   * blind-index entries in the bsn/name indexes.
   *
   * Limits, by design handled elsewhere: VACUUM cannot prune a version some open transaction may
   * still see, and it frees space rather than overwriting it (stale bytes can linger in a page's
   * free space until reused). WAL segments, and replicas fed by them, keep the old row until the
   * segments are recycled; backups are covered by the erasure ledger (later). What makes every such
   * remnant unreadable is the key hierarchy: the old wrapped DEK is useless once its KEK version
   * is rotated out and destroyed.
   */
  async erasePatient(tenantId: string, id: string, at: string, audit: AuditEvents<boolean>): Promise<boolean> {
    let changed: boolean;
    try {
      changed = await this.audit.write(audit, async (c) => {
        const res = await c.query(
          'UPDATE patients SET wrapped_dek = NULL, identity = NULL, bsn_idx = NULL, name_idx = NULL, content_mac = NULL, erased_at = $1 WHERE tenant_id = $2 AND id = $3 AND erased_at IS NULL',
          [at, tenantId, id],
        );
        return res.rowCount === 1;
      });
    } catch (cause) {
      throw mapError(cause);
    }
    // Also after a no-op (already erased), so a retry after a failed VACUUM still cleans up.
    await this.run('VACUUM (INDEX_CLEANUP ON) patients');
    return changed;
  }

  async appendAudit(events: readonly AuditEvent[]): Promise<AuditHead> {
    try {
      await this.audit.write(events, async () => undefined);
      return await this.audit.head();
    } catch (cause) {
      throw mapError(cause);
    }
  }

  async auditHead(): Promise<AuditHead> {
    try {
      return await this.audit.head();
    } catch (cause) {
      throw mapError(cause);
    }
  }

  readAuditEvents(from: number, to: number): AsyncIterable<Buffer[]> {
    return this.audit.read(from, to);
  }

  async getAuditEvent(seq: number): Promise<Buffer | null> {
    return this.audit.event(seq);
  }

  /** Always ordered: PostgreSQL may scan in any order (or in parallel), so `fast` changes nothing. */
  readAuditNdjson(): AsyncIterable<Buffer> {
    return this.audit.ndjson();
  }

  readAuditIndexRows(): AsyncIterable<AuditIndexRow[]> {
    return this.audit.indexRows();
  }

  readAuditPatientRefs(): AsyncIterable<AuditPatientRef[]> {
    return this.audit.patientRefs();
  }

  readAuditOriginRefs(): AsyncIterable<AuditOriginRef[]> {
    return this.audit.originRefs();
  }

  async getAuditTile(level: number, index: number): Promise<Buffer | null> {
    return this.audit.tile(level, index);
  }

  async queryAudit(q: AuditQuery): Promise<StoredAuditEvent[]> {
    return this.audit.query(q);
  }

  async addCheckpoint(cp: StoredCheckpoint): Promise<void> {
    try {
      await this.audit.addCheckpoint(cp);
    } catch (cause) {
      throw mapError(cause);
    }
  }

  async listCheckpoints(): Promise<StoredCheckpoint[]> {
    return this.audit.checkpoints();
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | null> {
    return (await this.audit.checkpoints(true))[0] ?? null;
  }

  async countResources(): Promise<ResourceCount[]> {
    const { rows } = await this.run<{ tenant_id: string; type: string; n: number }>(
      "SELECT tenant_id, 'Patient' AS type, count(*)::int AS n FROM patients WHERE erased_at IS NULL GROUP BY tenant_id UNION ALL SELECT tenant_id, type, count(*)::int AS n FROM resources GROUP BY tenant_id, type ORDER BY 1, 2",
    );
    return rows.map((r) => ({ tenantId: r.tenant_id, type: r.type, count: r.n }));
  }

  /** A pooled query whose failure surfaces as a coded error rather than a raw driver error. */
  private async run<R extends QueryResultRow = Row>(text: string, values?: unknown[]) {
    try {
      return await this.pool.query<R>(text, values);
    } catch (cause) {
      throw mapError(cause);
    }
  }

  /** Runs `fn` in BEGIN/COMMIT on one pooled connection; a connection that fails ROLLBACK is discarded. */
  private async tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch((rollbackErr: unknown) => {
        broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
      });
      throw e;
    } finally {
      c.release(broken);
    }
  }

  private async lockMigrations(c: PoolClient): Promise<void> {
    await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATION_LOCK_CLASS, this.schema]);
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function mapError(cause: unknown, message = 'storage operation failed'): Error {
  if (cause instanceof VaultError) return cause;
  if (staleKekError(cause)) return new Conflict('key-encryption key was rotated during the write; retry', { cause });
  // A serialisation failure or deadlock (a server run at REPEATABLE READ or SERIALIZABLE): nothing was written, decide again.
  const code = (cause as { code?: unknown } | null)?.code;
  if (code === '40001' || code === '40P01') return new Conflict('concurrent transaction; retry', { cause });
  return new StorageError(message, { cause });
}

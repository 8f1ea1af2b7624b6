import { indexExists } from './deferred-indexes.js';
import type Database from 'better-sqlite3';
import type { AuditEvent } from '../../domain/audit-event.js';
import { Conflict, InvalidInput } from '../../domain/errors.js';
import type {
  AccessStore,
  ApiKeyRow,
  BlindIndexPage,
  BreakGlassGrant,
  ExportJob,
  PrincipalRow,
  PrincipalStatus,
  ResourceSearch,
  RevokedToken,
} from '../../ports/access-store.js';
import type { AuditEvents } from '../../ports/audit-store.js';
import type { ResourceRow } from '../../ports/vault-store.js';
import {
  API_KEYS,
  BREAK_GLASS,
  EXPORT_JOBS,
  PRINCIPALS,
  REVOKED_TOKENS,
  insertSql,
  instant,
  selectSql,
  type AccessTable,
} from '../access-rows.js';
import { blindIndexConcatSql, countSql, patientIdsSql, searchSql, type CountSearch, type SqlQuery } from '../resource-search.js';
import { blindIndexPageFromConcat, type BlindIndexConcatRow } from '../blind-index-page.js';
import { toResourceRow, type Row } from '../row-mappers.js';
import { storageError } from '../storage-error.js';
import type { SqliteAuditLog } from './sqlite-audit-log.js';

/**
 * The AccessStore half of the SQLite adapter, sharing its connection and audit log: every write
 * runs in the audit log's IMMEDIATE transaction, so it commits with its events or not at all.
 * Created after migrate() (the statements need the tables).
 */
export class SqliteAccessStore implements AccessStore {
  private readonly s: ReturnType<typeof prepare>;
  // Searches combine optional filters into at most a few hundred distinct SQL texts: prepare each once.
  private readonly searches = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    private readonly audit: SqliteAuditLog,
  ) {
    this.s = prepare(db);
  }

  async insertPrincipal(row: PrincipalRow, audit: readonly AuditEvent[]): Promise<void> {
    await this.insert(this.s.insertPrincipal, PRINCIPALS, row, audit);
  }

  async getPrincipal(id: string): Promise<PrincipalRow | null> {
    return this.one(this.s.getPrincipal, PRINCIPALS, id);
  }

  async listPrincipals(): Promise<PrincipalRow[]> {
    return (this.s.listPrincipals.all() as Row[]).map(PRINCIPALS.fromRow);
  }

  async setPrincipalStatus(
    id: string,
    status: PrincipalStatus,
    reason: string | null,
    at: string,
    audit: AuditEvents<boolean>,
  ): Promise<boolean> {
    return this.write(audit, () => this.s.setStatus.run(status, reason, instant(at), id).changes === 1);
  }

  async insertApiKey(row: ApiKeyRow, audit: readonly AuditEvent[]): Promise<void> {
    await this.insert(this.s.insertApiKey, API_KEYS, row, audit, () => {
      // Checked in the write transaction (SQLite's write lock makes it final) so the error names the
      // cause rather than surfacing as a foreign-key StorageError.
      if (!this.s.principalExists.get(row.principalId)) throw new InvalidInput('API key for an unknown principal');
    });
  }

  async getApiKey(id: string): Promise<ApiKeyRow | null> {
    return this.one(this.s.getApiKey, API_KEYS, id);
  }

  async revokeApiKey(id: string, at: string, audit: AuditEvents<boolean>): Promise<boolean> {
    return this.write(audit, () => this.s.revokeApiKey.run(instant(at), id).changes === 1);
  }

  async revokeToken(row: RevokedToken, audit: readonly AuditEvent[]): Promise<void> {
    const values = REVOKED_TOKENS.values(row);
    // Idempotent: an existing row (first revocation) is kept as it is.
    await this.write(audit, () => void this.s.insertRevokedToken.run(...values));
  }

  async isTokenRevoked(tokenId: string): Promise<boolean> {
    return this.s.tokenRevoked.get(tokenId) !== undefined;
  }

  async insertBreakGlass(grant: BreakGlassGrant, audit: readonly AuditEvent[]): Promise<void> {
    await this.insert(this.s.insertBreakGlass, BREAK_GLASS, grant, audit);
  }

  async activeBreakGlass(principalId: string, tenantId: string, now: string): Promise<BreakGlassGrant | null> {
    const at = instant(now);
    const row = this.s.activeBreakGlass.get(principalId, tenantId, at, at) as Row | undefined;
    return row ? BREAK_GLASS.fromRow(row) : null;
  }

  async insertExportJob(job: ExportJob, audit: readonly AuditEvent[]): Promise<void> {
    await this.insert(this.s.insertExportJob, EXPORT_JOBS, job, audit);
  }

  async getExportJob(id: string): Promise<ExportJob | null> {
    return this.one(this.s.getExportJob, EXPORT_JOBS, id);
  }

  async approveExportJob(id: string, approverId: string, at: string, audit: AuditEvents<boolean>): Promise<boolean> {
    const when = instant(at);
    return this.write(audit, () => this.s.approveExportJob.run(approverId, when, id, when, approverId).changes === 1);
  }

  async searchResources(tenantId: string, q: ResourceSearch): Promise<ResourceRow[]> {
    const { stmt, args } = this.query(searchSql(tenantId, q, 'sqlite', this.hasIndex));
    return (stmt.all(...args) as Row[]).map(toResourceRow);
  }

  async countSearch(tenantId: string, q: CountSearch): Promise<number> {
    const { stmt, args } = this.query(countSql(tenantId, q, 'sqlite', this.hasIndex));
    return (stmt.get(...args) as { n: number }).n;
  }

  async listPatientIds(tenantId: string, afterId: string, limit: number, createdSince?: string): Promise<string[]> {
    const { stmt, args } = this.query(patientIdsSql(tenantId, afterId, limit, createdSince, 'sqlite'));
    return (stmt.all(...args) as { id: string }[]).map((r) => r.id);
  }

  async listBlindIndexes(tenantId: string, afterId: string, limit: number): Promise<BlindIndexPage> {
    const { stmt, args } = this.query(blindIndexConcatSql(tenantId, afterId, limit));
    return blindIndexPageFromConcat(stmt.get(...args) as BlindIndexConcatRow);
  }

  /** Checked per search: a bulk load in any process may have dropped the index (deferred-indexes.ts). */
  private readonly hasIndex = (name: string): boolean => indexExists(this.db, name);

  /** The query's statement, prepared once per distinct SQL text. */
  private query(q: SqlQuery): { stmt: Database.Statement; args: unknown[] } {
    let stmt = this.searches.get(q.sql);
    if (!stmt) {
      stmt = this.db.prepare(q.sql);
      this.searches.set(q.sql, stmt);
    }
    return { stmt, args: q.args };
  }

  private one<T>(stmt: Database.Statement, table: AccessTable<T>, key: string): T | null {
    const row = stmt.get(key) as Row | undefined;
    return row ? table.fromRow(row) : null;
  }

  /** Runs `body` and appends the events in one transaction; the events see the body's result. */
  private async write<T>(audit: AuditEvents<T>, body: () => T): Promise<T> {
    try {
      return await this.audit.write(audit, body);
    } catch (cause) {
      throw storageError(cause, 'storage write failed');
    }
  }

  private async insert<T>(
    stmt: Database.Statement,
    table: AccessTable<T>,
    row: T,
    audit: readonly AuditEvent[],
    check: () => void = () => undefined,
  ): Promise<void> {
    const values = table.values(row);
    await this.write(audit, () => {
      check();
      // Thrown before the events are appended: the transaction rolls back with nothing written.
      if (stmt.run(...values).changes === 0) throw new Conflict(table.duplicate);
    });
  }
}

function prepare(db: Database.Database) {
  return {
    insertPrincipal: db.prepare(insertSql(PRINCIPALS, 'sqlite')),
    getPrincipal: db.prepare(`${selectSql(PRINCIPALS)} WHERE id = ?`),
    listPrincipals: db.prepare(`${selectSql(PRINCIPALS)} ORDER BY id`),
    principalExists: db.prepare('SELECT 1 FROM principals WHERE id = ?'),
    setStatus: db.prepare('UPDATE principals SET status = ?, status_reason = ?, updated_at = ? WHERE id = ?'),
    insertApiKey: db.prepare(insertSql(API_KEYS, 'sqlite')),
    getApiKey: db.prepare(`${selectSql(API_KEYS)} WHERE id = ?`),
    revokeApiKey: db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    insertRevokedToken: db.prepare(insertSql(REVOKED_TOKENS, 'sqlite')),
    tokenRevoked: db.prepare('SELECT 1 FROM revoked_tokens WHERE token_id = ?'),
    insertBreakGlass: db.prepare(insertSql(BREAK_GLASS, 'sqlite')),
    // Open means created at or before `now` and expiring after it; the latest expiry wins.
    activeBreakGlass: db.prepare(
      `${selectSql(BREAK_GLASS)} WHERE principal_id = ? AND tenant_id = ? AND expires_at > ? AND created_at <= ? ORDER BY expires_at DESC, id DESC LIMIT 1`,
    ),
    insertExportJob: db.prepare(insertSql(EXPORT_JOBS, 'sqlite')),
    getExportJob: db.prepare(`${selectSql(EXPORT_JOBS)} WHERE id = ?`),
    // One conditional UPDATE: the checks and the change cannot be separated by another writer.
    approveExportJob: db.prepare(
      "UPDATE export_jobs SET state = 'approved', approver_id = ?, approved_at = ? WHERE id = ? AND state = 'awaiting-approval' AND expires_at > ? AND requester_id <> ?",
    ),
  };
}

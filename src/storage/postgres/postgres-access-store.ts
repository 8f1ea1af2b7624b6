import type { Pool, PoolClient, QueryResultRow } from 'pg';
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
import { blindIndexPageSql, countSql, patientIdsSql, searchSql, type CountSearch, type SqlQuery } from '../resource-search.js';
import { blindIndexPage } from '../blind-index-page.js';
import { toResourceRow, type Row } from '../row-mappers.js';
import { storageError } from '../storage-error.js';
import type { PostgresAuditLog } from './postgres-audit-log.js';

/**
 * The AccessStore half of the PostgreSQL adapter, sharing its pool and audit log: every write runs
 * in the audit log's transaction, so it commits with its events or not at all. Every state that
 * matters (suspensions, revocations, approvals) lives in the database, so API nodes sharing it
 * agree; conditional changes are single UPDATEs, atomic under concurrent callers.
 */
export class PostgresAccessStore implements AccessStore {
  constructor(
    private readonly pool: Pool,
    private readonly audit: PostgresAuditLog,
  ) {}

  async insertPrincipal(row: PrincipalRow, audit: readonly AuditEvent[]): Promise<void> {
    await this.insert(PRINCIPALS, row, audit);
  }

  async getPrincipal(id: string): Promise<PrincipalRow | null> {
    return this.one(PRINCIPALS, `${selectSql(PRINCIPALS)} WHERE id = $1`, [id]);
  }

  async listPrincipals(): Promise<PrincipalRow[]> {
    const { rows } = await this.run<Row>(`${selectSql(PRINCIPALS)} ORDER BY id`);
    return rows.map(PRINCIPALS.fromRow);
  }

  async setPrincipalStatus(
    id: string,
    status: PrincipalStatus,
    reason: string | null,
    at: string,
    audit: AuditEvents<boolean>,
  ): Promise<boolean> {
    const when = instant(at);
    return this.write(audit, async (c) => {
      const res = await c.query('UPDATE principals SET status = $1, status_reason = $2, updated_at = $3 WHERE id = $4', [
        status,
        reason,
        when,
        id,
      ]);
      return res.rowCount === 1;
    });
  }

  async insertApiKey(row: ApiKeyRow, audit: readonly AuditEvent[]): Promise<void> {
    await this.insert(API_KEYS, row, audit, async (c) => {
      // Principals are never deleted, so a committed one seen here stays; the foreign key backs this up.
      const { rowCount } = await c.query('SELECT 1 FROM principals WHERE id = $1', [row.principalId]);
      if (!rowCount) throw new InvalidInput('API key for an unknown principal');
    });
  }

  async getApiKey(id: string): Promise<ApiKeyRow | null> {
    return this.one(API_KEYS, `${selectSql(API_KEYS)} WHERE id = $1`, [id]);
  }

  async revokeApiKey(id: string, at: string, audit: AuditEvents<boolean>): Promise<boolean> {
    const when = instant(at);
    return this.write(audit, async (c) => {
      const res = await c.query('UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [when, id]);
      return res.rowCount === 1;
    });
  }

  async revokeToken(row: RevokedToken, audit: readonly AuditEvent[]): Promise<void> {
    const values = REVOKED_TOKENS.values(row);
    // Idempotent: an existing row (first revocation) is kept as it is.
    await this.write(audit, async (c) => void (await c.query(insertSql(REVOKED_TOKENS, 'postgres'), values)));
  }

  async isTokenRevoked(tokenId: string): Promise<boolean> {
    const { rowCount } = await this.run('SELECT 1 FROM revoked_tokens WHERE token_id = $1', [tokenId]);
    return (rowCount ?? 0) > 0;
  }

  async insertBreakGlass(grant: BreakGlassGrant, audit: readonly AuditEvent[]): Promise<void> {
    await this.insert(BREAK_GLASS, grant, audit);
  }

  async activeBreakGlass(principalId: string, tenantId: string, now: string): Promise<BreakGlassGrant | null> {
    // Open means created at or before `now` and expiring after it; the latest expiry wins.
    return this.one(
      BREAK_GLASS,
      `${selectSql(BREAK_GLASS)} WHERE principal_id = $1 AND tenant_id = $2 AND expires_at > $3 AND created_at <= $3 ORDER BY expires_at DESC, id DESC LIMIT 1`,
      [principalId, tenantId, instant(now)],
    );
  }

  async insertExportJob(job: ExportJob, audit: readonly AuditEvent[]): Promise<void> {
    await this.insert(EXPORT_JOBS, job, audit);
  }

  async getExportJob(id: string): Promise<ExportJob | null> {
    return this.one(EXPORT_JOBS, `${selectSql(EXPORT_JOBS)} WHERE id = $1`, [id]);
  }

  /**
   * One conditional UPDATE: a concurrent approver blocks on the row lock, then re-checks the WHERE
   * clause against the committed row (now approved) and changes nothing.
   */
  async approveExportJob(id: string, approverId: string, at: string, audit: AuditEvents<boolean>): Promise<boolean> {
    const when = instant(at);
    return this.write(audit, async (c) => {
      const res = await c.query(
        "UPDATE export_jobs SET state = 'approved', approver_id = $1, approved_at = $2 WHERE id = $3 AND state = 'awaiting-approval' AND expires_at > $2 AND requester_id <> $1",
        [approverId, when, id],
      );
      return res.rowCount === 1;
    });
  }

  async searchResources(tenantId: string, q: ResourceSearch): Promise<ResourceRow[]> {
    const { rows } = await this.runQuery<Row>(searchSql(tenantId, q, 'postgres'));
    return rows.map(toResourceRow);
  }

  async countSearch(tenantId: string, q: CountSearch): Promise<number> {
    // count(*) is a BIGINT, which node-postgres hands over as a string.
    const { rows } = await this.runQuery<{ n: string }>(countSql(tenantId, q, 'postgres'));
    return Number(rows[0]?.n ?? 0);
  }

  async listPatientIds(tenantId: string, afterId: string, limit: number, createdSince?: string): Promise<string[]> {
    const { rows } = await this.runQuery<{ id: string }>(patientIdsSql(tenantId, afterId, limit, createdSince, 'postgres'));
    return rows.map((r) => r.id);
  }

  async listBlindIndexes(tenantId: string, afterId: string, limit: number): Promise<BlindIndexPage> {
    const { rows } = await this.runQuery<{ id: string; bsn_hex: string | null; name_hex: string | null }>(
      blindIndexPageSql(tenantId, afterId, limit, 'postgres'),
    );
    return blindIndexPage(rows.map((r) => [r.id, r.bsn_hex, r.name_hex] as const));
  }

  private async one<T>(table: AccessTable<T>, sql: string, values: unknown[]): Promise<T | null> {
    const { rows } = await this.run<Row>(sql, values);
    const row = rows[0];
    return row ? table.fromRow(row) : null;
  }

  /** Runs `body` and appends the events in one transaction; the events see the body's result. */
  private async write<T>(audit: AuditEvents<T>, body: (c: PoolClient) => Promise<T>): Promise<T> {
    try {
      return await this.audit.write(audit, body);
    } catch (cause) {
      throw storageError(cause);
    }
  }

  private async insert<T>(
    table: AccessTable<T>,
    row: T,
    audit: readonly AuditEvent[],
    check: (c: PoolClient) => Promise<void> = async () => undefined,
  ): Promise<void> {
    const values = table.values(row);
    await this.write(audit, async (c) => {
      await check(c);
      // Thrown before the events are appended: the transaction rolls back with nothing written.
      const res = await c.query(insertSql(table, 'postgres'), values);
      if (res.rowCount === 0) throw new Conflict(table.duplicate);
    });
  }

  private runQuery<R extends QueryResultRow>(q: SqlQuery) {
    return this.run<R>(q.sql, q.args);
  }

  /** A pooled query whose failure surfaces as a coded error rather than a raw driver error. */
  private async run<R extends QueryResultRow = Row>(text: string, values?: unknown[]) {
    try {
      return await this.pool.query<R>(text, values);
    } catch (cause) {
      throw storageError(cause);
    }
  }
}

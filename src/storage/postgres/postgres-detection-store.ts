import type { Pool, PoolClient, QueryResultRow } from 'pg';
import type { AuditEvent } from '../../domain/audit-event.js';
import { Conflict, InvalidInput } from '../../domain/errors.js';
import type { AuditEvents } from '../../ports/audit-store.js';
import type {
  BaselineRow,
  CanarySetRow,
  ContainmentRow,
  DetectionStore,
  IncidentRow,
  IncidentStatus,
  ReleaseApproval,
  ReleaseOutcome,
} from '../../ports/detection-store.js';
import { insertSql, instant, selectSql, type AccessTable } from '../access-rows.js';
import {
  APPROVALS,
  BASELINES,
  BASELINE_UPDATE,
  CANARY_SETS,
  CONTAINMENTS,
  INCIDENTS,
  checkContainment,
  lastPerKey,
} from '../detection-rows.js';
import type { Row } from '../row-mappers.js';
import { storageError } from '../storage-error.js';
import type { PostgresAuditLog } from './postgres-audit-log.js';

// Upserts every row in one statement (atomic by itself, one round trip however many hours change).
const UPSERT_BASELINES = `INSERT INTO ${BASELINES.name} (${BASELINES.columns.join(', ')})
SELECT * FROM unnest($1::text[], $2::int[], $3::float8[], $4::float8[], $5::int[], $6::timestamptz[])
ON CONFLICT (${BASELINES.key}) DO UPDATE SET ${BASELINE_UPDATE}`;

/**
 * The DetectionStore half of the PostgreSQL adapter, sharing its pool and audit log: every audited
 * write runs in the audit log's transaction, so a containment, its incident, the principal's
 * suspension and their events commit together or not at all, and every node sharing the database
 * sees the same active containments. Read-then-write steps lock the rows they decide on (see
 * {@link approveRelease}), so concurrent callers on any node cannot both miss each other.
 */
export class PostgresDetectionStore implements DetectionStore {
  constructor(
    private readonly pool: Pool,
    private readonly audit: PostgresAuditLog,
  ) {}

  async insertIncident(row: IncidentRow, audit: readonly AuditEvent[]): Promise<void> {
    const values = INCIDENTS.values(row);
    await this.write(audit, (c) => insert(c, INCIDENTS, values));
  }

  async getIncident(id: string): Promise<IncidentRow | null> {
    return this.one(INCIDENTS, `${selectSql(INCIDENTS)} WHERE id = $1`, [id]);
  }

  async listIncidents(): Promise<IncidentRow[]> {
    const { rows } = await this.run<Row>(`${selectSql(INCIDENTS)} ORDER BY opened_at DESC, id DESC`);
    return rows.map(INCIDENTS.fromRow);
  }

  async updateIncident(id: string, status: IncidentStatus, doc: Record<string, unknown>, audit: AuditEvents<boolean>): Promise<boolean> {
    const text = JSON.stringify(doc);
    return this.write(audit, async (c) => {
      const res = await c.query('UPDATE incidents SET status = $1, doc = $2 WHERE id = $3', [status, text, id]);
      return res.rowCount === 1;
    });
  }

  async contain(incident: IncidentRow, containment: ContainmentRow, suspendReason: string, audit: readonly AuditEvent[]): Promise<void> {
    checkContainment(incident, containment);
    const inc = INCIDENTS.values(incident);
    const con = CONTAINMENTS.values(containment);
    const at = instant(containment.createdAt);
    await this.write(audit, async (c) => {
      await insert(c, INCIDENTS, inc);
      await insert(c, CONTAINMENTS, con);
      // No row (a principal of an external issuer) changes nothing: the containment alone blocks it.
      await c.query("UPDATE principals SET status = 'suspended', status_reason = $1, updated_at = $2 WHERE id = $3", [
        suspendReason,
        at,
        containment.principalId,
      ]);
    });
  }

  async getContainment(id: string): Promise<ContainmentRow | null> {
    return this.one(CONTAINMENTS, `${selectSql(CONTAINMENTS)} WHERE id = $1`, [id]);
  }

  async activeContainments(): Promise<ContainmentRow[]> {
    const { rows } = await this.run<Row>(`${selectSql(CONTAINMENTS)} WHERE state = 'active' ORDER BY created_at, id`);
    return rows.map(CONTAINMENTS.fromRow);
  }

  async listContainments(): Promise<ContainmentRow[]> {
    const { rows } = await this.run<Row>(`${selectSql(CONTAINMENTS)} ORDER BY created_at DESC, id DESC`);
    return rows.map(CONTAINMENTS.fromRow);
  }

  async approvalsOf(containmentId: string): Promise<ReleaseApproval[]> {
    const { rows } = await this.run<Row>(`${selectSql(APPROVALS)} WHERE containment_id = $1 ORDER BY at, officer_id`, [containmentId]);
    return rows.map(APPROVALS.fromRow);
  }

  /**
   * Under READ COMMITTED two officers approving at once would each count only their own approval
   * and neither would release; so the containment row is locked first, and the second approver
   * counts after the first has committed. Likewise the principal row is locked before looking for
   * its other active containments, so two releases of the same principal's containments cannot
   * each see the other still active and both leave it suspended. Lock order (containment, then
   * principal) is the same in every caller, and contain() locks only the principal.
   */
  async approveRelease(approval: ReleaseApproval, audit: AuditEvents<ReleaseOutcome>): Promise<ReleaseOutcome> {
    const values = APPROVALS.values(approval);
    const at = instant(approval.at);
    const id = approval.containmentId;
    return this.write(audit, async (c): Promise<ReleaseOutcome> => {
      const { rows } = await c.query<{ state: string; principal_id: string; approvals_required: number }>(
        'SELECT state, principal_id, approvals_required FROM containments WHERE id = $1 FOR UPDATE',
        [id],
      );
      const row = rows[0];
      if (row?.state !== 'active') return { found: false, counted: false, approvals: await count(c, id), released: false };
      const counted = (await c.query(insertSql(APPROVALS, 'postgres'), values)).rowCount === 1;
      const approvals = await count(c, id);
      if (!counted || approvals < row.approvals_required) return { found: true, counted, approvals, released: false };
      await c.query("UPDATE containments SET state = 'released', released_at = $1 WHERE id = $2", [at, id]);
      await c.query('SELECT 1 FROM principals WHERE id = $1 FOR UPDATE', [row.principal_id]);
      const others = await c.query("SELECT 1 FROM containments WHERE principal_id = $1 AND state = 'active' LIMIT 1", [row.principal_id]);
      if (!others.rowCount) {
        await c.query("UPDATE principals SET status = 'active', status_reason = $1, updated_at = $2 WHERE id = $3", [
          approval.reason,
          at,
          row.principal_id,
        ]);
      }
      return { found: true, counted, approvals, released: true };
    });
  }

  async insertCanarySet(row: CanarySetRow, audit: readonly AuditEvent[]): Promise<void> {
    const values = CANARY_SETS.values(row);
    await this.write(audit, async (c) => {
      // Tenants are never deleted, so a committed one seen here stays; the foreign key backs this up.
      const { rowCount } = await c.query('SELECT 1 FROM tenants WHERE id = $1', [row.tenantId]);
      if (!rowCount) throw new InvalidInput('canary set for an unknown tenant');
      await insert(c, CANARY_SETS, values);
    });
  }

  async listCanarySets(tenantId?: string): Promise<CanarySetRow[]> {
    const { rows } =
      tenantId === undefined
        ? await this.run<Row>(`${selectSql(CANARY_SETS)} ORDER BY created_at, id`)
        : await this.run<Row>(`${selectSql(CANARY_SETS)} WHERE tenant_id = $1 ORDER BY created_at, id`, [tenantId]);
    return rows.map(CANARY_SETS.fromRow);
  }

  async saveBaselines(rows: readonly BaselineRow[]): Promise<void> {
    // One statement may not upsert a key twice; SQLite's row-by-row upsert keeps the last, so do we.
    const values = lastPerKey(rows.map(BASELINES.values));
    if (values.length === 0) return;
    await this.run(
      UPSERT_BASELINES,
      BASELINES.columns.map((_, i) => values.map((v) => v[i])),
    );
  }

  async loadBaselines(principalId: string): Promise<BaselineRow[]> {
    const { rows } = await this.run<Row>(`${selectSql(BASELINES)} WHERE principal_id = $1 ORDER BY hour_of_week`, [principalId]);
    return rows.map(BASELINES.fromRow);
  }

  /**
   * The known origin (the usual case) costs one UPDATE. Otherwise the INSERT decides: of several
   * nodes seeing a new origin at once exactly one inserts and answers true; the others touch the
   * row it committed. Origins are never deleted, so no transaction is needed around the steps.
   */
  async recordOrigin(principalId: string, ip: string, at: string): Promise<boolean> {
    const when = instant(at);
    // Sightings may be recorded out of order (several nodes, delayed batches): last_seen only moves forward.
    const touch = 'UPDATE principal_origins SET last_seen = GREATEST(last_seen, $1) WHERE principal_id = $2 AND ip = $3';
    if ((await this.run(touch, [when, principalId, ip])).rowCount === 1) return false;
    const inserted = await this.run(
      'INSERT INTO principal_origins (principal_id, ip, first_seen, last_seen) VALUES ($1, $2, $3, $3) ON CONFLICT (principal_id, ip) DO NOTHING',
      [principalId, ip, when],
    );
    if (inserted.rowCount === 1) return true;
    await this.run(touch, [when, principalId, ip]);
    return false;
  }

  async hasOrigins(principalId: string): Promise<boolean> {
    const { rowCount } = await this.run('SELECT 1 FROM principal_origins WHERE principal_id = $1 LIMIT 1', [principalId]);
    return (rowCount ?? 0) > 0;
  }

  async newestOrderDate(tenantId: string): Promise<string | null> {
    // effective_date is the order's authoredOn day (yyyy-mm-dd, COLLATE "C"), so text order is date order.
    const { rows } = await this.run<{ d: string | null }>(
      "SELECT max(effective_date) AS d FROM resources WHERE tenant_id = $1 AND type = 'ServiceRequest'",
      [tenantId],
    );
    return rows[0]?.d ?? null;
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

  /** A pooled query whose failure surfaces as a coded error rather than a raw driver error. */
  private async run<R extends QueryResultRow = Row>(text: string, values?: unknown[]) {
    try {
      return await this.pool.query<R>(text, values);
    } catch (cause) {
      throw storageError(cause);
    }
  }
}

/** Thrown before the events are appended: the transaction rolls back with nothing written. */
async function insert<T>(c: PoolClient, table: AccessTable<T>, values: unknown[]): Promise<void> {
  const res = await c.query(insertSql(table, 'postgres'), values);
  if (res.rowCount === 0) throw new Conflict(table.duplicate);
}

async function count(c: PoolClient, containmentId: string): Promise<number> {
  const { rows } = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM containment_approvals WHERE containment_id = $1', [
    containmentId,
  ]);
  return rows[0]?.n ?? 0;
}

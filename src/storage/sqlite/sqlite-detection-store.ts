import type Database from 'better-sqlite3';
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
import { insertSql, instant, placeholders, selectSql, type AccessTable } from '../access-rows.js';
import { APPROVALS, BASELINES, BASELINE_UPDATE, CANARY_SETS, CONTAINMENTS, INCIDENTS, checkContainment } from '../detection-rows.js';
import type { Row } from '../row-mappers.js';
import { storageError } from '../storage-error.js';
import type { SqliteAuditLog } from './sqlite-audit-log.js';

/**
 * The DetectionStore half of the SQLite adapter, sharing its connection and audit log: every
 * audited write runs in the audit log's IMMEDIATE transaction, so a containment, its incident, the
 * principal's suspension and their events commit together or not at all. The write lock makes
 * each read-then-write (approvals counted, other containments checked) final. Created after
 * migrate() (the statements need the tables).
 */
export class SqliteDetectionStore implements DetectionStore {
  private readonly s: ReturnType<typeof prepare>;

  constructor(
    private readonly db: Database.Database,
    private readonly audit: SqliteAuditLog,
  ) {
    this.s = prepare(db);
  }

  async insertIncident(row: IncidentRow, audit: readonly AuditEvent[]): Promise<void> {
    const values = INCIDENTS.values(row);
    await this.write(audit, () => this.insert(this.s.insertIncident, INCIDENTS, values));
  }

  async getIncident(id: string): Promise<IncidentRow | null> {
    return this.one(this.s.getIncident, INCIDENTS, id);
  }

  async listIncidents(): Promise<IncidentRow[]> {
    return (this.s.listIncidents.all() as Row[]).map(INCIDENTS.fromRow);
  }

  async updateIncident(id: string, status: IncidentStatus, doc: Record<string, unknown>, audit: AuditEvents<boolean>): Promise<boolean> {
    const text = JSON.stringify(doc);
    return this.write(audit, () => this.s.updateIncident.run(status, text, id).changes === 1);
  }

  async contain(incident: IncidentRow, containment: ContainmentRow, suspendReason: string, audit: readonly AuditEvent[]): Promise<void> {
    checkContainment(incident, containment);
    const inc = INCIDENTS.values(incident);
    const con = CONTAINMENTS.values(containment);
    const at = instant(containment.createdAt);
    await this.write(audit, () => {
      this.insert(this.s.insertIncident, INCIDENTS, inc);
      this.insert(this.s.insertContainment, CONTAINMENTS, con);
      // No row (a principal of an external issuer) changes nothing: the containment alone blocks it.
      this.s.suspend.run(suspendReason, at, containment.principalId);
    });
  }

  async getContainment(id: string): Promise<ContainmentRow | null> {
    return this.one(this.s.getContainment, CONTAINMENTS, id);
  }

  async activeContainments(): Promise<ContainmentRow[]> {
    return (this.s.activeContainments.all() as Row[]).map(CONTAINMENTS.fromRow);
  }

  async listContainments(): Promise<ContainmentRow[]> {
    return (this.s.listContainments.all() as Row[]).map(CONTAINMENTS.fromRow);
  }

  async approvalsOf(containmentId: string): Promise<ReleaseApproval[]> {
    return (this.s.approvalsOf.all(containmentId) as Row[]).map(APPROVALS.fromRow);
  }

  async approveRelease(approval: ReleaseApproval, audit: AuditEvents<ReleaseOutcome>): Promise<ReleaseOutcome> {
    const values = APPROVALS.values(approval);
    const at = instant(approval.at);
    const id = approval.containmentId;
    return this.write(audit, (): ReleaseOutcome => {
      const c = this.s.getContainment.get(id) as Row | undefined;
      if (c?.state !== 'active') return { found: false, counted: false, approvals: this.count(id), released: false };
      const counted = this.s.insertApproval.run(...values).changes === 1;
      const approvals = this.count(id);
      if (!counted || approvals < (c.approvals_required as number)) return { found: true, counted, approvals, released: false };
      this.s.release.run(at, id);
      const principalId = c.principal_id as string;
      if (!this.s.otherActive.get(principalId)) this.s.setStatus.run('active', approval.reason, at, principalId);
      return { found: true, counted, approvals, released: true };
    });
  }

  async insertCanarySet(row: CanarySetRow, audit: readonly AuditEvent[]): Promise<void> {
    const values = CANARY_SETS.values(row);
    await this.write(audit, () => {
      // Checked in the write transaction so the error names the cause rather than surfacing as a
      // foreign-key StorageError.
      if (!this.s.tenantExists.get(row.tenantId)) throw new InvalidInput('canary set for an unknown tenant');
      this.insert(this.s.insertCanarySet, CANARY_SETS, values);
    });
  }

  async listCanarySets(tenantId?: string): Promise<CanarySetRow[]> {
    const rows = (tenantId === undefined ? this.s.listCanarySets.all() : this.s.canarySetsOf.all(tenantId)) as Row[];
    return rows.map(CANARY_SETS.fromRow);
  }

  async saveBaselines(rows: readonly BaselineRow[]): Promise<void> {
    const values = rows.map(BASELINES.values);
    if (values.length === 0) return;
    this.plain(() => this.db.transaction(() => values.forEach((v) => this.s.upsertBaseline.run(...v))).immediate());
  }

  async loadBaselines(principalId: string): Promise<BaselineRow[]> {
    return (this.s.loadBaselines.all(principalId) as Row[]).map(BASELINES.fromRow);
  }

  async recordOrigin(principalId: string, ip: string, at: string): Promise<boolean> {
    const when = instant(at);
    // The known origin (the usual case) costs one statement; IMMEDIATE keeps another process from
    // inserting between the UPDATE and the INSERT.
    return this.plain(() =>
      this.db
        .transaction(() => {
          if (this.s.touchOrigin.run(when, principalId, ip).changes === 1) return false;
          this.s.insertOrigin.run(principalId, ip, when, when);
          return true;
        })
        .immediate(),
    );
  }

  async hasOrigins(principalId: string): Promise<boolean> {
    return this.s.hasOrigins.get(principalId) !== undefined;
  }

  async newestOrderDate(tenantId: string): Promise<string | null> {
    return (this.s.newestOrderDate.get(tenantId) as { d: string | null }).d;
  }

  private count(containmentId: string): number {
    return (this.s.countApprovals.get(containmentId) as { n: number }).n;
  }

  private one<T>(stmt: Database.Statement, table: AccessTable<T>, key: string): T | null {
    const row = stmt.get(key) as Row | undefined;
    return row ? table.fromRow(row) : null;
  }

  /** Thrown before the events are appended: the transaction rolls back with nothing written. */
  private insert<T>(stmt: Database.Statement, table: AccessTable<T>, values: unknown[]): void {
    if (stmt.run(...values).changes === 0) throw new Conflict(table.duplicate);
  }

  /** Runs `body` and appends the events in one transaction; the events see the body's result. */
  private async write<T>(audit: AuditEvents<T>, body: () => T): Promise<T> {
    try {
      return await this.audit.write(audit, body);
    } catch (cause) {
      throw storageError(cause, 'storage write failed');
    }
  }

  /** An unaudited write (operational state), failing with a coded error. */
  private plain<T>(body: () => T): T {
    try {
      return body();
    } catch (cause) {
      throw storageError(cause, 'storage write failed');
    }
  }
}

function prepare(db: Database.Database) {
  return {
    insertIncident: db.prepare(insertSql(INCIDENTS, 'sqlite')),
    getIncident: db.prepare(`${selectSql(INCIDENTS)} WHERE id = ?`),
    listIncidents: db.prepare(`${selectSql(INCIDENTS)} ORDER BY opened_at DESC, id DESC`),
    updateIncident: db.prepare('UPDATE incidents SET status = ?, doc = ? WHERE id = ?'),
    insertContainment: db.prepare(insertSql(CONTAINMENTS, 'sqlite')),
    suspend: db.prepare("UPDATE principals SET status = 'suspended', status_reason = ?, updated_at = ? WHERE id = ?"),
    getContainment: db.prepare(`${selectSql(CONTAINMENTS)} WHERE id = ?`),
    activeContainments: db.prepare(`${selectSql(CONTAINMENTS)} WHERE state = 'active' ORDER BY created_at, id`),
    listContainments: db.prepare(`${selectSql(CONTAINMENTS)} ORDER BY created_at DESC, id DESC`),
    approvalsOf: db.prepare(`${selectSql(APPROVALS)} WHERE containment_id = ? ORDER BY at, officer_id`),
    insertApproval: db.prepare(insertSql(APPROVALS, 'sqlite')),
    countApprovals: db.prepare('SELECT count(*) AS n FROM containment_approvals WHERE containment_id = ?'),
    release: db.prepare("UPDATE containments SET state = 'released', released_at = ? WHERE id = ? AND state = 'active'"),
    otherActive: db.prepare("SELECT 1 FROM containments WHERE principal_id = ? AND state = 'active' LIMIT 1"),
    setStatus: db.prepare('UPDATE principals SET status = ?, status_reason = ?, updated_at = ? WHERE id = ?'),
    tenantExists: db.prepare('SELECT 1 FROM tenants WHERE id = ?'),
    insertCanarySet: db.prepare(insertSql(CANARY_SETS, 'sqlite')),
    listCanarySets: db.prepare(`${selectSql(CANARY_SETS)} ORDER BY created_at, id`),
    canarySetsOf: db.prepare(`${selectSql(CANARY_SETS)} WHERE tenant_id = ? ORDER BY created_at, id`),
    upsertBaseline: db.prepare(
      `INSERT INTO ${BASELINES.name} (${BASELINES.columns.join(', ')}) VALUES (${placeholders(BASELINES.columns.length, 'sqlite')}) ON CONFLICT (${BASELINES.key}) DO UPDATE SET ${BASELINE_UPDATE}`,
    ),
    loadBaselines: db.prepare(`${selectSql(BASELINES)} WHERE principal_id = ? ORDER BY hour_of_week`),
    // Sightings may be recorded out of order (several nodes, delayed batches): last_seen only moves forward.
    touchOrigin: db.prepare('UPDATE principal_origins SET last_seen = max(last_seen, ?) WHERE principal_id = ? AND ip = ?'),
    insertOrigin: db.prepare('INSERT INTO principal_origins (principal_id, ip, first_seen, last_seen) VALUES (?, ?, ?, ?)'),
    hasOrigins: db.prepare('SELECT 1 FROM principal_origins WHERE principal_id = ? LIMIT 1'),
    // effective_date is the order's authoredOn day (yyyy-mm-dd), so text order is date order.
    newestOrderDate: db.prepare("SELECT max(effective_date) AS d FROM resources WHERE tenant_id = ? AND type = 'ServiceRequest'"),
  };
}

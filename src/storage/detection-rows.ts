import { IntegrityViolation, InvalidInput } from '../domain/errors.js';
import type {
  BaselineRow,
  CanaryCopyKind,
  CanarySetRow,
  ContainmentRow,
  ContainmentState,
  IncidentRow,
  IncidentStatus,
  ReleaseApproval,
} from '../ports/detection-store.js';
import { instant, instantOrNull, isoOrNull, jsonColumn, stringList, textOrNull, type AccessTable } from './access-rows.js';
import { iso } from './row-mappers.js';

/**
 * The detection tables (migration 4) as both adapters read and write them, in the same descriptors
 * as the access tables (access-rows.ts), so the two backends cannot drift and every timestamp is
 * normalised before it reaches either database. Values the databases would treat differently
 * (SQLite stores 1.5 in an INTEGER column, PostgreSQL refuses it; SQLite binds NaN as NULL) are
 * refused here, before either sees them.
 */

/** The incident document column: a JSON object, or the row was not written by us. */
function jsonObject(v: unknown): Record<string, unknown> {
  const parsed = jsonColumn(v);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new IntegrityViolation('a stored incident holds a malformed document');
  }
  return parsed as Record<string, unknown>;
}

/** PostgreSQL's INTEGER range; SQLite's is wider, and the two must accept the same values. */
const INT_MAX = 2 ** 31 - 1;

function integer(v: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new InvalidInput(`${what} must be an integer from ${min} to ${max}`);
  return v;
}

function finite(v: number, what: string): number {
  if (!Number.isFinite(v)) throw new InvalidInput(`${what} must be a finite number`);
  return v;
}

export const INCIDENTS: AccessTable<IncidentRow> = {
  name: 'incidents',
  key: 'id',
  columns: ['id', 'opened_at', 'source', 'trigger', 'principal_id', 'tenants', 'window_start', 'window_end', 'status', 'doc'],
  duplicate: 'an incident with this id exists',
  values: (i) => [
    i.id,
    instant(i.openedAt),
    i.source,
    i.trigger,
    i.principalId,
    JSON.stringify(i.tenants),
    instantOrNull(i.windowStart),
    instantOrNull(i.windowEnd),
    i.status,
    JSON.stringify(i.doc),
  ],
  fromRow: (r) => ({
    id: r.id as string,
    openedAt: iso(r.opened_at),
    source: r.source as IncidentRow['source'],
    trigger: r.trigger as string,
    principalId: textOrNull(r.principal_id),
    tenants: stringList(r.tenants),
    windowStart: isoOrNull(r.window_start),
    windowEnd: isoOrNull(r.window_end),
    status: r.status as IncidentStatus,
    doc: jsonObject(r.doc),
  }),
};

export const CONTAINMENTS: AccessTable<ContainmentRow> = {
  name: 'containments',
  key: 'id',
  columns: [
    'id',
    'incident_id',
    'principal_id',
    'origin_ip',
    'frozen_tenants',
    'rule',
    'approvals_required',
    'state',
    'created_at',
    'released_at',
  ],
  duplicate: 'a containment with this id exists',
  values: (c) => [
    c.id,
    c.incidentId,
    c.principalId,
    c.originIp,
    JSON.stringify(c.frozenTenants),
    c.rule,
    integer(c.approvalsRequired, 1, INT_MAX, 'approvals required'),
    c.state,
    instant(c.createdAt),
    instantOrNull(c.releasedAt),
  ],
  fromRow: (r) => ({
    id: r.id as string,
    incidentId: r.incident_id as string,
    principalId: r.principal_id as string,
    originIp: textOrNull(r.origin_ip),
    frozenTenants: stringList(r.frozen_tenants),
    rule: r.rule as string,
    approvalsRequired: r.approvals_required as number,
    state: r.state as ContainmentState,
    createdAt: iso(r.created_at),
    releasedAt: isoOrNull(r.released_at),
  }),
};

export const APPROVALS: AccessTable<ReleaseApproval> = {
  name: 'containment_approvals',
  key: 'containment_id, officer_id',
  columns: ['containment_id', 'officer_id', 'reason', 'at'],
  duplicate: 'this officer has already approved the release',
  values: (a) => [a.containmentId, a.officerId, a.reason, instant(a.at)],
  fromRow: (r) => ({
    containmentId: r.containment_id as string,
    officerId: r.officer_id as string,
    reason: r.reason as string,
    at: iso(r.at),
  }),
};

export const CANARY_SETS: AccessTable<CanarySetRow> = {
  name: 'canary_sets',
  key: 'id',
  columns: ['id', 'tenant_id', 'copy_kind', 'copy_id', 'sealed', 'created_at'],
  duplicate: 'a canary set with this id exists',
  values: (c) => [c.id, c.tenantId, c.copyKind, c.copyId, c.sealed, instant(c.createdAt)],
  fromRow: (r) => ({
    id: r.id as string,
    tenantId: r.tenant_id as string,
    copyKind: r.copy_kind as CanaryCopyKind,
    copyId: textOrNull(r.copy_id),
    sealed: r.sealed as Buffer,
    createdAt: iso(r.created_at),
  }),
};

export const BASELINES: AccessTable<BaselineRow> = {
  name: 'detection_baselines',
  key: 'principal_id, hour_of_week',
  columns: ['principal_id', 'hour_of_week', 'mean', 'variance', 'samples', 'updated_at'],
  duplicate: 'a baseline for this principal and hour exists',
  values: (b) => [
    b.principalId,
    integer(b.hourOfWeek, 0, 167, 'hour of week'),
    finite(b.mean, 'baseline mean'),
    finite(b.variance, 'baseline variance'),
    integer(b.samples, 0, INT_MAX, 'baseline samples'),
    instant(b.updatedAt),
  ],
  fromRow: (r) => ({
    principalId: r.principal_id as string,
    hourOfWeek: r.hour_of_week as number,
    mean: r.mean as number,
    variance: r.variance as number,
    samples: r.samples as number,
    updatedAt: iso(r.updated_at),
  }),
};

/** A containment belongs to the incident it is committed with; anything else is a caller's bug. */
export function checkContainment(incident: IncidentRow, containment: ContainmentRow): void {
  if (containment.incidentId !== incident.id) throw new InvalidInput('containment does not belong to its incident');
}

/**
 * Bound baseline values (see {@link BASELINES}) with one row per (principal, hour), the last one
 * given winning, as a row-by-row upsert would leave them.
 */
export function lastPerKey(values: readonly unknown[][]): unknown[][] {
  const byKey = new Map<string, unknown[]>();
  for (const v of values) byKey.set(`${String(v[0])}\u0000${String(v[1])}`, v);
  return [...byKey.values()];
}

/** Columns an upsert of a baseline replaces (the key stays). */
export const BASELINE_UPDATE =
  'mean = excluded.mean, variance = excluded.variance, samples = excluded.samples, updated_at = excluded.updated_at';

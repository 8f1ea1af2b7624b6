import type { AuditEvent } from '../domain/audit-event.js';
import type { AuditEvents } from './audit-store.js';

/**
 * Storage side of detection and containment: incidents, containments and their release
 * approvals, the sealed canary registry, per-principal baselines and known origins. Implemented by
 * each VaultStore adapter. A containment commits in one transaction with its incident, the
 * principal's suspension and its audit events, so no node can see a half-applied containment; and
 * several nodes sharing PostgreSQL see the same blocked origins and frozen exports.
 */
export type IncidentStatus = 'open' | 'closed';

export interface IncidentRow {
  /** `inc-…` (pseudonymous, BSN-free). */
  id: string;
  openedAt: string;
  /** 'detection' when a containment opened it, 'manual' when an operator did. */
  source: 'detection' | 'manual';
  /** The rule that fired (`cap.patients-per-minute`, `canary`, …) or a short operator title. */
  trigger: string;
  /** The principal whose activity is in question, if any. */
  principalId: string | null;
  tenants: string[];
  /** First and last access of the principal that detection had seen when it contained. */
  windowStart: string | null;
  windowEnd: string | null;
  status: IncidentStatus;
  /**
   * Everything else (the incident issue extends it): JSON without identifiers, stored as text.
   * Read and written whole.
   */
  doc: Record<string, unknown>;
}

export type ContainmentState = 'active' | 'released';

export interface ContainmentRow {
  /** `con-…` */
  id: string;
  incidentId: string;
  principalId: string;
  /** The origin blocked with the principal (an IP), null when none was blocked. */
  originIp: string | null;
  /** Tenants whose exports are frozen by this containment (empty: none). */
  frozenTenants: string[];
  rule: string;
  /** Distinct security officers whose approval releases it: 1, or 2 after a canary touch. */
  approvalsRequired: number;
  state: ContainmentState;
  createdAt: string;
  releasedAt: string | null;
}

export interface ReleaseApproval {
  containmentId: string;
  officerId: string;
  /** Why the officer releases (free text; no patient data). */
  reason: string;
  at: string;
}

export interface ReleaseOutcome {
  /** False when the containment is unknown or not active (nothing was written but the events). */
  found: boolean;
  /** False when this officer had already approved (the approval is not counted twice). */
  counted: boolean;
  approvals: number;
  /** True when this approval completed the release. */
  released: boolean;
}

export type CanaryCopyKind = 'tenant' | 'export' | 'backup';

export interface CanarySetRow {
  /** `cns-…` */
  id: string;
  tenantId: string;
  /** Where the set lives: in the vault for the tenant, or only in one export or backup copy. */
  copyKind: CanaryCopyKind;
  /** The export job or backup id the set was made for; null for a tenant set. */
  copyId: string | null;
  /** AES-256-GCM under a key derived from the tenant's index key: which patients are canaries. */
  sealed: Buffer;
  createdAt: string;
}

/** EWMA of one principal's distinct patients per detection window, for one hour of the week. */
export interface BaselineRow {
  principalId: string;
  /** 0 = Monday 00:00–01:00 Europe/Amsterdam … 167 = Sunday 23:00–24:00. */
  hourOfWeek: number;
  mean: number;
  variance: number;
  /** Windows folded in so far (a baseline with few is not trusted yet). */
  samples: number;
  updatedAt: string;
}

export interface DetectionStore {
  /** Fails with Conflict when the id exists. */
  insertIncident(row: IncidentRow, audit: readonly AuditEvent[]): Promise<void>;
  getIncident(id: string): Promise<IncidentRow | null>;
  /** Newest first. */
  listIncidents(): Promise<IncidentRow[]>;
  /** Replaces status and doc; false when the incident does not exist. */
  updateIncident(id: string, status: IncidentStatus, doc: Record<string, unknown>, audit: AuditEvents<boolean>): Promise<boolean>;

  /**
   * One transaction: the incident, the containment, and the principal suspended (status
   * 'suspended', `updated_at` = containment time, reason = `suspendReason`), with the events.
   * The principal row may be absent (a principal of an external issuer): nothing is suspended then.
   */
  contain(incident: IncidentRow, containment: ContainmentRow, suspendReason: string, audit: readonly AuditEvent[]): Promise<void>;
  getContainment(id: string): Promise<ContainmentRow | null>;
  /** Active containments, oldest first (blocked origins and frozen exports derive from these). */
  activeContainments(): Promise<ContainmentRow[]>;
  /** All containments, newest first. */
  listContainments(): Promise<ContainmentRow[]>;
  approvalsOf(containmentId: string): Promise<ReleaseApproval[]>;
  /**
   * Records one officer's approval atomically. When the distinct approvals reach
   * `approvalsRequired`, the containment becomes 'released' (released_at = approval time) and, if
   * the principal has no other active containment, its status returns to 'active' with the reason.
   * The events see the outcome.
   */
  approveRelease(approval: ReleaseApproval, audit: AuditEvents<ReleaseOutcome>): Promise<ReleaseOutcome>;

  insertCanarySet(row: CanarySetRow, audit: readonly AuditEvent[]): Promise<void>;
  /** Every canary set, oldest first (optionally of one tenant). */
  listCanarySets(tenantId?: string): Promise<CanarySetRow[]>;

  /** Upserts (principal, hour) rows; operational state, not audited. */
  saveBaselines(rows: readonly BaselineRow[]): Promise<void>;
  loadBaselines(principalId: string): Promise<BaselineRow[]>;

  /** Records that the principal was seen from `ip`; true when this is the first time. */
  recordOrigin(principalId: string, ip: string, at: string): Promise<boolean>;
  /** Whether the principal has been seen from any origin before. */
  hasOrigins(principalId: string): Promise<boolean>;

  /** yyyy-mm-dd of the tenant's newest ServiceRequest (explains recent access; dates canaries), null when none. */
  newestOrderDate(tenantId: string): Promise<string | null>;
}

import type { AuditAction } from './audit-event.js';
import type { Principal } from './principal.js';

/**
 * What detection sees of one read before its response leaves: who, from where, which patients the
 * response would release and how much. Built from the same facts the audit event records, so the
 * decision and the evidence cannot disagree. Patient ids are pseudonymous; nothing here identifies
 * a person.
 */
export type ReadKind =
  /** A read by id (`GET /fhir/Patient/x`). */
  | 'read'
  /** A search about one patient, or a page of a search. */
  | 'search'
  /** A lookup by BSN or by name and birth date. */
  | 'identifier-search'
  /** A page of an approved bulk export. */
  | 'export';

export interface Observation {
  /** Milliseconds since the epoch, from the vault's clock. */
  readonly at: number;
  readonly principal: Principal;
  readonly ip: string | null;
  readonly tenant: string;
  readonly action: AuditAction;
  readonly kind: ReadKind;
  /** Distinct patients the response would release (empty for a miss). */
  readonly patients: readonly string[];
  readonly records: number;
  readonly bytes: number;
  /** A read by id or identifier that found nothing (probing leaves these). */
  readonly miss: boolean;
  /** The id a read by id asked for, for sequential-id probing; null otherwise. */
  readonly requestedId: string | null;
  /** A search about no particular patient over an open or wide date range. */
  readonly broad: boolean;
  /** The export job a page belongs to. */
  readonly exportId: string | null;
  /** Under an open break-glass grant: reviewed afterwards, still capped. */
  readonly breakGlass: boolean;
}

/** alert: reported, the response leaves. contain: the response is withheld and the principal contained. */
export type FindingSeverity = 'alert' | 'contain';

export interface Finding {
  /** `cap.patients-per-minute`, `canary.touch`, `enumeration.sequential-ids`, … */
  readonly rule: string;
  readonly severity: FindingSeverity;
  /** A short fixed sentence (goes into alerts and the incident): no identifiers, no request values. */
  readonly summary: string;
  /** The measured value and the threshold it crossed, when the rule has one. */
  readonly measured: number | null;
  readonly threshold: number | null;
  /** Freeze the tenant's exports with the containment (canary touches, export caps). */
  readonly freezeExports: boolean;
  /** Release needs this many distinct security officers (2 after a canary touch). */
  readonly approvalsRequired: 1 | 2;
}

export function finding(f: Omit<Finding, 'freezeExports' | 'approvalsRequired' | 'measured' | 'threshold'> & Partial<Finding>): Finding {
  return { measured: null, threshold: null, freezeExports: false, approvalsRequired: 1, ...f };
}

/** The detector's answer for one read. */
export interface Verdict {
  readonly allowed: boolean;
  readonly findings: readonly Finding[];
  /** Set when this read caused (or met) a containment. */
  readonly containmentId: string | null;
  readonly incidentId: string | null;
}

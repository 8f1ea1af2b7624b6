import type { SealedRow } from '../audit/tree-state.js';
import type { AuditIndexRow } from '../ports/audit-store.js';
import { bucketOf, patientRef } from '../audit/patient-index-key.js';

/** Thrown inside a write transaction when another writer appended since the appender's state was read. */
export class StaleAuditState extends Error {
  constructor() {
    super('audit log moved; retry with a fresh state');
  }
}

/** Writers retry this often when the log moves under them (other processes appending). */
export const AUDIT_APPEND_ATTEMPTS = 20;

/** The audit_patients rows of one sealed event (one per distinct patient). */
export function patientRefs(row: SealedRow): { bucket: number; ref: bigint }[] {
  const tenantId = row.event.tenant ?? '';
  return [...new Set(row.event.patients)].map((patientId) => ({ bucket: bucketOf(row.seq), ref: patientRef(tenantId, patientId) }));
}

/** The audit_origins row of one sealed event, or null when it came from no client address. */
export function originRef(row: SealedRow): { bucket: number; ip: string } | null {
  const ip = row.event.origin.ip;
  return ip === null ? null : { bucket: bucketOf(row.seq), ip };
}

/** An audit_events row as both drivers return it (PostgreSQL gives BIGINT as a string). */
export interface AuditEventDbRow {
  seq: number | string;
  time: string;
  action: string;
  outcome: string;
  principal_id: string;
  tenant_id: string | null;
  event: Buffer;
}

export function toAuditIndexRow(r: AuditEventDbRow): AuditIndexRow {
  return {
    seq: Number(r.seq),
    time: r.time,
    action: r.action,
    outcome: r.outcome,
    principalId: r.principal_id,
    tenantId: r.tenant_id,
    bytes: r.event,
  };
}

import type { SealedRow } from '../audit/tree-state.js';
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

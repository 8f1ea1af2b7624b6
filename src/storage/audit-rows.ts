import type { SealedRow } from '../audit/tree-state.js';

/** Thrown inside a write transaction when another writer appended since the appender's state was read. */
export class StaleAuditState extends Error {
  constructor() {
    super('audit log moved; retry with a fresh state');
  }
}

/** Writers retry this often when the log moves under them (other processes appending). */
export const AUDIT_APPEND_ATTEMPTS = 20;

/** (tenant, patient) pairs of one sealed event, de-duplicated: the audit_patients rows. */
export function patientRefs(row: SealedRow): { tenantId: string; patientId: string }[] {
  const tenantId = row.event.tenant ?? '';
  return [...new Set(row.event.patients)].map((patientId) => ({ tenantId, patientId }));
}

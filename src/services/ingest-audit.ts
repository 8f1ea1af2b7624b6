import { categoriesOf, type AuditEvent, type DataCategory } from '../domain/audit-event.js';
import type { AccessContext } from '../domain/principal.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { PatientRow, ResourceRow } from '../ports/vault-store.js';

/**
 * The audit events of one ingest transaction: one per tenant, naming every patient whose data the
 * transaction wrote (new patients and owners of new records), the categories written, and the
 * row and ciphertext byte counts. Rows the insert skips as already stored are counted too: the
 * event records what the transaction offered, and a skip changes nothing.
 */
export function ingestWriteEvents(audit: AuditLog, ctx: AccessContext, patients: PatientRow[], resources: ResourceRow[]): AuditEvent[] {
  const byTenant = new Map<string, { patients: Set<string>; categories: Set<DataCategory>; records: number; bytes: number }>();
  const entry = (tenant: string) => {
    let e = byTenant.get(tenant);
    if (!e) byTenant.set(tenant, (e = { patients: new Set(), categories: new Set(), records: 0, bytes: 0 }));
    return e;
  };
  for (const p of patients) {
    const e = entry(p.tenantId);
    e.patients.add(p.id);
    for (const c of categoriesOf('Patient')) e.categories.add(c);
    e.records++;
    e.bytes += p.identity?.length ?? 0;
  }
  for (const r of resources) {
    const e = entry(r.tenantId);
    e.patients.add(r.patientId);
    for (const c of categoriesOf(r.type)) e.categories.add(c);
    e.records++;
    e.bytes += r.body.length;
  }
  return [...byTenant].map(([tenant, e]) =>
    audit.event(ctx, {
      action: 'ingest.write',
      tenant,
      patients: [...e.patients],
      categories: [...e.categories],
      records: e.records,
      bytes: e.bytes,
    }),
  );
}

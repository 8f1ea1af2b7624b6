import type { PatientRow, ResourceRow } from '../ports/vault-store.js';

/**
 * Orders the rows of one write batch so the B-tree work of the insert touches pages in key order
 * instead of at random: ids are random, so in input order every insert lands on another page of
 * every index, while sorted, consecutive inserts share the pages near the cursor.
 *
 * Patients go by primary key (tenant, id), which is also the order of the patients_kek index.
 * Clinical records go by (tenant, patient, type): that is the resources_patient index and the
 * foreign-key probe into the patients primary key — two B-trees per row — where primary-key
 * order would serve one (measured on a 70k-person vault plus 30k more: main-thread CPU 9.3 s
 * unsorted, 8.5 s by primary key, 8.1 s by patient). Sorting is stable, so of two rows with the
 * same key the first in input order is still inserted first.
 */
export function sortForInsert(patients: PatientRow[], resources: ResourceRow[]): void {
  patients.sort((a, b) => cmp(a.tenantId, b.tenantId) || cmp(a.id, b.id));
  resources.sort((a, b) => cmp(a.tenantId, b.tenantId) || cmp(a.patientId, b.patientId) || cmp(a.type, b.type));
}

/** Code-unit order, which equals SQLite's BINARY and PostgreSQL's "C" collation for the ASCII ids FHIR allows. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

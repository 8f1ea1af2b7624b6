import { randomBytes, randomUUID } from 'node:crypto';
import type { VaultStore } from '../../src/ports/vault-store.js';
import { testTenant } from './fhir-builders.js';
import { patientRow, resourceRow } from './store-rows.js';

/** A tenant with an active KEK row in the store: what writeBatch needs before any patient. */
export async function seedTenant(store: Pick<VaultStore, 'upsertTenant' | 'addTenantKey'>, tenantId: string): Promise<void> {
  await store.upsertTenant(testTenant(tenantId), []);
  await store.addTenantKey({ tenantId, version: 1, wrappedKek: randomBytes(40), masterKeyId: 'm', state: 'active', createdAt: 'x' }, []);
}

/**
 * Batches of `patientsPerBatch` (500) random-id patients with `perPatient` Observations each, ciphertexts
 * as random bytes: random ids touch B-tree pages all over the tables, as a real load does.
 */
export async function writeRandomBatches(
  store: Pick<VaultStore, 'writeBatch'>,
  tenantId: string,
  batches: number,
  perPatient: number,
  bodyBytes: number,
  patientsPerBatch = 500,
): Promise<void> {
  for (let b = 0; b < batches; b++) {
    const patients = Array.from({ length: patientsPerBatch }, () => patientRow(tenantId, randomUUID(), 1, { identity: randomBytes(1500) }));
    const resources = patients.flatMap((p) =>
      Array.from({ length: perPatient }, () => resourceRow(tenantId, 'Observation', randomUUID(), p.id, { body: randomBytes(bodyBytes) })),
    );
    await store.writeBatch({ patients, resources, audit: [] });
  }
}

import { CTX } from '../support/context.js';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ndjson, observation, patient } from '../support/fhir-builders.js';
import { screeningVault } from '../support/screening-vault.js';

/**
 * Two writers (two LIS feeds, or two nodes on one PostgreSQL) send the same new patient at once.
 * The slower one decided "new patient" on a snapshot and encrypted its records under a fresh DEK;
 * storing them next to the other writer's patient row would make them unreadable. The store refuses
 * the batch and the ingest decides again, so every record stays readable.
 */
describe('concurrent ingest of the same new patient', () => {
  const fx = screeningVault('lv-race-');

  it('the second writer retries and its record is readable under the first writer’s DEK', async () => {
    const a = path.join(fx.dir, 'a.ndjson');
    const b = path.join(fx.dir, 'b.ndjson');
    await writeFile(a, ndjson([patient('screening', 'p3'), observation('screening', 'o3a', 'p3')]));
    await writeFile(b, ndjson([patient('screening', 'p3'), observation('screening', 'o3b', 'p3')]));
    const other = await fx.tv.reopen();
    // Vault B looks the patient up (absent), then writer A commits the same patient before B writes.
    const store = other.store;
    const original = store.findPatientKeys.bind(store);
    let injected = false;
    store.findPatientKeys = async (tenantId, ids) => {
      const out = await original(tenantId, ids);
      if (!injected) {
        injected = true;
        expect((await fx.tv.vault.ingest.ingest(CTX, [a], { worker: false })).rejected).toBe(0);
      }
      return out;
    };
    const rb = await other.ingest.ingest(CTX, [b], { worker: false });
    expect(injected).toBe(true);
    expect(rb.rejected).toBe(0);
    expect(rb.ingested.Observation).toBe(1);
    expect(rb.unchanged).toBe(1); // the patient, identical to A's
    const fresh = await fx.tv.reopen();
    expect((await fresh.reader.resource(CTX, 'screening', 'Observation', 'o3b')).id).toBe('o3b');
    expect((await fresh.reader.resource(CTX, 'screening', 'Observation', 'o3a')).id).toBe('o3a');
    expect((await fresh.reader.patient(CTX, 'screening', 'p3')).id).toBe('p3');
  });
});

import { CTX } from '../support/context.js';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UnitSealer } from '../../src/services/unit-sealer.js';
import { ndjson, observation, patient } from '../support/fhir-builders.js';
import { screeningVault } from '../support/screening-vault.js';

/**
 * A key rotation in another process while an ingest run is under way. The run remembers the
 * patients it wrote with their DEKs wrapped under the KEK of that moment; the rotation rewraps
 * them and destroys that KEK. The run's next records for those patients must still be stored,
 * under the patients' own DEKs, readable after the run: a retry forgets what the run remembered
 * and reads the rewrapped DEKs from the store.
 *
 * The parse stage encrypts ahead only for patients still in its bounded DEK cache; here it has let
 * them go (as past 200,000 patients), so the database stage encrypts the clinical records itself,
 * with the DEKs the run remembered — the path that needs the old KEK.
 */
describe('a KEK rotation while an ingest run holds patients', () => {
  const fx = screeningVault('lv-rotate-race-');
  afterEach(() => vi.restoreAllMocks());

  it('stores the later records of remembered patients under their rewrapped DEKs', async () => {
    const file = path.join(fx.dir, 'lab.ndjson');
    await writeFile(
      file,
      ndjson([
        patient('screening', 'p1'),
        patient('screening', 'p2'),
        observation('screening', 'o1', 'p1'),
        observation('screening', 'o2', 'p2'),
        observation('screening', 'o3', 'p1'),
        observation('screening', 'o4', 'p2'),
      ]),
    );
    type Seal = (this: UnitSealer, ...args: Parameters<UnitSealer['seal']>) => void;
    const sealAhead = Object.getOwnPropertyDescriptor(UnitSealer.prototype, 'seal')?.value as Seal;
    vi.spyOn(UnitSealer.prototype, 'seal').mockImplementation(function (this: UnitSealer, items, arena) {
      sealAhead.call(
        this,
        items.filter((i) => i.record?.type === 'Patient'),
        arena,
      );
    });
    const other = await fx.tv.reopen();
    const store = fx.tv.vault.store;
    const write = store.writeBatch.bind(store);
    let rotated: { from: number[]; to: number; destroyed: number[] } | null = null;
    const find = store.findPatientKeys.bind(store);
    const lookedUp: string[][] = [];
    store.findPatientKeys = async (tenantId, ids) => {
      if (rotated) lookedUp.push([...ids].sort());
      return find(tenantId, ids);
    };
    store.writeBatch = async (batch) => {
      const r = await write(batch);
      if (batch.patients.length > 0 && !rotated) {
        rotated = await other.keyAdmin.rotate(CTX, 'screening');
        // This process no longer holds the old KEK either (as after its cache let it go): what
        // the run remembered, DEKs wrapped under it, cannot be opened any more.
        fx.tv.vault.keys.forget('screening');
      }
      return r;
    };
    const r = await fx.tv.vault.ingest.ingest(CTX, [file], { worker: false, batchSize: 2 });
    expect(rotated).toMatchObject({ from: [1], to: 2, destroyed: [1] });
    expect(r.rejected).toBe(0);
    expect(r.errors).toStrictEqual([]);
    expect(r.ingested.Patient).toBe(2);
    expect(r.ingested.Observation).toBe(4);
    const fresh = await fx.tv.reopen();
    for (const id of ['o1', 'o2', 'o3', 'o4']) {
      expect((await fresh.reader.resource(CTX, 'screening', 'Observation', id)).id).toBe(id);
    }
    for (const id of ['p1', 'p2']) expect((await fresh.reader.patient(CTX, 'screening', id)).id).toBe(id);
    // Nothing the run wrote is left under the destroyed KEK: both patients' DEKs are under version 2.
    const versions = (await fresh.keyAdmin.status(CTX)).find((t) => t.tenant === 'screening')?.versions;
    expect(versions?.map((v) => [v.version, v.state, v.patients])).toStrictEqual([
      [1, 'destroyed', 0],
      [2, 'active', 2],
    ]);
    // The first attempt after the rotation used what the run remembered and failed; the retry
    // forgot it and asked the store, as does the last unit (the run remembers patients it wrote).
    expect(lookedUp).toStrictEqual([
      ['p1', 'p2'],
      ['p1', 'p2'],
    ]);
  });
});

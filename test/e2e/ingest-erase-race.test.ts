import { CTX } from '../support/context.js';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NotFound } from '../../src/domain/errors.js';
import { ndjson, observation, patient } from '../support/fhir-builders.js';
import { screeningVault } from '../support/screening-vault.js';

/**
 * Ingest remembers the patients it wrote in a run and looks them up no more. If one of them is
 * erased meanwhile (a data subject's request handled while a large load runs), the run sees the
 * erasure count move and forgets what it remembered; an erasure that lands after that check makes
 * the store refuse the batch (migration 8) and the run decides again. Either way the record for
 * the erased patient is rejected and the others are stored.
 */
describe('a patient erased while an ingest run holds it', () => {
  const fx = screeningVault('lv-erase-race-');

  async function run(hook: 'after-patients-written' | 'after-epoch-read'): Promise<{ lookedUp: string[][] }> {
    const file = path.join(fx.dir, 'lab.ndjson');
    await writeFile(
      file,
      ndjson([
        patient('screening', 'p1'),
        patient('screening', 'p2'),
        observation('screening', 'o1', 'p1'),
        observation('screening', 'o2', 'p2'),
      ]),
    );
    const other = await fx.tv.reopen();
    const store = fx.tv.vault.store;
    const write = store.writeBatch.bind(store);
    const find = store.findPatientKeys.bind(store);
    const epoch = store.erasureEpoch.bind(store);
    let patientsWritten = false;
    let erased = false;
    const lookedUp: string[][] = [];
    const erase = async (): Promise<void> => {
      erased = true;
      await other.keyAdmin.erasePatient(CTX, 'screening', 'p2');
    };
    store.findPatientKeys = async (tenantId, ids) => {
      if (patientsWritten) lookedUp.push([...ids].sort());
      return find(tenantId, ids);
    };
    store.erasureEpoch = async () => {
      const n = await epoch();
      if (hook === 'after-epoch-read' && patientsWritten && !erased) await erase();
      return n;
    };
    store.writeBatch = async (batch) => {
      const r = await write(batch);
      if (batch.patients.length > 0) patientsWritten = true;
      if (hook === 'after-patients-written' && !erased) await erase();
      return r;
    };
    const r = await fx.tv.vault.ingest.ingest(CTX, [file], { worker: false, batchSize: 2 });
    expect(erased).toBe(true);
    expect(r.ingested.Patient).toBe(2);
    expect(r.ingested.Observation).toBe(1);
    expect(r.rejected).toBe(1);
    expect(r.errors[0]?.reason).toMatch(/Observation\/o2: reference Patient\/p2 does not resolve/);
    const fresh = await fx.tv.reopen();
    expect((await fresh.reader.resource(CTX, 'screening', 'Observation', 'o1')).id).toBe('o1');
    await expect(fresh.reader.resource(CTX, 'screening', 'Observation', 'o2')).rejects.toBeInstanceOf(NotFound);
    return { lookedUp };
  }

  it('erased before the next unit: the run sees the count move and asks the store again', async () => {
    const { lookedUp } = await run('after-patients-written');
    expect(lookedUp).toStrictEqual([['p1', 'p2']]);
  });

  it('erased after the check: the store refuses the batch prepared from memory, the retry rejects the record', async () => {
    const { lookedUp } = await run('after-epoch-read');
    // The first attempt used what the run remembered (no look-up); only the retry asked the store.
    expect(lookedUp).toStrictEqual([['p1', 'p2']]);
  });

  it('a series of erasures while one batch is prepared delays it but does not abort the run', async () => {
    const file = path.join(fx.dir, 'lab.ndjson');
    const ids = Array.from({ length: 10 }, (_, i) => `p${i + 1}`);
    await writeFile(
      file,
      ndjson([...ids.map((id) => patient('screening', id)), observation('screening', 'o1', 'p1'), observation('screening', 'o2', 'p2')]),
    );
    const other = await fx.tv.reopen();
    const store = fx.tv.vault.store;
    const write = store.writeBatch.bind(store);
    const epoch = store.erasureEpoch.bind(store);
    let patientsWritten = false;
    const toErase = ids.slice(2);
    store.erasureEpoch = async () => {
      const n = await epoch();
      // An erasure after each read of the count, eight times: attempt after attempt at the observations is refused.
      const next = patientsWritten ? toErase.shift() : undefined;
      if (next) await other.keyAdmin.erasePatient(CTX, 'screening', next);
      return n;
    };
    store.writeBatch = async (batch) => {
      const r = await write(batch);
      if (batch.patients.length > 0) patientsWritten = true;
      return r;
    };
    const r = await fx.tv.vault.ingest.ingest(CTX, [file], { worker: false, batchSize: 10 });
    expect(toErase).toStrictEqual([]);
    expect(r.rejected).toBe(0);
    expect(r.ingested.Observation).toBe(2);
    const fresh = await fx.tv.reopen();
    expect((await fresh.reader.resource(CTX, 'screening', 'Observation', 'o2')).id).toBe('o2');
  });
});

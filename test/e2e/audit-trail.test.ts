import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeEvent } from '../../src/audit/event-codec.js';
import type { AuditEvent } from '../../src/domain/audit-event.js';
import { isValidBsn } from '../../src/domain/bsn.js';
import { NotFound, StorageError } from '../../src/domain/errors.js';
import type { AccessContext } from '../../src/domain/principal.js';
import { CTX } from '../support/context.js';
import { ndjson, observation, patient, serviceRequest, testTenant } from '../support/fhir-builders.js';
import { tempVault, type TempVault } from '../support/temp-vault.js';

/**
 * What the vault's paths record in the audit log, and that they fail closed: no event, no
 * operation. The CLI and, later, the API call these same services.
 */
let tv: TempVault;
let dir: string;

async function events(): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const page of tv.vault.store.readAuditEvents(0, Number.MAX_SAFE_INTEGER)) for (const e of page) out.push(decodeEvent(e).event);
  return out;
}

beforeEach(async () => {
  tv = await tempVault();
  dir = await mkdtemp(path.join(os.tmpdir(), 'lv-trail-'));
  await tv.vault.ingest.importTenants(CTX, [testTenant('screening'), testTenant('hospital-west')]);
  const f = path.join(dir, 'a.ndjson');
  await writeFile(
    f,
    ndjson([
      patient('screening', 'p1'),
      serviceRequest('screening', 'sr1', 'p1'),
      observation('screening', 'o1', 'p1', 'sr1'),
      patient('screening', 'p2', '111222333'),
    ]),
  );
  expect((await tv.vault.ingest.ingest(CTX, [f])).rejected).toBe(0);
});
afterEach(async () => {
  await tv.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const pathologist: AccessContext = {
  principal: { id: 'dr-visser', role: 'pathologist', tenants: ['hospital-west'] },
  purpose: 'TREAT',
  origin: { ip: '192.0.2.10', userAgent: 'client 123456782', requestId: 'req-111.222.333' },
};

describe('audit trail of the vault paths', () => {
  it('tenant import, key creation, ingest writes and the run summary are recorded, with pseudonymous ids only', async () => {
    const evs = await events();
    expect(evs.map((e) => e.action)).toEqual([
      'tenant.import',
      'keys.create',
      'tenant.import',
      'keys.create',
      'ingest.write',
      'ingest.run',
    ]);
    const write = evs.find((e) => e.action === 'ingest.write')!;
    expect(write).toMatchObject({ tenant: 'screening', outcome: 'allowed', records: 4, principal: CTX.principal, purpose: 'HOPERAT' });
    expect([...write.patients].sort()).toEqual(['p1', 'p2']);
    expect(write.categories).toEqual(expect.arrayContaining(['identity', 'national-id', 'clinical-order', 'clinical-result']));
    const raw = JSON.stringify(evs);
    for (const secret of ['123456782', '111222333', 'Jansen', 'JANSEN']) expect(raw).not.toContain(secret);
  });

  it('reads are recorded before data is returned, with categories and bytes; a tenant outside the principal’s scope gets not found and a denied event', async () => {
    const before = (await events()).length;
    await tv.vault.reader.patient(CTX, 'screening', 'p1');
    await tv.vault.reader.resourcesOfPatient(CTX, 'screening', 'p1');
    await expect(tv.vault.reader.patient(pathologist, 'screening', 'p1')).rejects.toBeInstanceOf(NotFound);
    await expect(tv.vault.reader.patient(CTX, 'screening', 'nobody')).rejects.toBeInstanceOf(NotFound);
    const evs = (await events()).slice(before);
    expect(evs.map((e) => [e.action, e.outcome, e.reason])).toEqual([
      ['patient.read', 'allowed', null],
      ['resource.read', 'allowed', null],
      ['patient.read', 'denied', 'access-denied'],
      ['patient.read', 'error', 'not-found'],
    ]);
    expect(evs[0]).toMatchObject({ patients: ['p1'], records: 1, categories: ['contact', 'demographics', 'identity', 'national-id'] });
    expect(evs[0]!.bytes).toBeGreaterThan(100);
    expect(evs[1]).toMatchObject({ patients: ['p1'], records: 2, categories: ['clinical-order', 'clinical-result'] });
    // origin from the transport is kept, but a BSN-shaped run in it is masked
    expect(evs[2]!.origin).toEqual({ ip: '192.0.2.10', userAgent: 'client *********', requestId: 'req-***.***.***' });
    expect(evs[2]!.patients).toEqual([]);
  });

  it('rotation and erase are recorded in the transactions that do them', async () => {
    const before = (await events()).length;
    await tv.vault.keyAdmin.rotate(CTX, 'screening');
    await tv.vault.keyAdmin.erasePatient(CTX, 'screening', 'p2');
    await expect(tv.vault.keyAdmin.erasePatient(CTX, 'screening', 'p2')).rejects.toBeInstanceOf(NotFound);
    const evs = (await events()).slice(before);
    expect(evs.map((e) => `${e.action}:${e.outcome}`)).toEqual([
      'keys.rotate:allowed',
      'keys.rewrap:allowed',
      'keys.destroy:allowed',
      'patient.erase:allowed',
      'patient.erase:error',
    ]);
    expect(evs[1]).toMatchObject({ records: 2, detail: { from_version: 1, kek_version: 2 } });
    expect(evs[3]).toMatchObject({ patients: ['p2'], tenant: 'screening' });
  });

  it('fails closed: when the log refuses the append, a read returns no data and a write stores nothing', async () => {
    const db = new Database(tv.config.database.kind === 'sqlite' ? tv.config.database.file : '');
    db.exec("CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END;");
    db.close();
    await expect(tv.vault.reader.patient(CTX, 'screening', 'p1')).rejects.toBeInstanceOf(StorageError);
    await expect(tv.vault.keyAdmin.erasePatient(CTX, 'screening', 'p1')).rejects.toBeInstanceOf(StorageError);
    const f = path.join(dir, 'b.ndjson');
    await writeFile(f, ndjson([patient('screening', 'p3', '222333444')]));
    await expect(tv.vault.ingest.ingest(CTX, [f])).rejects.toBeInstanceOf(StorageError);
    const check = new Database(tv.config.database.kind === 'sqlite' ? tv.config.database.file : '');
    expect(check.prepare("SELECT count(*) FROM patients WHERE id = 'p3'").pluck().get()).toBe(0);
    expect(check.prepare("SELECT erased_at FROM patients WHERE id = 'p1'").pluck().get()).toBeNull();
    check.exec('DROP TRIGGER fail_audit');
    check.close();
    expect((await tv.vault.reader.patient(CTX, 'screening', 'p1')).id).toBe('p1');
  });

  it('a bulk ingest whose checkpoint cannot be witnessed stops before the next batch: at most the batch that made it due is stored', async () => {
    // One event per batch makes a checkpoint due after every batch (LABVAULT_AUDIT_CHECKPOINT_EVENTS=1).
    const strict = await tempVault({ env: { LABVAULT_AUDIT_CHECKPOINT_EVENTS: '1' } });
    try {
      await strict.vault.ingest.importTenants(CTX, [testTenant('screening')]);
      const f = path.join(dir, 'many.ndjson');
      const ids = Array.from({ length: 8 }, (_, i) => `q${i}`);
      const bsns: string[] = [];
      for (let n = 100_000_000; bsns.length < ids.length; n++) if (isValidBsn(String(n))) bsns.push(String(n));
      await writeFile(f, ndjson(ids.map((id, i) => patient('screening', id, bsns[i]))));
      const witness = strict.vault.audit.witness.location;
      await rename(witness, `${witness}.away`);
      await writeFile(witness, 'not a directory');
      try {
        // Batches of one record: the first batch's checkpoint fails while the second is prepared.
        await expect(strict.vault.ingest.ingest(CTX, [f], { batchSize: 1 })).rejects.toThrow(/witness/);
      } finally {
        await rm(witness);
        await rename(`${witness}.away`, witness);
      }
      const db = new Database(strict.config.database.kind === 'sqlite' ? strict.config.database.file : '');
      const stored = db.prepare("SELECT count(*) FROM patients WHERE id LIKE 'q%'").pluck().get() as number;
      db.close();
      expect(stored).toBeLessThanOrEqual(1);
    } finally {
      await strict.cleanup();
    }
  });

  it('fails closed when checkpoints cannot be witnessed: operations stop until the witness is writable again', async () => {
    const witness = tv.vault.audit.witness.location;
    await tv.vault.audit.checkpoint();
    // (Tests run as root, so permissions do not stop writes: a file where the directory was does.)
    await rename(witness, `${witness}.away`);
    await writeFile(witness, 'not a directory');
    try {
      await tv.vault.reader.patient(CTX, 'screening', 'p1'); // appended; the checkpoint is due later
      await expect(tv.vault.audit.checkpoint()).rejects.toThrow(/witness/);
      await expect(tv.vault.reader.patient(CTX, 'screening', 'p1')).rejects.toThrow(/witness/);
    } finally {
      await rm(witness);
      await rename(`${witness}.away`, witness);
    }
    expect((await tv.vault.reader.patient(CTX, 'screening', 'p1')).id).toBe('p1');
    expect((await tv.vault.audit.verify()).ok).toBe(true);
  });
});

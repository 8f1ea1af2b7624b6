import { CTX } from '../support/context.js';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openVault } from '../../src/compose.js';
import { DECRYPTION_FAILED_MESSAGE, DecryptionFailed, NotFound } from '../../src/domain/errors.js';
import { KEYRING_FILE } from '../../src/keys/local-keyring.js';
import { ndjson, observation, patient, serviceRequest, testTenant } from '../support/fhir-builders.js';
import { tempVault, type TempVault } from '../support/temp-vault.js';

/** An attacker (or a disk) changes the stored bytes: every read must fail with one uniform error and no data. */
describe('tampered or unkeyed ciphertext', () => {
  let tv: TempVault;
  let db: Database.Database;
  beforeEach(async () => {
    tv = await tempVault();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lv-t-'));
    await tv.vault.ingest.importTenants(CTX, [testTenant('screening')]);
    const f = path.join(dir, 'x.ndjson');
    await writeFile(
      f,
      ndjson([
        patient('screening', 'p1', '123456782', 'Jansen'),
        patient('screening', 'p2', '111222333', 'Visser'),
        serviceRequest('screening', 'sr1', 'p1'),
        observation('screening', 'o1', 'p1', 'sr1'),
        observation('screening', 'o2', 'p1', 'sr1'),
      ]),
    );
    expect((await tv.vault.ingest.ingest(CTX, [f])).rejected).toBe(0);
    await rm(dir, { recursive: true, force: true });
    db = new Database(tv.config.database.kind === 'sqlite' ? tv.config.database.file : '');
  });
  afterEach(async () => {
    db.close();
    await tv.cleanup();
  });

  async function expectUniformFailure(read: () => Promise<unknown>): Promise<void> {
    let result: unknown;
    let error: unknown;
    try {
      result = await read();
    } catch (e) {
      error = e;
    }
    expect(result).toBeUndefined();
    expect(error).toBeInstanceOf(DecryptionFailed);
    expect((error as Error).message).toBe(DECRYPTION_FAILED_MESSAGE);
  }

  it('identity ciphertexts swapped between two patients', async () => {
    const a = db.prepare("SELECT identity FROM patients WHERE id = 'p1'").get() as { identity: Buffer };
    const b = db.prepare("SELECT identity FROM patients WHERE id = 'p2'").get() as { identity: Buffer };
    db.prepare("UPDATE patients SET identity = ? WHERE id = 'p1'").run(b.identity);
    db.prepare("UPDATE patients SET identity = ? WHERE id = 'p2'").run(a.identity);
    const v = await tv.reopen();
    await expectUniformFailure(() => v.reader.patient(CTX, 'screening', 'p1'));
    await expectUniformFailure(() => v.reader.patient(CTX, 'screening', 'p2'));
  });

  it('record bodies swapped between two rows of the same patient', async () => {
    const a = db.prepare("SELECT body FROM resources WHERE id = 'o1'").get() as { body: Buffer };
    const b = db.prepare("SELECT body FROM resources WHERE id = 'o2'").get() as { body: Buffer };
    db.prepare("UPDATE resources SET body = ? WHERE id = 'o1'").run(b.body);
    db.prepare("UPDATE resources SET body = ? WHERE id = 'o2'").run(a.body);
    const v = await tv.reopen();
    await expectUniformFailure(() => v.reader.resource(CTX, 'screening', 'Observation', 'o1'));
  });

  it('wrapped DEKs swapped between two patients', async () => {
    const a = db.prepare("SELECT wrapped_dek FROM patients WHERE id = 'p1'").get() as { wrapped_dek: Buffer };
    const b = db.prepare("SELECT wrapped_dek FROM patients WHERE id = 'p2'").get() as { wrapped_dek: Buffer };
    db.prepare("UPDATE patients SET wrapped_dek = ? WHERE id = 'p1'").run(b.wrapped_dek);
    db.prepare("UPDATE patients SET wrapped_dek = ? WHERE id = 'p2'").run(a.wrapped_dek);
    const v = await tv.reopen();
    await expectUniformFailure(() => v.reader.patient(CTX, 'screening', 'p1'));
    await expectUniformFailure(() => v.reader.patient(CTX, 'screening', 'p2'));
  });

  it('blind indexes swapped between two patients do not redirect a BSN look-up to the wrong person', async () => {
    const a = db.prepare("SELECT bsn_idx FROM patients WHERE id = 'p1'").get() as { bsn_idx: Buffer };
    const b = db.prepare("SELECT bsn_idx FROM patients WHERE id = 'p2'").get() as { bsn_idx: Buffer };
    db.prepare("UPDATE patients SET bsn_idx = ? WHERE id = 'p1'").run(b.bsn_idx);
    db.prepare("UPDATE patients SET bsn_idx = ? WHERE id = 'p2'").run(a.bsn_idx);
    const v = await tv.reopen();
    expect(await v.reader.patientsByBsn(CTX, 'screening', '123456782')).toEqual([]);
    expect(await v.reader.patientsByBsn(CTX, 'screening', '111222333')).toEqual([]);
  });

  it('a flipped byte in a record body', async () => {
    const a = db.prepare("SELECT body FROM resources WHERE id = 'sr1'").get() as { body: Buffer };
    const i = a.body.length >> 1;
    a.body[i] = (a.body[i] ?? 0) ^ 0x40;
    db.prepare("UPDATE resources SET body = ? WHERE id = 'sr1'").run(a.body);
    const v = await tv.reopen();
    await expectUniformFailure(() => v.reader.resource(CTX, 'screening', 'ServiceRequest', 'sr1'));
  });

  it('a bumped version column (AAD binds the version)', async () => {
    db.prepare("UPDATE resources SET version = 2 WHERE id = 'sr1'").run();
    const v = await tv.reopen();
    await expectUniformFailure(() => v.reader.resource(CTX, 'screening', 'ServiceRequest', 'sr1'));
  });

  it('a wrong master key', async () => {
    await tv.vault.close();
    const other = await mkdtemp(path.join(os.tmpdir(), 'lv-other-'));
    const o = await openVault(loadConfig({ dataDir: other }, {}), { create: true });
    await o.close();
    await copyFile(path.join(other, KEYRING_FILE), path.join(tv.config.dataDir, KEYRING_FILE));
    await rm(other, { recursive: true, force: true });
    const v = await tv.reopen();
    await expectUniformFailure(() => v.reader.patient(CTX, 'screening', 'p1'));
  });

  it('a DEK still wrapped by a KEK that rotation destroyed', async () => {
    const before = db.prepare("SELECT kek_version, wrapped_dek FROM patients WHERE id = 'p1'").get() as {
      kek_version: number;
      wrapped_dek: Buffer;
    };
    const r = await tv.vault.keyAdmin.rotate(CTX, 'screening');
    expect(r.destroyed).toEqual([1]);
    expect(r.rewrapped).toBe(2);
    const v = await tv.reopen();
    expect((await v.reader.patient(CTX, 'screening', 'p1')).id).toBe('p1');
    // Put back the pre-rotation wrapped DEK (e.g. from an old copy): its KEK no longer exists.
    db.pragma('foreign_keys = OFF');
    db.prepare('DROP TRIGGER patients_rewrap_live').run();
    db.prepare("UPDATE patients SET kek_version = ?, wrapped_dek = ? WHERE id = 'p1'").run(before.kek_version, before.wrapped_dek);
    const v2 = await tv.reopen();
    await expectUniformFailure(() => v2.reader.patient(CTX, 'screening', 'p1'));
    expect((await v2.reader.patient(CTX, 'screening', 'p2')).id).toBe('p2');
  });

  it('crypto-shredding one patient leaves its records unreadable and other patients intact', async () => {
    const wrapped = (db.prepare("SELECT wrapped_dek FROM patients WHERE id = 'p1'").get() as { wrapped_dek: Buffer }).wrapped_dek;
    await tv.vault.keyAdmin.erasePatient(CTX, 'screening', 'p1');
    await expect(tv.vault.reader.patient(CTX, 'screening', 'p1')).rejects.toBeInstanceOf(NotFound);
    await expect(tv.vault.reader.resource(CTX, 'screening', 'Observation', 'o1')).rejects.toBeInstanceOf(NotFound);
    expect((await tv.vault.reader.patient(CTX, 'screening', 'p2')).id).toBe('p2');
    // Even reading the raw ciphertext no longer helps: the DEK is gone from the row…
    const row = db.prepare("SELECT wrapped_dek, identity, bsn_idx FROM patients WHERE id = 'p1'").get() as Record<string, unknown>;
    expect(row).toEqual({ wrapped_dek: null, identity: null, bsn_idx: null });
    // …and from the database files (secure_delete + WAL checkpoint).
    db.close();
    await tv.vault.close();
    const { readFile } = await import('node:fs/promises');
    const file = tv.config.database.kind === 'sqlite' ? tv.config.database.file : '';
    for (const f of [file, `${file}-wal`]) {
      const bytes = await readFile(f).catch(() => Buffer.alloc(0));
      expect(bytes.indexOf(wrapped)).toBe(-1);
    }
    db = new Database(file);
  });
});

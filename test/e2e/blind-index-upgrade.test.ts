import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorContext } from '../../src/domain/principal.js';
import { patient, testTenant } from '../support/fhir-builders.js';
import { tempVault, type TempVault } from '../support/temp-vault.js';

/**
 * Blind indexes v2: a vault that holds patients indexed by the older HMAC version is refused at
 * open with a one-line reason (its lookups would otherwise find nobody); an empty one upgrades.
 */
const OP = operatorContext('admin', 'upgrade-test');

describe('blind index v2 migration', () => {
  let t: TempVault;
  beforeAll(async () => {
    t = await tempVault();
    await t.vault.ingest.importTenants(OP, [testTenant('screening')]);
    await t.vault.ingest.submit(OP, patient('screening', 'p-1'));
    expect((await t.vault.reader.patientsByBsn(OP, 'screening', '123456782')).map((p) => p.id)).toEqual(['p-1']);
    await t.vault.close();
  });
  afterAll(async () => t.cleanup());

  it('refuses a vault whose patients carry v1 indexes, and opens again once it has v2', async () => {
    const db = new Database(path.join(t.config.dataDir, 'vault.db'));
    // As a vault written before this step: no record of step 6, no version table.
    db.exec('DELETE FROM schema_migrations WHERE version = 6; DROP TABLE blind_index_version;');
    db.close();
    await expect(t.reopen()).rejects.toThrow(/older version .* new vault/);
    const again = new Database(path.join(t.config.dataDir, 'vault.db'));
    expect(again.prepare('SELECT count(*) AS n FROM schema_migrations WHERE version = 6').get()).toEqual({ n: 0 });
    again.exec(
      "CREATE TABLE blind_index_version (version INTEGER NOT NULL); INSERT INTO blind_index_version VALUES (2); INSERT INTO schema_migrations VALUES (6, 'blind indexes v2 (batchable PRF)', '2026-11-29T00:00:00Z');",
    );
    again.close();
    const v = await t.reopen();
    expect((await v.reader.patientsByBsn(OP, 'screening', '123456782')).map((p) => p.id)).toEqual(['p-1']);
  });
});

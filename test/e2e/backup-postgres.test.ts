import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBackup } from '../../src/backup/backup-verifier.js';
import { restoreBackup } from '../../src/backup/restore.js';
import type { BackupResult } from '../../src/backup/backup-service.js';
import { loadConfig } from '../../src/config.js';
import { openKeyProvider, openVault } from '../../src/compose.js';
import { generateSyntheticLab } from '../../src/synth/generator.js';
import { DirectoryWitness } from '../../src/witness/directory-witness.js';
import { CTX } from '../support/context.js';
import { freshSchema, pgAvailable, PG_REQUIRED, PG_URL } from '../support/pg.js';
import { ByteScanner, scanFiles } from '../support/scan-bytes.js';
import { seededIdentifiers } from '../support/seeded-identifiers.js';
import { tempVault, type TempVault } from '../support/temp-vault.js';

/**
 * The same backup path on PostgreSQL: pg_dump of the vault schema with the copy's canaries planted
 * through a scratch database, verified by a trial pg_restore into another scratch database, and
 * restored into a fresh database where the audit log continues and verifies. The copy holds no
 * plaintext identifier.
 */
const pgUp = await pgAvailable();
if (!pgUp && !PG_REQUIRED) console.warn('[backup-postgres] PostgreSQL unreachable: SKIPPED (CI=true makes this a failure)');

describe.skipIf(!pgUp && !PG_REQUIRED)('backup and restore (PostgreSQL)', () => {
  let work: string;
  let t: TempVault;
  let schema: { schema: string; drop: () => Promise<void> };
  let b: BackupResult;
  const restoredDb = `lv_restore_${randomBytes(5).toString('hex')}`;
  const admin = async (sql: string): Promise<void> => {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'lv-backup-pg-'));
    schema = await freshSchema();
    t = await tempVault({
      databaseUrl: PG_URL,
      env: { LABVAULT_PG_SCHEMA: schema.schema, LABVAULT_DETECTION_MODE: 'off', LABVAULT_BACKUP_DIR: path.join(work, 'backups') },
    });
    await generateSyntheticLab({ patients: 60, seed: 21, outDir: path.join(work, 'lab') });
    await t.vault.ingest.ingest(CTX, [path.join(work, 'lab')], { worker: false });
    b = await t.vault.backups.create(CTX);
  }, 120_000);
  afterAll(async () => {
    await t.cleanup();
    await schema.drop();
    await admin(`DROP DATABASE IF EXISTS ${restoredDb} WITH (FORCE)`);
    await rm(work, { recursive: true, force: true });
  });

  it('writes a pg_dump copy with its canaries that verifies and holds no plaintext identifier', async () => {
    expect(await readdir(b.path)).toEqual(
      expect.arrayContaining(['vault.pgdump', 'manifest.json', 'manifest.sig', 'canaries.sealed.json']),
    );
    expect(b.canaries).toBe(2 * 5);
    const v = await verifyBackup(b.path, {
      provider: t.vault.provider,
      witnessFor: (o) => new DirectoryWitness(t.config.audit.witnessDir, o),
      postgresUrl: PG_URL,
    });
    expect(v).toMatchObject({ ok: true, id: b.id, audit_size: b.audit_size });
    expect(v.sample_decrypted).toBeGreaterThan(0);
    const ids = await seededIdentifiers(path.join(work, 'lab'));
    const scan = await scanFiles(
      new ByteScanner(ids.values),
      (await readdir(b.path)).map((f) => path.join(b.path, f)),
    );
    expect(scan.hits).toEqual([]);
  }, 120_000);

  it('restores into a fresh database: the log continues, erasures stay, audit verify passes', async () => {
    const [erased] = await t.vault.store.listPatientIds('screening', '', 1);
    await t.vault.keyAdmin.erasePatient(CTX, 'screening', erased as string);
    await t.vault.close();
    await admin(`CREATE DATABASE ${restoredDb}`);
    const url = new URL(PG_URL);
    url.pathname = `/${restoredDb}`;
    const config = loadConfig(
      { dataDir: t.config.dataDir, databaseUrl: url.toString(), keyProvider: 'local' },
      { LABVAULT_PG_SCHEMA: schema.schema, LABVAULT_DETECTION_MODE: 'off', LABVAULT_BACKUP_DIR: path.join(work, 'backups') },
    );
    const provider = await openKeyProvider(config, false);
    const r = await restoreBackup(b.path, { config, provider, openVault: (c) => openVault(c), ctx: CTX }).finally(() => provider.close());
    expect(r).toMatchObject({ restored: true, verified: true, erasures_reapplied: 1, canaries_removed: 10 });
    expect(r.lost_writes.some((w) => w.action === 'patient.erase')).toBe(true);
    const v = await openVault(config);
    try {
      expect((await v.store.getPatient('screening', erased as string))?.erasedAt).not.toBeNull();
      expect((await v.audit.verify()).ok).toBe(true);
    } finally {
      await v.close();
    }
    // Restoring over a database that already holds the vault is refused.
    const again = await openKeyProvider(config, false);
    await expect(restoreBackup(b.path, { config, provider: again, openVault: (c) => openVault(c), ctx: CTX })).rejects.toThrow(
      /fresh database/,
    );
    await again.close();
  }, 120_000);
});

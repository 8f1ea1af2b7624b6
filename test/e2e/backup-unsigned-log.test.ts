import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from '../../src/backup/backup-layout.js';
import { CTX } from '../support/context.js';
import { testTenant } from '../support/fhir-builders.js';
import { tempVault, type TempVault } from '../support/temp-vault.js';

/**
 * A backup of a vault whose log has events and no checkpoint yet (a crash before its first one):
 * planting the copy's canaries commits into the copy's log, which must sign nothing there (the
 * copy stays as it was taken, and its witness refuses every checkpoint). The first-commit rule
 * of a new log made that plant sign, and the witness's refusal failed the backup.
 */
describe('backup of a log no checkpoint covers yet', () => {
  let work: string;
  let t: TempVault;
  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'lv-backup-unsigned-'));
    t = await tempVault({
      env: { LABVAULT_DETECTION_MODE: 'off', LABVAULT_BACKUP_DIR: path.join(work, 'backups'), LABVAULT_BACKUP_CANARIES: '2' },
    });
    // A tenant and its keys stored with their events, as an import does, but with no commit
    // reported to the log: the events are there and no checkpoint is.
    const { vault } = t;
    await vault.store.upsertTenant(testTenant('screening'), [vault.audit.event(CTX, { action: 'tenant.import', tenant: 'screening' })]);
    await vault.keys.ensureTenantKeys('screening', () => [vault.audit.event(CTX, { action: 'keys.create', tenant: 'screening' })]);
  });
  afterAll(async () => {
    await t.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  it('is written, with its canaries, and signs nothing in the copy', async () => {
    const { vault } = t;
    const head = (await vault.store.auditHead()).size;
    expect(head).toBeGreaterThan(0);
    expect(await vault.store.listCheckpoints()).toEqual([]);
    const b = await vault.backups.create(CTX);
    expect(b.audit_size).toBe(head);
    expect(b.canaries).toBeGreaterThan(0);
    // The copy's log is the snapshot's: its events, no checkpoint. (The vault itself signs its
    // own log after the backup's events, as it should.)
    const copy = new Database(path.join(b.path, DATABASE_FILE), { readonly: true });
    try {
      expect(copy.prepare('SELECT count(*) FROM audit_checkpoints').pluck().get()).toBe(0);
      expect(copy.prepare('SELECT count(*) FROM audit_events').pluck().get()).toBe(head);
    } finally {
      copy.close();
    }
  });
});

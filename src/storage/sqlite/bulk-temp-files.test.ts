import { mkdtempSync, rmSync, watch } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteVaultStore } from './sqlite-vault-store.js';
import { patientRow, resourceRow } from '../../../test/support/store-rows.js';
import { testTenant } from '../../../test/support/fhir-builders.js';

const T = 'screening';

/**
 * Where SQLite puts its temporary files on Unix: SQLITE_TMPDIR, TMPDIR, then /var/tmp, /usr/tmp,
 * /tmp (os_unix.c). It creates them as etilqs_* and unlinks them at once, so only the directory's
 * create events show them.
 */
function sqliteTempDir(): string {
  return process.env.SQLITE_TMPDIR ?? process.env.TMPDIR ?? '/var/tmp';
}

/** Names of SQLite temp files created in that directory while `body` runs. */
async function tempFilesCreatedDuring(body: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const watcher = watch(sqliteTempDir(), (_event, name) => {
    if (name?.startsWith('etilqs_')) seen.push(name);
  });
  try {
    await body();
    // inotify events queued during the synchronous SQLite work arrive on the next turns of the loop.
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    watcher.close();
  }
  return seen;
}

describe('SQLite temporary files during a bulk load', () => {
  let dir: string;
  let store: SqliteVaultStore;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lv-bulk-temp-'));
    store = new SqliteVaultStore(join(dir, 'vault.db'));
    await store.migrate();
    await store.upsertTenant(testTenant(T), []);
    await store.addTenantKey(
      { tenantId: T, version: 1, wrappedKek: randomBytes(40), masterKeyId: 'm', state: 'active', createdAt: 'x' },
      [],
    );
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Random ids split B-tree pages all over the table and its indexes; an insert whose statement
   * journal outgrows SQLite's 64 KiB spill threshold writes it to a temp file.
   */
  async function loadBatches(batches: number): Promise<void> {
    for (let b = 0; b < batches; b++) {
      const patients = Array.from({ length: 500 }, () => patientRow(T, randomUUID(), 1, { identity: randomBytes(1500) }));
      const resources = patients.flatMap((p) =>
        Array.from({ length: 4 }, () => resourceRow(T, 'Observation', randomUUID(), p.id, { body: randomBytes(1200) })),
      );
      await store.writeBatch({ patients, resources, audit: [] });
    }
  }

  it('outside bulk mode, the same writes spill statement journals to temp files (the control)', async () => {
    await loadBatches(2);
    expect(await tempFilesCreatedDuring(() => loadBatches(4))).not.toEqual([]);
  });

  it('in bulk mode, no page image goes to a temp file: statement journals stay in memory', async () => {
    await loadBatches(2);
    await store.setBulkLoad(true, 1_000_000);
    const files = await tempFilesCreatedDuring(async () => {
      await loadBatches(4);
      await store.setBulkLoad(false);
    });
    expect(files).toEqual([]);
  });
});

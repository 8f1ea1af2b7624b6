import { mkdirSync, mkdtempSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteVaultStore } from './sqlite-vault-store.js';
import { seedTenant, writeRandomBatches } from '../../../test/support/random-batches.js';

const T = 'screening';

/**
 * SQLite creates its temp files as etilqs_* and unlinks them at once, so only the directory's create
 * events show them. The directory is this test's own (`PRAGMA temp_store_directory` sets it for
 * every connection of the process; vitest runs one test file per process at a time), so temp
 * files of tests running in other processes cannot show up here.
 */
async function tempFilesCreatedDuring(tempDir: string, body: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const watcher = watch(tempDir, (_event, name) => {
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

function setSqliteTempDir(dir: string): void {
  const db = new Database(':memory:');
  try {
    db.pragma(`temp_store_directory = '${dir}'`);
  } finally {
    db.close();
  }
}

describe('SQLite temporary files during a bulk load', () => {
  let dir: string;
  let tempDir: string;
  let store: SqliteVaultStore;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lv-bulk-temp-'));
    tempDir = join(dir, 'sqlite-temp');
    mkdirSync(tempDir);
    setSqliteTempDir(tempDir);
    store = new SqliteVaultStore(join(dir, 'vault.db'));
    await store.migrate();
    await seedTenant(store, T);
  });

  afterEach(async () => {
    await store.close();
    setSqliteTempDir('');
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Random ids split B-tree pages all over the table and its indexes; an insert whose statement
   * journal outgrows SQLite's 64 KiB spill threshold writes it to a temp file.
   */
  async function loadBatches(batches: number): Promise<void> {
    await writeRandomBatches(store, T, batches, 4, 1200);
  }

  it('outside bulk mode, the same writes spill statement journals to temp files (the control)', async () => {
    await loadBatches(2);
    expect(await tempFilesCreatedDuring(tempDir, () => loadBatches(4))).not.toEqual([]);
  });

  it('in bulk mode, no page image goes to a temp file: statement journals stay in memory', async () => {
    await loadBatches(2);
    await store.setBulkLoad(true, 1_000_000);
    const files = await tempFilesCreatedDuring(tempDir, async () => {
      await loadBatches(4);
      await store.setBulkLoad(false);
    });
    expect(files).toEqual([]);
  });
});

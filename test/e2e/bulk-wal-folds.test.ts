import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteVaultStore as Store } from '../../src/storage/sqlite/sqlite-vault-store.js';
import type { WalCheckpointer as Checkpointer } from '../../src/storage/sqlite/wal-checkpointer.js';
import { seedTenant, writeRandomBatches } from '../support/random-batches.js';

/**
 * A bulk load folds its WAL into the database from a worker thread, not inside the writer's
 * commits. The worker runs from the built module (dist/, compiled by the suite's global setup):
 * from the sources there is no worker script and the store keeps SQLite's in-line checkpoints.
 */
const { SqliteVaultStore } = (await import(pathToFileURL(path.resolve('dist/storage/sqlite/sqlite-vault-store.js')).href)) as {
  SqliteVaultStore: typeof Store;
};
const { WalCheckpointer } = (await import(pathToFileURL(path.resolve('dist/storage/sqlite/wal-checkpointer.js')).href)) as {
  WalCheckpointer: typeof Checkpointer;
};

const T = 'screening';

/**
 * The WAL index header in the -shm file (SQLite's wal.c, native byte order): the last valid frame
 * of the WAL at byte 16, and how many frames a checkpoint has copied into the database at byte 96.
 */
function walState(file: string): { frames: number; folded: number } {
  const shm = readFileSync(`${file}-shm`);
  return { frames: shm.readUInt32LE(16), folded: shm.readUInt32LE(96) };
}

describe('WAL folds during a bulk load', () => {
  let dir: string;
  let file: string;
  let store: Store;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lv-bulk-wal-'));
    file = path.join(dir, 'vault.db');
    store = new SqliteVaultStore(file);
    await store.migrate();
    await seedTenant(store, T);
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** About 2 MB a batch: a few hundred WAL frames, far below the in-line checkpoint's 8,192. */
  async function loadBatches(batches: number): Promise<void> {
    await writeRandomBatches(store, T, batches, 3, 800);
  }

  async function foldedWithin(ms: number): Promise<{ frames: number; folded: number }> {
    const until = Date.now() + ms;
    let s = walState(file);
    while (Date.now() < until && !(s.frames > 0 && s.folded === s.frames)) {
      await sleep(20);
      s = walState(file);
    }
    return s;
  }

  it('outside bulk mode the same writes stay in the WAL until the in-line threshold (the control)', async () => {
    await loadBatches(3);
    const s = await foldedWithin(1000);
    expect(s.frames).toBeGreaterThan(0);
    expect(s.folded).toBe(0);
  });

  it('in bulk mode a worker folds the committed frames while the writer goes on', async () => {
    await store.setBulkLoad(true, 1_000_000);
    await loadBatches(3);
    const s = await foldedWithin(5000);
    expect(s.frames).toBeGreaterThan(0);
    expect(s.folded).toBe(s.frames);
    // And the load's end stops the worker and hands checkpoints back to the writer's commits.
    await store.setBulkLoad(false);
    await loadBatches(1);
    const after = walState(file);
    await sleep(500);
    expect(walState(file)).toEqual(after);
    expect(after.folded).toBeLessThan(after.frames);
  });
});

describe("a bulk load's WAL limit, passed by the store to its folds", () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lv-bulk-limit-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A bulk load of `batches` small batches back to back (100 random-id patients and 100
   * Observations each, ~1 MB of WAL: every row lands on a page of its own), too quick for a fold
   * to catch up between them; the largest the WAL file got.
   */
  async function loadAndWatch(name: string, batches: number, bulkMaxWalBytes?: number): Promise<number> {
    const f = path.join(dir, name);
    // Undefined: the store's default limit.
    const s = new SqliteVaultStore(f, bulkMaxWalBytes);
    let largest = 0;
    try {
      await s.migrate();
      await seedTenant(s, T);
      await s.setBulkLoad(true, 1_000_000);
      for (let b = 0; b < batches; b++) {
        await writeRandomBatches(s, T, 1, 1, 200, 100);
        largest = Math.max(largest, statSync(`${f}-wal`).size);
      }
      await s.setBulkLoad(false);
    } finally {
      await s.close();
    }
    return largest;
  }

  it('with a 1 MiB limit the WAL stays near it; with the default limit it holds the whole load (the control)', async () => {
    const MiB = 1024 * 1024;
    // Measured: 16–21 MB (the limit plus what the writer commits while a fold, every 100 ms, copies
    // and starts over) against 240 MB. With the store passing the default limit to both: 240 MB.
    const limited = await loadAndWatch('limited.db', 200, MiB);
    const unlimited = await loadAndWatch('default.db', 200);
    expect(limited).toBeLessThan(48 * MiB);
    expect(unlimited).toBeGreaterThan(96 * MiB);
  });
});

describe('a writer that commits faster than the folds copy', () => {
  let dir: string;
  let file: string;
  let db: Database.Database;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lv-wal-bound-'));
    file = path.join(dir, 'w.db');
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('wal_autocheckpoint = 0');
    db.pragma('busy_timeout = 10000');
    db.exec('CREATE TABLE t (k BLOB PRIMARY KEY, v BLOB)');
  });

  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** 1,500 commits of ~40 KB with a millisecond between them (60 MB); the largest the WAL file got. */
  async function writeAndWatch(maxWalBytes?: number): Promise<number> {
    const c = WalCheckpointer.start(file, () => undefined, 5, maxWalBytes);
    expect(c).not.toBeNull();
    const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
    const tx = db.transaction(() => {
      for (let i = 0; i < 10; i++) insert.run(randomBytes(16), randomBytes(4000));
    });
    let largest = 0;
    try {
      for (let n = 0; n < 1500; n++) {
        tx.immediate();
        largest = Math.max(largest, statSync(`${file}-wal`).size);
        await sleep(1);
      }
    } finally {
      await c?.stop();
    }
    return largest;
  }

  it('keeps the WAL near its limit by making the writer wait for a fold past it', async () => {
    expect(await writeAndWatch(2 * 1024 * 1024)).toBeLessThan(12 * 1024 * 1024);
  });

  it('without the limit, as a server folds, they fall behind and the WAL grows (the control)', async () => {
    expect(await writeAndWatch()).toBeGreaterThan(16 * 1024 * 1024);
  });
});

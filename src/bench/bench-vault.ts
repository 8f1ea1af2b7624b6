import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openVault, type Vault } from '../compose.js';
import { loadConfig, type Config } from '../config.js';
import { BenchFailed } from './bench-failed.js';
import { cleanUpOnInterrupt } from './interrupt-cleanup.js';

/**
 * A fresh SQLite vault in a temporary directory for an audit-log benchmark, configured as
 * `bench audit` runs it: a checkpoint 700 ms after the first unsigned event, so that with checking
 * and signing no gap exceeds a second. Ctrl-C removes the directory (the keyring lies next to the
 * data, so it must go too); `close` does the same once the run ends.
 */
export interface BenchVault {
  readonly vault: Vault;
  readonly config: Readonly<Config>;
  /** The SQLite file (what a raw baseline opens next to the vault's own connection). */
  readonly file: string;
  /** Size of the database with its WAL, in bytes. */
  bytes(): Promise<number>;
  close(): Promise<void>;
}

export async function openBenchVault(prefix: string): Promise<BenchVault> {
  const work = await mkdtemp(path.join(os.tmpdir(), prefix));
  const stopWatching = cleanUpOnInterrupt(work, () => null);
  try {
    const env = { LABVAULT_AUDIT_CHECKPOINT_MS: '700', LABVAULT_AUDIT_CHECKPOINT_EVENTS: '10000000' };
    const config = loadConfig({ dataDir: path.join(work, 'vault'), keyProvider: 'local' }, env);
    // The env above names no database URL, so this is the data dir's SQLite file.
    if (config.database.kind !== 'sqlite') throw new BenchFailed('bench vault: SQLite only');
    const file = config.database.file;
    const vault = await openVault(config, { create: true });
    return {
      vault,
      config,
      file,
      bytes: async () => (await stat(file)).size + ((await stat(`${file}-wal`).catch(() => null))?.size ?? 0),
      close: async () => {
        try {
          await vault.close();
        } finally {
          stopWatching();
          await rm(work, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    stopWatching();
    await rm(work, { recursive: true, force: true });
    throw e;
  }
}

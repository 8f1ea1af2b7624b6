import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { openVault, type Vault } from '../../src/compose.js';

/** A fresh vault in a temp dir (SQLite + local keyring unless a database URL is given). */
export interface TempVault {
  dir: string;
  config: Readonly<Config>;
  vault: Vault;
  reopen(): Promise<Vault>;
  cleanup(): Promise<void>;
}

export async function tempVault(opts: { databaseUrl?: string; env?: NodeJS.ProcessEnv } = {}): Promise<TempVault> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lv-vault-'));
  const config = loadConfig({ dataDir: path.join(dir, 'data'), databaseUrl: opts.databaseUrl, keyProvider: 'local' }, opts.env ?? {});
  const vault = await openVault(config, { create: true });
  const opened: Vault[] = [vault];
  return {
    dir,
    config,
    vault,
    async reopen() {
      const v = await openVault(config);
      opened.push(v);
      return v;
    },
    async cleanup() {
      for (const v of opened) await v.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

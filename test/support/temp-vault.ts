import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { openVault, type Vault } from '../../src/compose.js';
import type { Clock } from '../../src/ports/clock.js';

/** A fresh vault in a temp dir (SQLite + local keyring unless a database URL is given). */
export interface TempVault {
  dir: string;
  config: Readonly<Config>;
  vault: Vault;
  reopen(): Promise<Vault>;
  cleanup(): Promise<void>;
}

/** `clock`: an injected time source (e.g. one a test advances), used by the vault and by reopen(). */
export async function tempVault(opts: { databaseUrl?: string; env?: NodeJS.ProcessEnv; clock?: Clock } = {}): Promise<TempVault> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lv-vault-'));
  const config = loadConfig({ dataDir: path.join(dir, 'data'), databaseUrl: opts.databaseUrl, keyProvider: 'local' }, opts.env ?? {});
  const clockOpt = opts.clock ? { clock: opts.clock } : {};
  const vault = await openVault(config, { create: true, ...clockOpt });
  const opened: Vault[] = [vault];
  return {
    dir,
    config,
    vault,
    async reopen() {
      const v = await openVault(config, clockOpt);
      opened.push(v);
      return v;
    },
    async cleanup() {
      for (const v of opened) await v.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.js';
import { openVault, type OpenOptions, type Vault } from '../compose.js';

/** Global options shared by every command (each also an environment variable; see config.ts). */
export interface GlobalOptions {
  dataDir?: string;
  databaseUrl?: string;
  keyProvider?: string;
  debug?: boolean;
}

export function configFrom(cmd: Command): Readonly<Config> {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  return loadConfig({ dataDir: g.dataDir, databaseUrl: g.databaseUrl, keyProvider: g.keyProvider, debug: g.debug });
}

/** Opens the vault for one command and always closes it, so SQLite folds its WAL and the HSM session ends. */
export async function withVault<T>(cmd: Command, fn: (vault: Vault) => Promise<T>, opts: OpenOptions = {}): Promise<T> {
  const vault = await openVault(configFrom(cmd), opts);
  try {
    return await fn(vault);
  } finally {
    await vault.close();
  }
}

/** `--json` prints exactly one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Marks a run whose work completed but found a problem (exit 1, CLI.md). */
export function setProblem(): void {
  process.exitCode = 1;
}

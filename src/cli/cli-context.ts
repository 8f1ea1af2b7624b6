import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.js';
import { openVault, type OpenOptions, type Vault } from '../compose.js';
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import type { AccessContext } from '../domain/principal.js';
import { bsnFreeId } from '../domain/validate-resource.js';

/** Global options shared by every command (each also an environment variable; see config.ts). */
export interface GlobalOptions {
  dataDir?: string;
  databaseUrl?: string;
  keyProvider?: string;
  witnessDir?: string;
  purpose?: string;
  debug?: boolean;
}

export function configFrom(cmd: Command): Readonly<Config> {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  return loadConfig({
    dataDir: g.dataDir,
    databaseUrl: g.databaseUrl,
    keyProvider: g.keyProvider,
    witnessDir: g.witnessDir,
    debug: g.debug,
  });
}

const CLI_VERSION = 'labvault-cli/0.1';

/**
 * Who runs a CLI command: the operating-system account, as the lab's administrator for every
 * tenant (whoever can run the binary against the data dir holds the keyring anyway). One request
 * id per invocation ties its events together; purpose of use from --purpose, default HOPERAT.
 */
export function cliContext(cmd: Command): AccessContext {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): the uid still identifies the account.
    user = `uid-${process.getuid?.() ?? 'unknown'}`;
  }
  return {
    principal: { id: `cli:${user}`, role: 'admin', tenants: ['*'] },
    purpose: g.purpose ?? 'HOPERAT',
    origin: { ip: null, userAgent: CLI_VERSION, requestId: bsnFreeId(randomUUID) },
    local: true,
  };
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

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigurationError } from '../domain/errors.js';
import type { VaultStore } from '../ports/vault-store.js';
import type { CanaryRecords } from '../synth/canary-bundle.js';

/** Files of a backup copy. */
export const DATABASE_FILE = 'vault.db';
export const PG_DUMP_FILE = 'vault.pgdump';
export const CANARY_FILE = 'canaries.sealed.json';

const run = promisify(execFile);

/** One tenant's canaries written into a copy. */
export interface PlantedCanaries {
  tenant: string;
  records: CanaryRecords;
}

/** A database copy in a backup's temp directory, with what the manifest records of it. */
export interface Snapshot {
  file: string;
  schemaVersion: number;
  audit: { size: number; root: Buffer };
  planted: PlantedCanaries[];
}

/**
 * The PostgreSQL tools get the connection through libpq's environment, never as arguments: a
 * URL in argv would show the password to every user of the machine (ps).
 */
export function pgEnv(url: string, database?: string): NodeJS.ProcessEnv {
  const u = new URL(url);
  const env: NodeJS.ProcessEnv = { ...process.env, PGHOST: u.hostname || '127.0.0.1', PGPORT: u.port || '5432' };
  if (u.username) env.PGUSER = decodeURIComponent(u.username);
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  env.PGDATABASE = database ?? (decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres');
  return env;
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function pgTool(tool: 'pg_dump' | 'pg_restore', args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  try {
    await run(tool, args, { env, maxBuffer: 16 << 20 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new ConfigurationError(`${tool} is not installed (Debian: postgresql-client)`);
    // pg tools name objects, never row values: their first line is safe to show.
    throw new ConfigurationError(`${tool} failed: ${(err.stderr ?? err.message).split('\n')[0] ?? ''}`);
  }
}

/**
 * A PostgreSQL copy: pg_dump of the vault schema (one consistent snapshot), restored into a
 * scratch database where the copy's canaries are planted, then dumped again as the copy, and the
 * scratch database dropped. The live database never sees the canaries.
 */
export async function dumpPostgres(
  pgc: { url: string; schema: string },
  dir: string,
  plant: (copy: VaultStore) => Promise<PlantedCanaries[]>,
): Promise<Snapshot> {
  // Loaded here, not at start-up: every CLI command opens the vault, few take PostgreSQL copies.
  const [{ default: pg }, { PostgresVaultStore }] = await Promise.all([
    import('pg'),
    import('../storage/postgres/postgres-vault-store.js'),
  ]);
  const raw = path.join(dir, '.snapshot.pgdump');
  await pgTool('pg_dump', ['--format=custom', `--schema=${pgc.schema}`, '--no-owner', '--no-privileges', `--file=${raw}`], pgEnv(pgc.url));
  const scratch = `labvault_backup_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgc.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${scratch}`);
    try {
      await pgTool('pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error', `--dbname=${scratch}`, raw], pgEnv(pgc.url, scratch));
      const copy = await PostgresVaultStore.connect({ url: withDatabase(pgc.url, scratch), schema: pgc.schema, poolSize: 2 });
      let planted: PlantedCanaries[];
      let head: { size: number; root: Buffer };
      let schemaVersion: number;
      try {
        planted = await plant(copy);
        head = await copy.auditHead();
        schemaVersion = await copy.schemaVersion();
      } finally {
        await copy.close();
      }
      await pgTool(
        'pg_dump',
        ['--format=custom', `--schema=${pgc.schema}`, '--no-owner', '--no-privileges', `--file=${path.join(dir, PG_DUMP_FILE)}`],
        pgEnv(pgc.url, scratch),
      );
      return { file: PG_DUMP_FILE, schemaVersion, audit: { size: head.size, root: head.root }, planted };
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`);
    }
  } finally {
    await admin.end();
    await import('node:fs').then((fs) => fs.promises.rm(raw, { force: true }));
  }
}

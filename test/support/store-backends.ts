import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { VaultStore } from '../../src/ports/vault-store.js';
import { PostgresVaultStore } from '../../src/storage/postgres/postgres-vault-store.js';
import { SqliteVaultStore } from '../../src/storage/sqlite/sqlite-vault-store.js';
import { freshSchema, pgAvailable, PG_REQUIRED, PG_URL } from './pg.js';

/**
 * The storage backends every contract suite loops over (kysely's one-suite-every-dialect pattern).
 */
/** A database opened for one test; `reopen` gives a second store on the same database. */
export interface Opened {
  store: VaultStore;
  /** Runs raw SQL on the same database outside the adapter (an attacker's or a DBA's session). */
  exec(sql: string): Promise<void>;
  reopen(): Promise<VaultStore>;
  dispose(): Promise<void>;
}

export interface Backend {
  name: 'sqlite' | 'postgres';
  skip: boolean;
  open(opts?: { migrate?: boolean }): Promise<Opened>;
}

const pgUp = await pgAvailable();
if (!pgUp && !PG_REQUIRED) {
  console.warn(`[contract] PostgreSQL unreachable at ${new URL(PG_URL).host}: postgres backend SKIPPED (CI=true makes this a failure)`);
}

export const backends: Backend[] = [
  {
    name: 'sqlite',
    skip: false,
    async open(opts) {
      const dir = mkdtempSync(join(tmpdir(), 'lv-contract-'));
      const file = join(dir, 'vault.db');
      const stores: VaultStore[] = [];
      const openOne = async (migrate: boolean): Promise<VaultStore> => {
        const s = new SqliteVaultStore(file);
        stores.push(s);
        if (migrate) await s.migrate();
        return s;
      };
      return {
        store: await openOne(opts?.migrate ?? true),
        reopen: () => openOne(false),
        async exec(sql) {
          const raw = new Database(file);
          try {
            raw.exec(sql);
          } finally {
            raw.close();
          }
        },
        async dispose() {
          for (const s of stores) await s.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    // In CI an unreachable server must fail the run, so the tests are never skipped there.
    skip: !pgUp && !PG_REQUIRED,
    async open(opts) {
      const { schema, drop } = await freshSchema();
      const stores: VaultStore[] = [];
      const openOne = async (migrate: boolean): Promise<VaultStore> => {
        const s = await PostgresVaultStore.connect({ url: PG_URL, schema, poolSize: 4 });
        stores.push(s);
        if (migrate) await s.migrate();
        return s;
      };
      return {
        store: await openOne(opts?.migrate ?? true),
        reopen: () => openOne(false),
        async exec(sql) {
          const client = new pg.Client({ connectionString: PG_URL });
          client.on('error', () => undefined);
          await client.connect();
          try {
            await client.query(`SET search_path TO ${schema}`);
            await client.query(sql);
          } finally {
            await client.end();
          }
        },
        async dispose() {
          for (const s of stores) await s.close();
          await drop();
        },
      };
    },
  },
];

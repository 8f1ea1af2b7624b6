import { MIGRATIONS } from '../migrations/migrations.js';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError, Conflict, StorageError } from '../../domain/errors.js';
import type { PatientRow, ResourceRow } from '../../ports/vault-store.js';
import { freshSchema, pgAvailable, PG_REQUIRED, PG_URL } from '../../../test/support/pg.js';
import { PostgresVaultStore } from './postgres-vault-store.js';
import { AT, patientRow } from '../../../test/support/store-rows.js';

/**
 * PostgreSQL-only behaviour the shared contract suite (test/contract) cannot see: schema scoping,
 * migration locking, statement counts on the hot paths, and the row-lock protocol between
 * destroyTenantKey and concurrent writers, driven step by step from a second connection.
 */

const pgUp = await pgAvailable();
if (!pgUp && !PG_REQUIRED) console.warn('[postgres-vault-store] PostgreSQL unreachable: tests SKIPPED (CI=true makes this a failure)');

const T = 'screening';

function patient(id: string, kekVersion = 1): PatientRow {
  return patientRow(T, id, kekVersion);
}

function resource(id: string, patientId: string): ResourceRow {
  return {
    tenantId: T,
    type: 'Observation',
    id,
    version: 1,
    patientId,
    status: 'final',
    code: '1234-5',
    effectiveDate: '2024-02-29',
    contentMac: randomBytes(32),
    body: randomBytes(500),
    createdAt: AT,
  };
}

async function seed(store: PostgresVaultStore, versions: number): Promise<void> {
  await store.upsertTenant(
    {
      id: T,
      name: 'Screening',
      kind: 'screening-programme',
      jurisdiction: 'NL',
      labRole: 'processor',
      breachNoticeSlaHours: 24,
      contact: { name: 'DPO', email: 'dpo@example.org' },
      publicKeyJwk: null,
    },
    [],
  );
  for (let v = 1; v <= versions; v++) {
    await store.addTenantKey(
      { tenantId: T, version: v, wrappedKek: randomBytes(40), masterKeyId: 'm', state: 'active', createdAt: AT },
      [],
    );
  }
}

/** The store's pool, for counting round trips; tests only. */
function poolOf(store: PostgresVaultStore): pg.Pool {
  return (store as unknown as { pool: pg.Pool }).pool;
}

/** Resolves after `ms`; used to show a call is still blocked on a row lock. */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function track<T>(p: Promise<T>): { promise: Promise<T>; settled(): boolean } {
  let done = false;
  const promise = p.finally(() => {
    done = true;
  });
  // Rejections are asserted by the test; this keeps an early one from being reported as unhandled.
  promise.catch(() => undefined);
  return { promise, settled: () => done };
}

describe('PostgresVaultStore.connect', () => {
  it.each(['Vault', 'pg_vault', 'lab-vault', 'v; DROP TABLE x', '', '1vault', 'x'.repeat(64)])('rejects schema name %j', async (schema) => {
    await expect(PostgresVaultStore.connect({ url: PG_URL, schema })).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('fails with StorageError, without echoing the URL, when the server is unreachable', async () => {
    const err = await PostgresVaultStore.connect({ url: 'postgres://lab:s3cret@127.0.0.1:1/vault', schema: 'lv' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as Error).message).not.toContain('s3cret');
  });
});

describe.skipIf(!pgUp && !PG_REQUIRED)('PostgresVaultStore (PostgreSQL specifics)', () => {
  let schema: string;
  let dropSchema: () => Promise<void>;
  let store: PostgresVaultStore | undefined;
  let raw: pg.Client | undefined;

  beforeEach(async () => {
    const fresh = await freshSchema();
    schema = fresh.schema;
    dropSchema = () => fresh.drop();
    store = await PostgresVaultStore.connect({ url: PG_URL, schema, poolSize: 4 });
    await store.migrate();
    raw = new pg.Client({ connectionString: PG_URL });
    await raw.connect();
    await raw.query(`SET search_path TO ${schema}`);
  });

  afterEach(async () => {
    await raw?.end();
    await store?.close();
    await dropSchema();
    raw = undefined;
    store = undefined;
  });

  const s = (): PostgresVaultStore => store as PostgresVaultStore;
  const r = (): pg.Client => raw as pg.Client;

  it('migrate creates a missing schema and records each migration once, even with concurrent migrators', async () => {
    const name = `lv_test_new_${randomBytes(4).toString('hex')}`;
    const a = await PostgresVaultStore.connect({ url: PG_URL, schema: name });
    const b = await PostgresVaultStore.connect({ url: PG_URL, schema: name });
    try {
      await Promise.all([a.migrate(), b.migrate(), a.migrate()]);
      await b.migrate();
      const { rows } = await r().query<{ version: number; n: number }>(
        `SELECT version, count(*)::int AS n FROM ${name}.schema_migrations GROUP BY version ORDER BY version`,
      );
      expect(rows).toStrictEqual(MIGRATIONS.map((m) => ({ version: m.version, n: 1 })));
    } finally {
      await a.close();
      await b.close();
      await r().query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
    }
  });

  it('scopes every pooled connection to its own schema', async () => {
    const other = await freshSchema();
    const elsewhere = await PostgresVaultStore.connect({ url: PG_URL, schema: other.schema, poolSize: 4 });
    try {
      await elsewhere.migrate();
      await seed(s(), 1);
      // More concurrent calls than connections: every connection of both pools gets used.
      const mine = await Promise.all(Array.from({ length: 12 }, () => s().listTenants()));
      const theirs = await Promise.all(Array.from({ length: 12 }, () => elsewhere.listTenants()));
      expect(mine.every((l) => l.length === 1 && l[0]?.id === T)).toBe(true);
      expect(theirs.every((l) => l.length === 0)).toBe(true);
      expect(poolOf(s()).totalCount).toBe(4);
    } finally {
      await elsewhere.close();
      await other.drop();
    }
  });

  it('uses one statement per table for writeBatch and one query for each key look-up', async () => {
    await seed(s(), 1);
    const patients = Array.from({ length: 400 }, (_, i) => patient(`p${i}`));
    const resources = Array.from({ length: 2000 }, (_, i) => resource(`o${i}`, `p${i % 400}`));
    const pool = poolOf(s());
    const statements: string[] = [];
    const connect = pool.connect.bind(pool);
    const connectSpy = vi.spyOn(pool, 'connect').mockImplementation((async () => {
      const client = await connect();
      const query = client.query.bind(client) as (text: string, values?: unknown[]) => Promise<pg.QueryResult>;
      // Wrapped for this checkout only: restored before the client goes back to the pool.
      const release = client.release.bind(client);
      (client as { query: unknown }).query = (text: string, values?: unknown[]) => {
        statements.push(text.trim().split(/\s+/).slice(0, 3).join(' '));
        return query(text, values);
      };
      client.release = (err?: Error | boolean) => {
        // Drops the own-property wrapper so the prototype's query() shows through again.
        Reflect.deleteProperty(client, 'query');
        release(err);
      };
      return client;
    }) as never);
    await s().writeBatch({ patients, resources, audit: [] });
    connectSpy.mockRestore();
    expect(statements).toStrictEqual(['BEGIN', 'INSERT INTO patients', 'INSERT INTO resources', 'COMMIT']);
    expect((await s().countResources()).map((c) => c.count)).toStrictEqual([2000, 400]);

    const querySpy = vi.spyOn(pool, 'query');
    const macs = await s().findContentMacs([
      ...patients.map((p) => ({ tenantId: T, type: 'Patient', id: p.id })),
      ...resources.map((x) => ({ tenantId: T, type: 'Observation', id: x.id })),
    ]);
    expect(macs.size).toBe(2400);
    expect(querySpy).toHaveBeenCalledTimes(1);
    querySpy.mockClear();
    expect(
      (
        await s().findPatientKeys(
          T,
          patients.map((p) => p.id),
        )
      ).size,
    ).toBe(400);
    expect(querySpy).toHaveBeenCalledTimes(1);
    querySpy.mockClear();
    await s().addTenantKey({ tenantId: T, version: 2, wrappedKek: randomBytes(40), masterKeyId: 'm', state: 'active', createdAt: AT }, []);
    querySpy.mockClear();
    expect(
      await s().rewrapDeks(
        T,
        1,
        2,
        patients.map((p) => ({ id: p.id, wrappedDek: randomBytes(60) })),
        [],
      ),
    ).toBe(400);
    // A transaction now (BEGIN, UPDATE, COMMIT on one client) so the rewrap and its audit events commit together.
    expect(querySpy).toHaveBeenCalledTimes(0);
    querySpy.mockRestore();
  });

  it('destroyTenantKey waits for an uncommitted insert under that version, then refuses', async () => {
    await seed(s(), 2);
    await r().query('BEGIN');
    await r().query(
      "INSERT INTO patients (tenant_id, id, version, kek_version, wrapped_dek, created_at) VALUES ($1, 'late', 1, 1, '\\x01', now())",
      [T],
    );
    const destroy = track(s().destroyTenantKey(T, 1, []));
    await sleep(300);
    expect(destroy.settled()).toBe(false);
    await r().query('COMMIT');
    expect(await destroy.promise).toBe(false);
    expect(await s().countDeksWrappedBy(T, 1)).toBe(1);
    expect((await s().listTenantKeys(T))[0]?.state).toBe('retired');
  });

  it('an insert racing an uncommitted destroy waits for it, then fails with Conflict', async () => {
    await seed(s(), 2);
    await r().query('BEGIN');
    await r().query('SELECT 1 FROM tenant_keys WHERE tenant_id = $1 AND version = 1 FOR UPDATE', [T]);
    await r().query("UPDATE tenant_keys SET state = 'destroyed', wrapped_kek = NULL WHERE tenant_id = $1 AND version = 1", [T]);
    const write = track(s().writeBatch({ patients: [patient('late', 1)], resources: [], audit: [] }));
    await sleep(300);
    expect(write.settled()).toBe(false);
    await r().query('COMMIT');
    await expect(write.promise).rejects.toBeInstanceOf(Conflict);
    expect(await s().getPatient(T, 'late')).toBeNull();
  });

  it('an insert racing a destroy that rolls back goes through', async () => {
    await seed(s(), 2);
    await r().query('BEGIN');
    await r().query("UPDATE tenant_keys SET state = 'destroyed', wrapped_kek = NULL WHERE tenant_id = $1 AND version = 1", [T]);
    const write = track(s().writeBatch({ patients: [patient('late', 1)], resources: [], audit: [] }));
    await sleep(300);
    expect(write.settled()).toBe(false);
    await r().query('ROLLBACK');
    await write.promise;
    expect((await s().getPatient(T, 'late'))?.kekVersion).toBe(1);
  });

  it('erasePatient vacuums patients so the old row version is pruned now', async () => {
    await seed(s(), 1);
    await s().writeBatch({ patients: [patient('p1')], resources: [], audit: [] });
    const vacuums = async () =>
      (await r().query<{ n: number }>("SELECT vacuum_count::int AS n FROM pg_stat_user_tables WHERE relid = 'patients'::regclass")).rows[0]
        ?.n;
    const before = await vacuums();
    expect(await s().erasePatient(T, 'p1', AT, [])).toBe(true);
    expect(await vacuums()).toBe((before ?? 0) + 1);
  });
});

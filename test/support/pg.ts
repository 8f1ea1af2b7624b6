import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * PostgreSQL for tests. Outside CI a missing server skips the PostgreSQL tests with a visible
 * message; in CI (CI=true) they run regardless and fail on connect, so a broken service container
 * can never turn into a green build that tested only SQLite.
 */
export const PG_URL = process.env.LABVAULT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Whether PG tests must run (and fail) even though the server is unreachable. */
export const PG_REQUIRED = process.env.CI === 'true';

/** True when a connection to {@link PG_URL} succeeds within a couple of seconds. */
export async function pgAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  // A server dropping the socket after connect must not crash the test process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates a uniquely named schema (`lv_test_<random>`) so parallel test files never share tables. */
export async function freshSchema(): Promise<{ schema: string; drop: () => Promise<void> }> {
  const schema = `lv_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE SCHEMA ${schema}`);
  return {
    schema,
    drop: () => adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`),
  };
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

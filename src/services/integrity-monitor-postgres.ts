import pg from 'pg';
import { errorCode, failed, isTransient, type IntegrityCheck, type IntegrityProbe } from './integrity-monitor-probe.js';
import { compareSchema, expectedSchema } from './integrity-monitor-schema.js';

/**
 * PostgreSQL has no file of ours to look at: ransomware there drops or encrypts tables (or the
 * whole schema) through SQL. So the check is that schema_migrations is readable and holds every
 * migration, and every table the migrations create is still in the vault schema. One connection
 * of its own (the store's pool is private to the adapter), with short timeouts so a hung server
 * makes the check fail as transient instead of never answering.
 */
export class PostgresIntegrityProbe implements IntegrityProbe {
  private readonly pool: pg.Pool;
  private readonly schema = expectedSchema('postgres');

  constructor(
    url: string,
    private readonly schemaName: string,
  ) {
    // The schema name was validated by config (a lower-case identifier); quoted all the same.
    const quoted = `"${schemaName.replace(/"/g, '""')}"`;
    this.pool = new pg.Pool({
      connectionString: url,
      max: 1,
      connectionTimeoutMillis: 5000,
      query_timeout: 5000,
      idleTimeoutMillis: 0,
      // An idle check connection never keeps the process alive on its own.
      allowExitOnIdle: true,
      // eslint-disable-next-line @typescript-eslint/no-misused-promises
      onConnect: (client) => client.query(`SET search_path TO ${quoted}`),
    });
    // A connection dropped by the server emits 'error' on the idle pool; the next check reconnects.
    this.pool.on('error', () => undefined);
  }

  async cheap(): Promise<IntegrityCheck[]> {
    try {
      const versions = await this.pool.query<{ version: number }>('SELECT version FROM schema_migrations');
      const tables = await this.pool.query<{ tablename: string }>('SELECT tablename FROM pg_tables WHERE schemaname = $1', [
        this.schemaName,
      ]);
      return [
        compareSchema(
          'postgres.schema',
          this.schema,
          versions.rows.map((r) => Number(r.version)),
          tables.rows.map((r) => r.tablename),
        ),
      ];
    } catch (e) {
      return [failed('postgres.schema', `cannot read the vault schema (${errorCode(e)})`, isTransient(e))];
    }
  }

  /** Nothing slower to add: PostgreSQL checksums its pages itself (when enabled) as it reads them. */
  full(): Promise<IntegrityCheck[]> {
    return this.cheap();
  }

  private closed = false;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

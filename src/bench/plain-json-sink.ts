import Database from 'better-sqlite3';
import pg from 'pg';
import { SQLITE_CACHE_PRAGMA, SQLITE_MMAP_BYTES, SQLITE_WAL_AUTOCHECKPOINT } from '../storage/sqlite/sqlite-tuning.js';

/**
 * The benchmark baseline: the same resources stored as plain JSON rows (no validation, no
 * encryption, no blind indexes) in the same database, with the primary key and patient index a
 * plaintext design would also need. What the vault costs on top of this is the overhead we report.
 */
export interface PlainRow {
  tenant: string;
  type: string;
  id: string;
  patient: string;
  json: string;
}

export interface PlainJsonSink {
  write(rows: PlainRow[]): Promise<void>;
  close(): Promise<void>;
}

const DDL = `CREATE TABLE IF NOT EXISTS bench_plain (
  tenant TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL, patient TEXT NOT NULL, json TEXT NOT NULL,
  PRIMARY KEY (tenant, type, id));
CREATE INDEX IF NOT EXISTS bench_plain_patient ON bench_plain (tenant, patient, type);`;

/**
 * A baseline database with the vault's own SQLite settings, so no baseline is handicapped by SQLite
 * defaults (2 MiB page cache, 4 MiB WAL checkpoints). `synchronous` as the vault uses it in the
 * measured operation: NORMAL during bulk ingest, FULL for audit appends.
 */
export function openTunedSqlite(file: string, synchronous: 'NORMAL' | 'FULL'): Database.Database {
  const db = new Database(file);
  db.pragma('page_size = 8192');
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma(`cache_size = ${SQLITE_CACHE_PRAGMA}`);
  db.pragma(`mmap_size = ${SQLITE_MMAP_BYTES}`);
  db.pragma(`wal_autocheckpoint = ${SQLITE_WAL_AUTOCHECKPOINT}`);
  return db;
}

export function sqlitePlainSink(file: string): PlainJsonSink {
  const db = openTunedSqlite(file, 'NORMAL');
  db.exec(DDL);
  const insert = db.prepare('INSERT INTO bench_plain (tenant, type, id, patient, json) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING');
  const tx = db.transaction((rows: PlainRow[]) => {
    for (const r of rows) insert.run(r.tenant, r.type, r.id, r.patient, r.json);
  });
  return {
    write(rows) {
      tx.immediate(rows);
      return Promise.resolve();
    },
    close() {
      db.exec('DROP TABLE bench_plain');
      db.close();
      return Promise.resolve();
    },
  };
}

export async function postgresPlainSink(url: string, schema: string): Promise<PlainJsonSink> {
  // onConnect is awaited before the connection is handed out (a 'connect' listener is not, and its
  // query then overlapped the first real one: pg's "already executing a query" warning).
  const pool = new pg.Pool({
    connectionString: url,
    max: 2,
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
    onConnect: (c) => c.query(`SET search_path TO "${schema}"`),
  });
  await pool.query(DDL);
  return {
    async write(rows) {
      await pool.query(
        `INSERT INTO "${schema}".bench_plain (tenant, type, id, patient, json)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) ON CONFLICT DO NOTHING`,
        [rows.map((r) => r.tenant), rows.map((r) => r.type), rows.map((r) => r.id), rows.map((r) => r.patient), rows.map((r) => r.json)],
      );
    },
    async close() {
      await pool.query(`DROP TABLE "${schema}".bench_plain`);
      await pool.end();
    },
  };
}

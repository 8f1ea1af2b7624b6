import { availableParallelism } from 'node:os';
import type Database from 'better-sqlite3';

/**
 * Secondary indexes that a bulk load into a small vault builds once at the end instead of
 * maintaining row by row.
 *
 * Why: their keys are random (patient ids, dates, blind indexes), so a batch of 10,000 records
 * dirties most leaf pages of every one of them, and every commit writes each of those pages to
 * the WAL again. The work grows with commits × index size: replaying the 66 write batches of a
 * 100,000-person load (655,412 records) took 18.6 s with the indexes maintained (2.1 M WAL
 * writes) and 12.7 s with them dropped and rebuilt at the end, the rebuild's 3.6 s included.
 *
 * Only secondary, non-unique indexes: the primary keys stay, since ON CONFLICT (idempotent
 * re-ingest), the foreign key from resources to patients and every look-up of the load itself
 * rely on them. Without these indexes queries stay correct, only slower (a scan instead of a
 * seek), and every open of the store recreates any that is missing (after a crash mid-load).
 *
 * Each statement must create exactly what the migration that introduced the index created
 * (migrations.ts): a test compares this list with the schema a fresh vault gets.
 */
export const DEFERRED_INDEXES: readonly { name: string; on: string }[] = [
  { name: 'patients_bsn_idx', on: 'patients (bsn_idx)' },
  { name: 'patients_name_idx', on: 'patients (tenant_id, name_idx)' },
  { name: 'patients_kek', on: 'patients (tenant_id, kek_version, id)' },
  { name: 'patients_blind_indexes', on: 'patients (tenant_id, id, erased_at, bsn_idx, name_idx)' },
  { name: 'resources_patient', on: 'resources (tenant_id, patient_id, type)' },
  { name: 'resources_code', on: 'resources (tenant_id, type, code, effective_date)' },
  { name: 'resources_date', on: 'resources (tenant_id, type, effective_date)' },
];

/**
 * Input bytes per record assumed when deciding whether to defer: the synthetic lab's NDJSON
 * averages ~1,000 bytes a line; a lower figure errs towards deferring, whose rebuild is cheap.
 */
const BYTES_PER_RECORD = 800;

/**
 * Rows (vault plus load) above which a load keeps its indexes. Each index is rebuilt in a
 * transaction of its own, and meanwhile every other writer (a server's audit appends, a rotation,
 * an erasure) waits on SQLite's lock with a 10 s busy timeout: at the measured ~0.8 µs per row and
 * index, a million rows keeps each wait near a second.
 */
const MAX_REBUILD_ROWS = 1_000_000;

/**
 * Drops the deferred indexes when the load is at least as large as what the vault holds and the
 * rebuild stays short: an initial load or a migration, not a day's results into a vault of years.
 * Rebuilding then costs at most about what maintaining the indexes through the load would. Returns
 * whether it dropped them.
 */
export function dropIndexesForLoad(db: Database.Database, incomingBytes: number): boolean {
  // max(rowid): the row count of an append-mostly table without scanning it.
  const held = db.prepare('SELECT (SELECT coalesce(max(rowid), 0) FROM patients) + (SELECT coalesce(max(rowid), 0) FROM resources) AS n');
  const existing = (held.get() as { n: number }).n;
  const incoming = incomingBytes / BYTES_PER_RECORD;
  if (incoming < existing || existing + incoming > MAX_REBUILD_ROWS) return false;
  db.transaction(() => {
    for (const i of DEFERRED_INDEXES) db.exec(`DROP INDEX IF EXISTS ${i.name}`);
  }).immediate();
  return true;
}

/**
 * Creates every deferred index that is missing (all of them after a load, or after a crash during
 * one), each in a transaction of its own so no other writer waits for all of them at once.
 */
export function ensureIndexes(db: Database.Database): void {
  const missing = DEFERRED_INDEXES.filter((i) => !indexExists(db, i.name));
  if (missing.length === 0) return;
  const cache = db.pragma('cache_size', { simple: true }) as number;
  const temp = db.pragma('temp_store', { simple: true }) as number;
  const threads = db.pragma('threads', { simple: true }) as number;
  db.pragma(`cache_size = ${REBUILD_CACHE_KIB}`);
  // SQLite's sorter uses helper threads only with its runs in files (never with temp_store =
  // MEMORY): sorted runs of index keys — ids, codes, dates, keyed blind indexes, nothing the
  // vault's own columns do not hold already — in unlinked temp files, bounded by MAX_REBUILD_ROWS.
  db.pragma('temp_store = FILE');
  db.pragma(`threads = ${REBUILD_THREADS}`);
  try {
    for (const i of missing) db.transaction(() => db.exec(`CREATE INDEX IF NOT EXISTS ${i.name} ON ${i.on}`)).immediate();
  } finally {
    db.pragma(`cache_size = ${cache}`);
    db.pragma(`temp_store = ${temp}`);
    db.pragma(`threads = ${threads}`);
  }
}

/**
 * The page cache while the indexes are built, in KiB (as a negative cache_size); it is also the
 * size of each sorted run. Each build scans the whole table once, so a large cache only holds
 * pages that are not read again. The six builds of a 100,000-person load, on a copy of the loaded
 * vault, interleaved: with the vault's 256 MiB cache (sqlite-tuning.ts) 2.61–2.80 s; 16 MiB and
 * in-memory sorts 2.15–2.30 s; 4 MiB and sorts on two helper threads 1.42–1.47 s (with 4 threads
 * 1.34–1.40, with 8 MiB 1.52–1.56).
 */
const REBUILD_CACHE_KIB = -4_096;

/** Sorter helper threads: the other cores are idle while the load's last step runs. */
const REBUILD_THREADS = Math.max(1, Math.min(4, availableParallelism()));

const existsStatements = new WeakMap<Database.Database, Database.Statement>();

/** Whether the index exists now: a bulk load in any process may have dropped it. */
export function indexExists(db: Database.Database, name: string): boolean {
  let stmt = existsStatements.get(db);
  if (!stmt) existsStatements.set(db, (stmt = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?")));
  return stmt.get(name) !== undefined;
}

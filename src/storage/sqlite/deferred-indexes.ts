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
 * Drops the deferred indexes when the load is at least as large as what the vault holds, so
 * rebuilding them costs at most about what maintaining them through the load would: an initial
 * load or a migration, not a day's results into a vault of years. Returns whether it did.
 */
export function dropIndexesForLoad(db: Database.Database, incomingBytes: number): boolean {
  // max(rowid): the row count of an append-mostly table without scanning it.
  const held = db.prepare('SELECT (SELECT coalesce(max(rowid), 0) FROM patients) + (SELECT coalesce(max(rowid), 0) FROM resources) AS n');
  const existing = (held.get() as { n: number }).n;
  if (incomingBytes / BYTES_PER_RECORD < existing) return false;
  db.transaction(() => {
    for (const i of DEFERRED_INDEXES) db.exec(`DROP INDEX IF EXISTS ${i.name}`);
  }).immediate();
  return true;
}

/** Creates every deferred index that is missing (all of them after a load, or after a crash during one). */
export function ensureIndexes(db: Database.Database): void {
  const present = new Set(
    (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").all() as { name: string }[]).map((r) => r.name),
  );
  const missing = DEFERRED_INDEXES.filter((i) => !present.has(i.name));
  if (missing.length === 0) return;
  db.transaction(() => {
    for (const i of missing) db.exec(`CREATE INDEX IF NOT EXISTS ${i.name} ON ${i.on}`);
  }).immediate();
}

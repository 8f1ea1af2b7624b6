import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteVaultStore } from './sqlite-vault-store.js';
import { DEFERRED_INDEXES, ensureIndexes } from './deferred-indexes.js';
import { patientRow, resourceRow } from '../../../test/support/store-rows.js';
import { testTenant } from '../../../test/support/fhir-builders.js';

const T = 'screening';

function indexesOf(file: string): Map<string, string> {
  const raw = new Database(file, { readonly: true });
  try {
    const rows = raw
      .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('patients', 'resources') AND sql IS NOT NULL")
      .all() as { name: string; sql: string }[];
    return new Map(rows.map((r) => [r.name, r.sql]));
  } finally {
    raw.close();
  }
}

function planOf(file: string, sql: string): string {
  const raw = new Database(file, { readonly: true });
  try {
    return (raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join('; ');
  } finally {
    raw.close();
  }
}

describe('deferred secondary indexes (SQLite bulk load)', () => {
  let dir: string;
  let file: string;
  const open: SqliteVaultStore[] = [];

  async function store(): Promise<SqliteVaultStore> {
    const s = new SqliteVaultStore(file);
    open.push(s);
    await s.migrate();
    return s;
  }

  async function seeded(patients: number): Promise<SqliteVaultStore> {
    const s = await store();
    await s.upsertTenant(testTenant(T), []);
    await s.addTenantKey({ tenantId: T, version: 1, wrappedKek: randomBytes(40), masterKeyId: 'm', state: 'active', createdAt: 'x' }, []);
    const rows = Array.from({ length: patients }, (_, i) => patientRow(T, `p${String(i).padStart(5, '0')}`));
    if (rows.length > 0) await s.writeBatch({ patients: rows, resources: [], audit: [] });
    return s;
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lv-deferred-'));
    file = join(dir, 'vault.db');
  });

  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists exactly the secondary indexes the migrations create on patients and resources, with the same definitions', async () => {
    await store();
    const actual = indexesOf(file);
    expect([...actual.keys()].sort()).toEqual(DEFERRED_INDEXES.map((i) => i.name).sort());
    for (const i of DEFERRED_INDEXES) expect(actual.get(i.name)).toBe(`CREATE INDEX ${i.name} ON ${i.on}`);
  });

  it('a load larger than the vault drops them, and ending it rebuilds them all, used by the query planner again', async () => {
    const s = await seeded(10);
    await s.setBulkLoad(true, 1_000_000);
    expect(indexesOf(file).size).toBe(0);
    await s.writeBatch({
      patients: [patientRow(T, 'new-1')],
      resources: [resourceRow(T, 'Observation', 'o1', 'new-1')],
      audit: [],
    });
    await s.setBulkLoad(false);
    expect([...indexesOf(file).keys()].sort()).toEqual(DEFERRED_INDEXES.map((i) => i.name).sort());
    expect(planOf(file, `SELECT id FROM resources WHERE tenant_id = 'x' AND patient_id = 'y'`)).toContain('resources_patient');
    expect((await s.listResourcesOfPatient(T, 'new-1')).map((r) => r.id)).toEqual(['o1']);
  });

  it('while they are dropped, searches by patient, code and date (which name their index) still answer, by scanning', async () => {
    const s = await seeded(0);
    await s.writeBatch({
      patients: [patientRow(T, 'p1')],
      resources: [resourceRow(T, 'Observation', 'o1', 'p1', { code: '4548-4', effectiveDate: '2024-05-02' })],
      audit: [],
    });
    await s.setBulkLoad(true, 1_000_000);
    expect(indexesOf(file).size).toBe(0);
    for (const q of [{ patientId: 'p1' }, { code: '4548-4' }, { dateFrom: '2024-05-01', dateTo: '2024-05-03' }]) {
      expect((await s.searchResources(T, { type: 'Observation', limit: 10, ...q })).map((r) => r.id)).toEqual(['o1']);
      expect(await s.countSearch(T, { type: 'Observation', ...q })).toBe(1);
    }
    await s.setBulkLoad(false);
    expect((await s.searchResources(T, { type: 'Observation', limit: 10, patientId: 'p1' })).map((r) => r.id)).toEqual(['o1']);
  });

  it('a load whose rebuild would hold the write lock long (over a million rows) keeps them', async () => {
    const s = await seeded(0);
    await s.setBulkLoad(true, 800 * 1_500_000);
    expect(indexesOf(file).size).toBe(DEFERRED_INDEXES.length);
    await s.setBulkLoad(false);
  });

  it('a load smaller than the vault keeps them: rebuilding would cost more than maintaining them', async () => {
    const s = await seeded(50);
    await s.setBulkLoad(true, 800 * 10);
    expect(indexesOf(file).size).toBe(DEFERRED_INDEXES.length);
    await s.setBulkLoad(false);
    expect(indexesOf(file).size).toBe(DEFERRED_INDEXES.length);
  });

  it('after a load that never ended (a crash), the next open of the store recreates them', async () => {
    const s = await seeded(0);
    await s.setBulkLoad(true, 1_000_000);
    expect(indexesOf(file).size).toBe(0);
    // The crashed process's connection is simply abandoned; a new process opens the vault.
    await store();
    expect([...indexesOf(file).keys()].sort()).toEqual(DEFERRED_INDEXES.map((i) => i.name).sort());
  });

  it('the rebuild runs with a small page cache and sorts on helper threads, and gives the connection its own settings back', async () => {
    const s = await seeded(20);
    await s.close();
    const db = new Database(file);
    try {
      db.pragma('cache_size = -12345');
      db.pragma('temp_store = MEMORY');
      for (const i of DEFERRED_INDEXES) db.exec(`DROP INDEX ${i.name}`);
      const seen: { cache: unknown; temp: unknown; threads: unknown }[] = [];
      // The settings each index is built under, read inside its transaction.
      const original = db.transaction.bind(db);
      db.transaction = ((fn: () => void) =>
        original(() => {
          seen.push({
            cache: db.pragma('cache_size', { simple: true }),
            temp: db.pragma('temp_store', { simple: true }),
            threads: db.pragma('threads', { simple: true }),
          });
          fn();
        })) as typeof db.transaction;
      ensureIndexes(db);
      expect(seen).toHaveLength(DEFERRED_INDEXES.length);
      // Files (1): SQLite's sorter runs helper threads only then.
      for (const x of seen) expect(x).toEqual({ cache: -4_096, temp: 1, threads: Math.max(1, Math.min(4, availableParallelism())) });
      expect(db.pragma('cache_size', { simple: true })).toBe(-12345);
      expect(db.pragma('temp_store', { simple: true })).toBe(2);
      expect(db.pragma('threads', { simple: true })).toBe(0);
    } finally {
      db.close();
    }
    expect([...indexesOf(file).keys()].sort()).toEqual(DEFERRED_INDEXES.map((i) => i.name).sort());
  });
});

import { MIGRATIONS } from '../storage/migrations/migrations.js';
import { failed, passed, type IntegrityCheck } from './integrity-monitor-probe.js';

/**
 * What an intact schema holds, derived from the one migration list so it cannot drift from it:
 * every migration's row in schema_migrations and every table the migrations create.
 */
export interface ExpectedSchema {
  readonly versions: readonly number[];
  readonly latest: number;
  readonly tables: readonly string[];
}

export function expectedSchema(dialect: 'sqlite' | 'postgres'): ExpectedSchema {
  const versions = MIGRATIONS.map((m) => m.version);
  const tables = new Set<string>(['schema_migrations']);
  for (const m of MIGRATIONS)
    for (const t of m[dialect].matchAll(/CREATE TABLE (?:IF NOT EXISTS )?([a-z_][a-z0-9_]*)/gi)) tables.add(t[1] as string);
  return { versions, latest: Math.max(...versions), tables: [...tables].sort() };
}

/** Compares what the database says (applied versions, table names) with the expected schema. */
export function compareSchema(
  name: string,
  expected: ExpectedSchema,
  versions: readonly number[],
  tables: readonly string[],
): IntegrityCheck {
  const applied = new Set(versions);
  const missingVersions = expected.versions.filter((v) => !applied.has(v));
  const present = new Set(tables);
  const missingTables = expected.tables.filter((t) => !present.has(t));
  const problems: string[] = [];
  if (missingVersions.length > 0) problems.push(`schema_migrations lacks version ${missingVersions.join(', ')}`);
  if (missingTables.length > 0) problems.push(`missing table ${missingTables.slice(0, 5).join(', ')}`);
  if (problems.length > 0) return failed(name, problems.join('; '));
  return passed(name, `schema at version ${expected.latest}, ${expected.tables.length} tables present`);
}

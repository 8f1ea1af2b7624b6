import type { PatientRow, ResourceRow } from '../../ports/vault-store.js';

/** One column of a {@link bulkInsert}: its name, its PostgreSQL type and how to read it from a row. */
export interface BulkColumn<T> {
  name: string;
  type: 'text' | 'int' | 'timestamptz' | 'bytea';
  get(row: T): string | number | Buffer | null;
}

/**
 * Builds `INSERT INTO table (…) SELECT … FROM unnest($…) ON CONFLICT DO NOTHING` for any number
 * of rows, and the matching parameter list. Text, int and timestamp columns travel as arrays.
 * Byte columns do not travel as `bytea[]`: node-postgres sends that as a hex text array literal
 * (twice the bytes) which the server parses character by character; for 2000 × 1 KiB bodies that
 * took ~130 ms against ~55 ms for the scheme used instead: every byte string of the batch goes in
 * one binary `bytea` parameter, and each byte column gets a start[] and length[] array (length -1
 * for NULL) that `substring` slices back out. End to end that lifted bulk ingest by about 20%.
 */
export function bulkInsert<T>(table: string, cols: readonly BulkColumn<T>[]): { sql: string; values(rows: readonly T[]): unknown[] } {
  const hasBytes = cols.some((c) => c.type === 'bytea');
  let n = 0;
  const blob = hasBytes ? `$${++n}::bytea` : '';
  const arrays: string[] = [];
  const aliases: string[] = [];
  const select: string[] = [];
  cols.forEach((c, i) => {
    if (c.type === 'bytea') {
      arrays.push(`$${++n}::int[]`, `$${++n}::int[]`);
      aliases.push(`s${i}`, `l${i}`);
      select.push(`CASE WHEN u.l${i} < 0 THEN NULL ELSE substring(${blob} FROM u.s${i} FOR u.l${i}) END`);
    } else {
      arrays.push(`$${++n}::${c.type}[]`);
      aliases.push(`c${i}`);
      select.push(`u.c${i}`);
    }
  });
  const sql =
    `INSERT INTO ${table} (${cols.map((c) => c.name).join(', ')}) ` +
    `SELECT ${select.join(', ')} FROM unnest(${arrays.join(', ')}) AS u (${aliases.join(', ')}) ON CONFLICT DO NOTHING`;
  return {
    sql,
    values(rows) {
      const parts: Buffer[] = [];
      let pos = 1; // SQL substring() counts from 1
      const out: unknown[] = [];
      for (const c of cols) {
        if (c.type !== 'bytea') {
          out.push(rows.map((r) => c.get(r)));
          continue;
        }
        const starts: number[] = [];
        const lengths: number[] = [];
        for (const r of rows) {
          const v = c.get(r) as Buffer | null;
          if (v === null) {
            starts.push(0);
            lengths.push(-1);
          } else {
            parts.push(v);
            starts.push(pos);
            lengths.push(v.length);
            pos += v.length;
          }
        }
        out.push(starts, lengths);
      }
      return hasBytes ? [Buffer.concat(parts, pos - 1), ...out] : out;
    },
  };
}

export const INSERT_PATIENTS = bulkInsert<PatientRow>('patients', [
  { name: 'tenant_id', type: 'text', get: (p) => p.tenantId },
  { name: 'id', type: 'text', get: (p) => p.id },
  { name: 'version', type: 'int', get: (p) => p.version },
  { name: 'kek_version', type: 'int', get: (p) => p.kekVersion },
  { name: 'wrapped_dek', type: 'bytea', get: (p) => p.wrappedDek },
  { name: 'bsn_idx', type: 'bytea', get: (p) => p.bsnIndex },
  { name: 'name_idx', type: 'bytea', get: (p) => p.nameIndex },
  { name: 'content_mac', type: 'bytea', get: (p) => p.contentMac },
  { name: 'identity', type: 'bytea', get: (p) => p.identity },
  { name: 'created_at', type: 'timestamptz', get: (p) => p.createdAt },
]);

export const INSERT_RESOURCES = bulkInsert<ResourceRow>('resources', [
  { name: 'tenant_id', type: 'text', get: (r) => r.tenantId },
  { name: 'type', type: 'text', get: (r) => r.type },
  { name: 'id', type: 'text', get: (r) => r.id },
  { name: 'version', type: 'int', get: (r) => r.version },
  { name: 'patient_id', type: 'text', get: (r) => r.patientId },
  { name: 'status', type: 'text', get: (r) => r.status },
  { name: 'code', type: 'text', get: (r) => r.code },
  { name: 'effective_date', type: 'text', get: (r) => r.effectiveDate },
  { name: 'content_mac', type: 'bytea', get: (r) => r.contentMac },
  { name: 'body', type: 'bytea', get: (r) => r.body },
  { name: 'created_at', type: 'timestamptz', get: (r) => r.createdAt },
]);

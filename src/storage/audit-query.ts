import type { AuditQuery, StoredAuditEvent } from '../ports/audit-store.js';
import { PATIENT_BUCKET_EVENTS, bucketOf, namesPatient, patientRef } from '../audit/patient-index-key.js';

/**
 * The audit look-ups both adapters run, as one SQL builder so they cannot drift. By patient, a
 * generated series of bucket numbers drives the join, so the patient index is sought once per
 * bucket; the rows are then checked against the events' own bytes (runAuditQuery).
 */
export function auditQuerySql(q: AuditQuery, dialect: 'sqlite' | 'postgres', lastSeq: number): { sql: string; args: unknown[] } {
  const args: unknown[] = [];
  // Placeholders are created in the order they appear in the SQL text (SQLite's are positional).
  const ph = (value: unknown): string => {
    args.push(value);
    return dialect === 'sqlite' ? '?' : `$${args.length}`;
  };
  const where: string[] = [];
  let prefix = '';
  let from = 'audit_events e';
  if (q.patientId !== undefined || q.principalId !== undefined || q.origin !== undefined) {
    // The indexes lead with the bucket (see migrations 2 and 7), so each commit's inserts stay in
    // the newest bucket's pages however many patients, principals and addresses it touches.
    // A later page starts at its first possible bucket, not at bucket 0 again.
    const minBucket = ph(q.afterSeq !== undefined ? bucketOf(Math.max(q.afterSeq + 1, 0)) : 0);
    const maxBucket = ph(bucketOf(Math.max(lastSeq, 0)));
    if (dialect === 'sqlite') {
      prefix = `WITH RECURSIVE b(n) AS (SELECT ${minBucket} UNION ALL SELECT n + 1 FROM b WHERE n < ${maxBucket}) `;
      from = 'b';
    } else from = `generate_series(${minBucket}::int, ${maxBucket}::int) AS b(n)`;
  }
  // SQLite reads CROSS JOIN as "this order": the bucket series outside, one index seek per bucket
  // inside (its planner otherwise scans audit_events against a bloom filter of the buckets).
  const join = dialect === 'sqlite' ? 'CROSS JOIN' : 'JOIN';
  if (q.patientId !== undefined) {
    from += ` ${join} audit_patients p ON p.bucket = b.n JOIN audit_events e ON e.seq = p.seq`;
    const ref = patientRef(q.tenantId ?? '', q.patientId);
    where.push(`p.ref = ${ph(dialect === 'sqlite' ? ref : ref.toString())}`);
    if (q.origin !== undefined)
      where.push(`EXISTS (SELECT 1 FROM audit_origins o WHERE o.bucket = p.bucket AND o.ip = ${ph(q.origin)} AND o.seq = p.seq)`);
  } else if (q.origin !== undefined) {
    from += ` ${join} audit_origins o ON o.bucket = b.n JOIN audit_events e ON e.seq = o.seq`;
    where.push(`o.ip = ${ph(q.origin)}`);
    if (q.tenantId !== undefined) where.push(`e.tenant_id = ${ph(q.tenantId)}`);
  } else {
    if (q.principalId !== undefined) from += ` ${join} audit_events e ON (e.seq / ${PATIENT_BUCKET_EVENTS}) = b.n`;
    if (q.tenantId !== undefined) where.push(`e.tenant_id = ${ph(q.tenantId)}`);
  }
  if (q.principalId !== undefined) where.push(`e.principal_id = ${ph(q.principalId)}`);
  if (q.from !== undefined) where.push(`e.time >= ${ph(q.from)}`);
  if (q.to !== undefined) where.push(`e.time < ${ph(q.to)}`);
  if (q.afterSeq !== undefined) where.push(`e.seq > ${ph(q.afterSeq)}`);
  const filters = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
  return { sql: `${prefix}SELECT e.seq AS seq, e.event AS bytes FROM ${from}${filters} ORDER BY e.seq LIMIT ${ph(q.limit)}`, args };
}

/**
 * Runs a look-up page by page until `limit` rows survive the patient check (a digest collision
 * only ever removes rows, so a short page is never mistaken for the end).
 */
export async function runAuditQuery(q: AuditQuery, page: (q: AuditQuery) => Promise<StoredAuditEvent[]>): Promise<StoredAuditEvent[]> {
  if (q.patientId === undefined) return page(q);
  const patientId = q.patientId;
  const out: StoredAuditEvent[] = [];
  let after = q.afterSeq;
  for (;;) {
    const want = q.limit - out.length;
    const rows = await page({ ...q, afterSeq: after, limit: want });
    for (const r of rows) {
      // A row duplicated in the index must not make an event count twice.
      if (out.at(-1)?.seq !== r.seq && namesPatient(r.bytes, q.tenantId ?? '', patientId)) out.push(r);
    }
    const last = rows[rows.length - 1];
    if (!last || rows.length < want || out.length >= q.limit) return out;
    after = last.seq;
  }
}

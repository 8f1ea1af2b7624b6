import { VaultError } from '../domain/errors.js';
import type { AuditEvent } from '../domain/audit-event.js';
import type { AuditStore } from '../ports/audit-store.js';
import { decodeEvent } from './event-codec.js';
import { LruCache } from '../crypto/lru-cache.js';
import { bucketOf, patientRef } from './patient-index-key.js';

/**
 * The deep check behind `audit verify --deep`: the columns and the patient index that queries use
 * must say exactly what the signed bytes say. The verifier proves the bytes; this proves nobody
 * edited a query column (say a principal id, so "everything principal X read" misses an event)
 * or added, removed or changed a patient-index row (so "who read patient Y" misses one).
 */
export interface IndexCheckResult {
  ok: boolean;
  first_bad_index: number | null;
  reason: string | null;
  rows: number;
  patient_refs: number;
}

export async function checkAuditIndexes(store: AuditStore): Promise<IndexCheckResult> {
  // A fixed upper bound: rows appended while the check runs are not half-counted (false alarms).
  const limit = (await store.auditHead()).size;
  const result: IndexCheckResult = { ok: false, first_bad_index: null, reason: null, rows: 0, patient_refs: 0 };
  const fail = (seq: number, reason: string): IndexCheckResult => {
    if (result.first_bad_index === null || seq < result.first_bad_index) {
      result.first_bad_index = seq;
      result.reason = reason;
    }
    return result;
  };
  let expectedRefs = 0;
  for await (const page of store.readAuditIndexRows()) {
    for (const row of page) {
      if (row.seq >= limit) continue;
      let e: AuditEvent;
      try {
        e = decodeEvent(row.bytes).event;
      } catch (err) {
        if (!(err instanceof VaultError)) throw err;
        fail(row.seq, `event ${row.seq} is not canonical`);
        continue;
      }
      if (
        row.time !== e.time ||
        row.action !== e.action ||
        row.outcome !== e.outcome ||
        row.principalId !== e.principal.id ||
        row.tenantId !== e.tenant
      ) {
        fail(row.seq, `the query columns of event ${row.seq} differ from its signed bytes`);
      }
      expectedRefs += new Set(e.patients).size;
      result.rows++;
    }
  }
  const events = new LruCache<number, AuditEvent>(10_000);
  let previous: { bucket: number; ref: bigint; seq: number } | null = null;
  for await (const page of store.readAuditPatientRefs()) {
    for (const ref of page) {
      if (ref.seq >= limit) continue;
      // Rows come in key order, so a duplicate (possible once the primary key is dropped) is
      // adjacent: with no duplicates, every row named by its event and equal counts, the index
      // holds exactly the rows the events imply.
      if (previous && previous.bucket === ref.bucket && previous.ref === ref.ref && previous.seq === ref.seq) {
        fail(ref.seq, `the patient index holds a duplicate row for event ${ref.seq}`);
      }
      previous = ref;
      result.patient_refs++;
      let e = events.get(ref.seq);
      if (!e) {
        const bytes = await store.getAuditEvent(ref.seq);
        if (!bytes) {
          fail(ref.seq, `the patient index names event ${ref.seq}, which does not exist`);
          continue;
        }
        e = decodeEvent(bytes).event;
        events.set(ref.seq, e);
      }
      const refs = e.patients.map((p) => patientRef(e.tenant ?? '', p));
      if (ref.bucket !== bucketOf(ref.seq) || !refs.includes(ref.ref))
        fail(ref.seq, `the patient index holds a row event ${ref.seq} does not name`);
    }
  }
  if (result.patient_refs !== expectedRefs && result.first_bad_index === null) {
    result.reason = `the patient index holds ${result.patient_refs} rows, the events name ${expectedRefs}`;
  }
  result.ok = result.first_bad_index === null && result.patient_refs === expectedRefs;
  return result;
}

import { VaultError } from '../domain/errors.js';
import type { AuditEvent } from '../domain/audit-event.js';
import type { AuditStore } from '../ports/audit-store.js';
import { decodeEvent } from './event-codec.js';
import { LruCache } from '../crypto/lru-cache.js';
import { PATIENT_BUCKET_EVENTS, bucketOf, patientRef } from './patient-index-key.js';

/**
 * The deep check behind `audit verify --deep`: the columns and the patient index that queries use
 * must say exactly what the signed bytes say. The verifier proves the bytes; this proves nobody
 * edited a query column (say a principal id, so "everything principal X read" misses an event)
 * or added, removed or changed a patient-index row (so "who read patient Y" misses one) or an
 * origin-index row (so scoping by the attacker's address misses one).
 */
export interface IndexCheckResult {
  ok: boolean;
  first_bad_index: number | null;
  reason: string | null;
  rows: number;
  patient_refs: number;
  origin_refs: number;
}

export async function checkAuditIndexes(store: AuditStore): Promise<IndexCheckResult> {
  // A fixed upper bound: rows appended while the check runs are not half-counted (false alarms).
  const limit = (await store.auditHead()).size;
  const result: IndexCheckResult = {
    ok: false,
    first_bad_index: null,
    reason: null,
    rows: 0,
    patient_refs: 0,
    origin_refs: 0,
  };
  const fail = (seq: number, reason: string): IndexCheckResult => {
    if (result.first_bad_index === null || seq < result.first_bad_index) {
      result.first_bad_index = seq;
      result.reason = reason;
    }
    return result;
  };
  let expectedRefs = 0;
  let expectedOrigins = 0;
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
      if (e.origin.ip !== null) expectedOrigins++;
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
  let previousOrigin: { bucket: number; ip: string; seq: number } | null = null;
  let bucketIps: { bucket: number; ips: Map<number, string | null> } = { bucket: -1, ips: new Map() };
  for await (const page of store.readAuditOriginRefs()) {
    for (const ref of page) {
      if (ref.seq >= limit) continue;
      // As above: key order puts a duplicate next to its twin.
      if (previousOrigin && previousOrigin.bucket === ref.bucket && previousOrigin.ip === ref.ip && previousOrigin.seq === ref.seq) {
        fail(ref.seq, `the origin index holds a duplicate row for event ${ref.seq}`);
      }
      previousOrigin = ref;
      result.origin_refs++;
      // Rows come bucket by bucket, addresses sorted within one, so their events are read a
      // bucket at a time in one range read rather than one seek per row.
      if (ref.bucket !== bucketOf(ref.seq)) {
        fail(ref.seq, `the origin index holds a row event ${ref.seq} does not name`);
        continue;
      }
      if (ref.bucket !== bucketIps.bucket) bucketIps = { bucket: ref.bucket, ips: await originsOfBucket(store, ref.bucket, limit) };
      const ip = bucketIps.ips.get(ref.seq);
      if (ip === undefined) fail(ref.seq, `the origin index names event ${ref.seq}, which does not exist`);
      else if (ip !== ref.ip) fail(ref.seq, `the origin index holds a row event ${ref.seq} does not name`);
    }
  }
  if (result.patient_refs !== expectedRefs && result.first_bad_index === null) {
    result.reason = `the patient index holds ${result.patient_refs} rows, the events name ${expectedRefs}`;
  } else if (result.origin_refs !== expectedOrigins && result.first_bad_index === null) {
    result.reason = `the origin index holds ${result.origin_refs} rows, the events name ${expectedOrigins}`;
  }
  result.ok = result.first_bad_index === null && result.patient_refs === expectedRefs && result.origin_refs === expectedOrigins;
  return result;
}

/** The client address (or null) of every event in a bucket, by seq; events that do not decode are left out. */
async function originsOfBucket(store: AuditStore, bucket: number, limit: number): Promise<Map<number, string | null>> {
  const ips = new Map<number, string | null>();
  const from = Math.min(bucket * PATIENT_BUCKET_EVENTS, limit);
  for await (const page of store.readAuditEvents(from, Math.min(from + PATIENT_BUCKET_EVENTS, limit))) {
    for (const bytes of page) {
      try {
        const sealed = decodeEvent(bytes);
        ips.set(sealed.seq, sealed.event.origin.ip);
      } catch (err) {
        // Reported by the first pass (and by the verifier): not canonical.
        if (!(err instanceof VaultError)) throw err;
      }
    }
  }
  return ips;
}

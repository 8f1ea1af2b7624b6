import { decodeEvent } from './event-codec.js';

/**
 * The patient index is keyed (bucket, ref, seq): `ref` is a 64-bit digest of (tenant, patient) and
 * `bucket` the event's seq divided by 65,536. Bucketing keeps each commit's inserts inside the
 * newest bucket's few hundred pages instead of scattering them over the whole index (measured:
 * random-key patient inserts cost a third of append throughput, mostly in WAL page writes); a
 * look-up then seeks once per bucket (150 seeks at 10M events). A digest collision can only add a
 * candidate, which the query drops after checking the event's own bytes.
 */
export const PATIENT_BUCKET_EVENTS = 65_536;

export function bucketOf(seq: number): number {
  return Math.floor(seq / PATIENT_BUCKET_EVENTS);
}

/**
 * Two independent 32-bit FNV-1a hashes of `tenant NUL patient`, as one signed 64-bit integer. Not
 * a cryptographic digest, and it need not be: a collision only adds a candidate the query then
 * drops, and the index is not evidence (the deep check compares it with the signed bytes). A
 * SHA-256 here cost ~0.9 µs per patient reference on the append path; this costs ~0.1 µs.
 */
export function patientRef(tenantId: string, patientId: string): bigint {
  const key = `${tenantId}\u0000${patientId}`;
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return BigInt.asIntN(64, (BigInt(a >>> 0) << 32n) | BigInt(b >>> 0));
}

/** Does this event (canonical bytes) name the patient in the tenant? Drops digest collisions. */
export function namesPatient(bytes: Buffer, tenantId: string, patientId: string): boolean {
  const e = decodeEvent(bytes).event;
  return (e.tenant ?? '') === tenantId && e.patients.includes(patientId);
}

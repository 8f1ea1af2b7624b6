import type { Hit } from './scan-types.js';

/** Tenant ordinals fit 20 bits: a (tenant, patient) pair packs into one exact double. */
const TENANTS = 1 << 20;

/**
 * A worker's small integer per patient found (tenant + patient ordinal), given the first time
 * the matcher names them. The per-occurrence work of a scan (match-chunk.ts) then books by
 * ordinal into flat arrays (unit-hits.ts) instead of walking Hit objects and a Map keyed by
 * doubles: when the leak is the lab's own data nearly every record is a hit, and that walk was
 * the larger part of the scan. Bounded by the patients found, so it is never emptied.
 */
export class PatientOrdinals {
  private readonly byKey = new Map<number, number>();
  private tenants = new Int32Array(1024);
  private patients = new Float64Array(1024);
  private count = 0;

  /** The ordinal of a matcher's hit, made on first sight. */
  of(h: Hit): number {
    return this.ofPair(h.tenant, h.patient);
  }

  /** of({ tenant, patient }) without the object. */
  ofPair(tenant: number, patient: number): number {
    if (!(tenant >= 0 && tenant < TENANTS)) throw new RangeError(`tenant ordinal ${tenant} out of range`);
    const key = patient * TENANTS + tenant;
    let o = this.byKey.get(key);
    if (o === undefined) {
      o = this.count++;
      if (o === this.tenants.length) {
        this.tenants = grow(this.tenants, new Int32Array(o * 2));
        this.patients = grow(this.patients, new Float64Array(o * 2));
      }
      this.tenants[o] = tenant;
      this.patients[o] = patient;
      this.byKey.set(key, o);
    }
    return o;
  }

  tenant(o: number): number {
    return this.tenants[o] as number;
  }

  patient(o: number): number {
    return this.patients[o] as number;
  }
}

function grow<T extends Int32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

import { BLIND_INDEX_BYTES, blindIndexBatch } from '../crypto/blind-index.js';

/**
 * The keyed matcher a leak scan's workers run: candidates (BSNs, "family|yyyy-mm-dd" keys) go
 * through the same PRF as the vault's blind indexes, per tenant, in batches — a few AES calls for
 * thousands of candidates — and are looked up among the stored indexes. Only the stored 16-byte
 * indexes and the tenants' index keys are here; no identifier of the vault is, so the list of
 * patients never exists in plaintext anywhere, in memory or on disk.
 */
export interface LeakMatcherData {
  tenants: {
    /** The tenant's index key (as the KeyProvider unwraps it). */
    key: Uint8Array;
    /** Stored BSN indexes, 16 bytes each, and the patient ordinal of each. */
    bsn: Uint8Array;
    bsnPatients: Int32Array;
    /** Stored name + birth date indexes and their patient ordinals. */
    name: Uint8Array;
    namePatients: Int32Array;
  }[];
}

export interface MatcherHit {
  tenant: number;
  patient: number;
}

interface TenantTables {
  key: Buffer;
  bsn: Map<string, number[]>;
  name: Map<string, number[]>;
}

export class LeakMatcher {
  private readonly tenants: TenantTables[];

  constructor(data: LeakMatcherData) {
    this.tenants = data.tenants.map((t) => ({
      key: Buffer.from(t.key),
      bsn: table(t.bsn, t.bsnPatients),
      name: table(t.name, t.namePatients),
    }));
  }

  matchBsns(bsns: readonly string[]): MatcherHit[][] {
    return this.match('bsn', bsns);
  }

  matchNameDates(keys: readonly string[]): MatcherHit[][] {
    return this.match('name-birthdate', keys);
  }

  private match(domain: 'bsn' | 'name-birthdate', values: readonly string[]): MatcherHit[][] {
    const out: MatcherHit[][] = values.map(() => []);
    if (values.length === 0) return out;
    this.tenants.forEach((t, ti) => {
      const tableOf = domain === 'bsn' ? t.bsn : t.name;
      if (tableOf.size === 0) return;
      const prf = blindIndexBatch(t.key, domain, values);
      for (let i = 0; i < values.length; i++) {
        const patients = tableOf.get(prf.toString('latin1', i * BLIND_INDEX_BYTES, (i + 1) * BLIND_INDEX_BYTES));
        if (patients) for (const p of patients) (out[i] as MatcherHit[]).push({ tenant: ti, patient: p });
      }
    });
    return out;
  }
}

/** What a scan worker imports: `createMatcher(data)`. */
export function createMatcher(data: LeakMatcherData): LeakMatcher {
  return new LeakMatcher(data);
}

function table(indexes: Uint8Array, patients: Int32Array): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const b = Buffer.from(indexes.buffer, indexes.byteOffset, indexes.byteLength);
  for (let i = 0; i < patients.length; i++) {
    const k = b.toString('latin1', i * BLIND_INDEX_BYTES, (i + 1) * BLIND_INDEX_BYTES);
    const list = m.get(k);
    if (list) list.push(patients[i] as number);
    else m.set(k, [patients[i] as number]);
  }
  return m;
}

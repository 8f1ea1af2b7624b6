import type { VaultStore } from '../ports/vault-store.js';
import type { CanaryCopyKind } from '../ports/detection-store.js';
import { blindIndex } from '../crypto/blind-index.js';
import type { LeakMatcherData } from './leak-matcher.js';

/**
 * Loads what a leak scan matches against: per tenant its index key and its patients' stored blind
 * indexes (16 bytes each), with an ordinal per patient; the ordinals map back to (tenant, patient
 * id) here in the main thread only. Nothing of the vault is decrypted. Canaries come from their
 * sealed registry: a tenant's canaries are vault patients marked as such, a copy's (an export's,
 * a backup's) exist only in that copy, so their BSN indexes are computed here and a hit names the
 * copy that leaked.
 */
export interface CanaryMark {
  set: string;
  copyKind: CanaryCopyKind;
  copyId: string | null;
}

export interface CanarySource {
  set: { id: string; tenantId: string; copyKind: CanaryCopyKind; copyId: string | null };
  patients: readonly { id: string; bsn: string }[];
}
export interface LeakIndex {
  data: LeakMatcherData;
  tenants: string[];
  /**
   * Ordinal → patient id and tenant (an index into tenants). Columns, not an object per patient:
   * 533,720 objects were a fifth of a large vault's load.
   */
  ids: string[];
  tenantOf: number[];
  /** Ordinal → the canary set and copy of a canary patient. */
  canaries: Map<number, CanaryMark>;
}

const PAGE = 10_000;

export async function loadLeakIndex(
  store: Pick<VaultStore, 'listTenants' | 'listBlindIndexes'>,
  indexKey: (tenant: string) => Promise<Buffer>,
  canaries: readonly CanarySource[] = [],
): Promise<LeakIndex> {
  const tenants = (await store.listTenants()).map((t) => t.id).sort();
  const ids: string[] = [];
  const tenantOf: number[] = [];
  const marks = new Map<number, CanaryMark>();
  const data: LeakMatcherData = { tenants: [] };
  for (const [ti, tenant] of tenants.entries()) {
    const first = ids.length;
    const bsn: Buffer[] = [];
    const bsnPatients: number[] = [];
    const name: Buffer[] = [];
    const namePatients: number[] = [];
    for (let after = ''; ;) {
      const page = await store.listBlindIndexes(tenant, after, PAGE);
      const at = ids.length;
      for (const id of page.ids) {
        ids.push(id);
        tenantOf.push(ti);
      }
      bsn.push(page.bsn);
      for (const r of page.bsnRows) bsnPatients.push(at + r);
      name.push(page.name);
      for (const r of page.nameRows) namePatients.push(at + r);
      if (page.ids.length < PAGE) break;
      after = page.ids[page.ids.length - 1] as string;
    }
    const key = await indexKey(tenant);
    const sets = canaries.filter((x) => x.set.tenantId === tenant);
    // The tenant's patients by id, only for a tenant with canaries (a Map of 350,000 ids per tenant
    // and a pass over every tenant's patients for each took a fifth of a large vault's load).
    const inVault = sets.length === 0 ? null : new Map(ids.slice(first).map((id, i) => [id, first + i]));
    for (const c of sets)
      for (const cp of c.patients) {
        const mark: CanaryMark = { set: c.set.id, copyKind: c.set.copyKind, copyId: c.set.copyId };
        const k = inVault?.get(cp.id);
        if (k !== undefined) {
          marks.set(k, mark);
          continue;
        }
        bsn.push(blindIndex(key, 'bsn', cp.bsn));
        bsnPatients.push(ids.length);
        marks.set(ids.length, mark);
        ids.push(cp.id);
        tenantOf.push(ti);
      }
    data.tenants.push({
      key: new Uint8Array(key),
      bsn: sharedBytes(bsn),
      bsnPatients: sharedInts(bsnPatients),
      name: sharedBytes(name),
      namePatients: sharedInts(namePatients),
    });
  }
  return { data, tenants, ids, tenantOf, canaries: marks };
}

/*
 * The stored indexes go to every scan worker: in shared memory they are handed over, not copied
 * (a structured clone copied the 21 MB of a 533,720-patient vault out and into each worker, page
 * faults included, while the scan had started). They are the stored blind indexes and patient
 * numbers, nothing more (no key: keys go as copies); the workers only read them.
 */
function sharedBytes(parts: readonly Buffer[]): Uint8Array {
  const out = new Uint8Array(new SharedArrayBuffer(parts.reduce((n, p) => n + p.length, 0)));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function sharedInts(values: readonly number[]): Int32Array {
  const out = new Int32Array(new SharedArrayBuffer(values.length * 4));
  out.set(values);
  return out;
}

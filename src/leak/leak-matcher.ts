import { blindIndexMessages, blindIndexOfMessages, blindIndexPrfKey } from '../crypto/blind-index.js';
import { IndexTable } from './index-table.js';
import type { KeyedTables } from './scan-types.js';

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
  bsn: IndexTable;
  name: IndexTable;
}

export class LeakMatcher {
  /** Built at the first match through this class: an engine that takes keyedTables() never needs them. */
  private tables: TenantTables[] | null = null;

  constructor(private readonly data: LeakMatcherData) {
    for (const t of data.tenants)
      if (t.bsn.byteLength !== t.bsnPatients.length * 16 || t.name.byteLength !== t.namePatients.length * 16)
        throw new RangeError('stored indexes and their patients differ in number');
  }

  private get tenants(): TenantTables[] {
    return (this.tables ??= this.data.tenants.map((t) => ({
      key: Buffer.from(t.key),
      bsn: new IndexTable(t.bsn, t.bsnPatients),
      name: new IndexTable(t.name, t.namePatients),
    })));
  }

  /** Fresh PRF keys each call (the engine zeroes them once its index has them). */
  keyedTables(): KeyedTables {
    return {
      tenants: this.data.tenants.map((t) => ({
        key: prfKeyOf(t.key),
        bsn: t.bsn,
        bsnPatients: t.bsnPatients,
        name: t.name,
        namePatients: t.namePatients,
      })),
    };
  }

  matchBsns(bsns: readonly string[]): MatcherHit[][] {
    return this.match('bsn', bsns);
  }

  matchNameDates(keys: readonly string[]): MatcherHit[][] {
    return this.match('name-birthdate', keys);
  }

  private match(domain: 'bsn' | 'name-birthdate', values: readonly string[]): MatcherHit[][] {
    // Most candidates match nobody: they share one empty list (callers only read results).
    const out: MatcherHit[][] = new Array<MatcherHit[]>(values.length).fill(NONE);
    if (values.length === 0) return out;
    const msg = blindIndexMessages(domain, values);
    const words = new Int32Array(values.length * 4);
    const bytes = new Uint8Array(words.buffer);
    let at = 0;
    let tenant = 0;
    // One callback per tenant, not one per candidate and tenant (this runs for every new candidate).
    const found = (patient: number): void => {
      const hits = out[at] as MatcherHit[];
      (hits === NONE ? (out[at] = []) : hits).push({ tenant, patient });
    };
    this.tenants.forEach((t, ti) => {
      const table = domain === 'bsn' ? t.bsn : t.name;
      if (table.size === 0) return;
      bytes.set(blindIndexOfMessages(t.key, domain, msg, values.length));
      tenant = ti;
      for (at = 0; at < values.length; at++) table.find(words, at * 4, found);
    });
    return out;
  }
}

/** The PRF key of an index key, derived from a copy that is zeroed after (no stray copy of the index key stays). */
function prfKeyOf(indexKey: Uint8Array): Buffer {
  const copy = Buffer.from(indexKey);
  const key = Buffer.from(blindIndexPrfKey(copy));
  copy.fill(0);
  return key;
}

/** Frozen: a caller that wrote to a shared empty result would throw, not hand its hits to other candidates. */
const NONE = Object.freeze([]) as unknown as MatcherHit[];

/** What a scan worker imports: `createMatcher(data)`. */
export function createMatcher(data: LeakMatcherData): LeakMatcher {
  return new LeakMatcher(data);
}

import { decodeEvent } from '../audit/event-codec.js';
import type { AuditAction, AuditEvent, DataCategory } from '../domain/audit-event.js';
import { InvalidInput } from '../domain/errors.js';
import type { AuditStore } from '../ports/audit-store.js';

/**
 * Scoping an incident from the audit log: which patients' data left, per tenant, and which
 * categories — exactly the allowed data-releasing events that match the query (compromised
 * principals, a time window, origins, export jobs), so every patient in scope traces to the
 * events that put it there. "Whole store taken" (a stolen database file or backup) puts every
 * patient of the tenants in the cannot-be-excluded cohort, readable or not depending on whether
 * the keys went too. Refused and withheld reads released nothing and are not in scope. Canary
 * patients are counted apart: they are not people. Deterministic: ids sorted, evidence in log order.
 */
export interface ScopeQuery {
  principals?: readonly string[];
  /** ISO instants: from inclusive, to exclusive. */
  from?: string;
  to?: string;
  origins?: readonly string[];
  exports?: readonly string[];
  /** The store itself was taken; `keysTaken`: its keys too (then the ciphertext is readable). */
  wholeStore?: { keysTaken: boolean } | null;
  /** Scope the leak scans' in-leaked-data cohort alone (no audit events, no store taken). */
  leaked?: boolean;
  /** Tenants to scope (default: every tenant an event or the store names). */
  tenants?: readonly string[];
}

export interface TenantScope {
  tenant: string;
  cohorts: { accessedConfirmed: string[]; inLeakedData: string[]; cannotBeExcluded: string[] };
  /** [min, max]: confirmed people; confirmed + leaked + cannot be excluded. */
  patients: [number, number];
  /** [min, max]: at least one record per confirmed person; records the matching events returned (repeats included), or all the tenant holds when the whole store was taken. */
  records: [number, number];
  categories: DataCategory[];
  /** Canary patients among what the events released (a thief, not a patient, read them). */
  canaries: number;
  /** Per confirmed patient, the seqs of the events that released its data (first 20). */
  evidence: Record<string, number[]>;
}

export interface Scope {
  query: ScopeQuery;
  /** Events read and events that matched. */
  eventsRead: number;
  eventsMatched: number;
  /** True when what left is only ciphertext whose keys stayed (Art. 34(3)(a)). */
  ciphertextOnly: boolean;
  /** Client addresses and user agents of the matching events (indicators for the sector CERT), sorted. */
  origins: { ip: string; userAgent: string | null }[];
  tenants: TenantScope[];
}

export interface ScopeSources {
  audit: Pick<AuditStore, 'queryAudit' | 'auditHead' | 'readAuditEvents'>;
  /** Patient ids of a tenant (whole-store scoping). */
  patientIds(tenant: string): Promise<string[]>;
  tenants(): Promise<string[]>;
  /** Records (patients included) a tenant holds: the upper bound when the whole store was taken. */
  recordCount(tenant: string): Promise<number>;
  /** Canary patient ids of a tenant. */
  canaries(tenant: string): Promise<ReadonlySet<string>>;
  /** In-leaked-data cohort per tenant (the leak scan feeds it). */
  leaked?: ReadonlyMap<string, readonly string[]>;
}

const RELEASING: ReadonlySet<AuditAction> = new Set([
  'patient.read',
  'patient.search',
  'resource.read',
  'resource.search',
  'resource.create',
]);
const PAGE = 10_000;
const MAX_EVIDENCE = 20;
const ALL_CATEGORIES: DataCategory[] = [
  'clinical-order',
  'clinical-result',
  'contact',
  'demographics',
  'follow-up-advice',
  'identity',
  'national-id',
  'specimen',
];

export async function scopeIncident(q: ScopeQuery, src: ScopeSources): Promise<Scope> {
  validate(q);
  const acc = new Map<string, { patients: Map<string, number[]>; categories: Set<DataCategory>; records: number }>();
  const of = (t: string) => {
    let a = acc.get(t);
    if (!a) acc.set(t, (a = { patients: new Map(), categories: new Set(), records: 0 }));
    return a;
  };
  let read = 0;
  let matched = 0;
  const origins = new Map<string, { ip: string; userAgent: string | null }>();
  const consider = (seq: number, e: AuditEvent): void => {
    read++;
    if (e.outcome !== 'allowed' || !RELEASING.has(e.action) || e.tenant === null) return;
    if (q.from !== undefined && e.time < iso(q.from)) return;
    if (q.to !== undefined && e.time >= iso(q.to)) return;
    if (q.principals && !q.principals.includes(e.principal.id)) return;
    if (q.origins && (e.origin.ip === null || !q.origins.includes(e.origin.ip))) return;
    if (q.exports && !q.exports.includes(String(e.detail.export ?? ''))) return;
    if (q.tenants && !q.tenants.includes(e.tenant)) return;
    matched++;
    if (e.origin.ip !== null)
      origins.set(`${e.origin.ip}\u0000${e.origin.userAgent ?? ''}`, { ip: e.origin.ip, userAgent: e.origin.userAgent });
    const a = of(e.tenant);
    a.records += e.records;
    for (const c of e.categories) a.categories.add(c);
    for (const p of e.patients) {
      let ev = a.patients.get(p);
      if (!ev) a.patients.set(p, (ev = []));
      if (ev.length < MAX_EVIDENCE) ev.push(seq);
    }
  };
  const whole = q.wholeStore ?? null;
  const narrowed = q.principals !== undefined || q.origins !== undefined || q.exports !== undefined || q.from !== undefined;
  // Only the leaked cohort (a dump found, nothing else known): the audit log is not read.
  if (narrowed || (!whole && !q.leaked)) {
    if (q.principals && q.principals.length > 0) {
      // The principal index: only this principal's events are read.
      for (const principalId of [...new Set(q.principals)].sort()) {
        let after: number | undefined;
        for (;;) {
          const rows = await src.audit.queryAudit({
            principalId,
            ...(q.from !== undefined ? { from: iso(q.from) } : {}),
            ...(q.to !== undefined ? { to: iso(q.to) } : {}),
            ...(after !== undefined ? { afterSeq: after } : {}),
            limit: PAGE,
          });
          for (const r of rows) consider(r.seq, decodeEvent(r.bytes).event);
          if (rows.length < PAGE) break;
          after = (rows[rows.length - 1] as { seq: number }).seq;
        }
      }
    } else {
      const size = (await src.audit.auditHead()).size;
      let seq = 0;
      for await (const page of src.audit.readAuditEvents(0, size)) for (const bytes of page) consider(seq++, decodeEvent(bytes).event);
    }
  }
  const tenants = new Set<string>(acc.keys());
  if (whole) for (const t of await src.tenants()) tenants.add(t);
  for (const t of src.leaked?.keys() ?? []) tenants.add(t);
  const out: TenantScope[] = [];
  for (const t of [...tenants].sort()) {
    if (q.tenants && !q.tenants.includes(t)) continue;
    const a = of(t);
    const canaries = await src.canaries(t);
    const confirmed = [...a.patients.keys()].filter((p) => !canaries.has(p)).sort();
    const confirmedSet = new Set(confirmed);
    const leaked = [...new Set(src.leaked?.get(t) ?? [])].filter((p) => !canaries.has(p) && !confirmedSet.has(p)).sort();
    const leakedSet = new Set(leaked);
    const rest = whole ? (await src.patientIds(t)).filter((p) => !canaries.has(p) && !confirmedSet.has(p) && !leakedSet.has(p)).sort() : [];
    const evidence: Record<string, number[]> = {};
    for (const p of confirmed) evidence[p] = a.patients.get(p) ?? [];
    const categories = whole ? ALL_CATEGORIES : [...a.categories].sort();
    out.push({
      tenant: t,
      cohorts: { accessedConfirmed: confirmed, inLeakedData: leaked, cannotBeExcluded: rest },
      patients: [confirmed.length, confirmed.length + leaked.length + rest.length],
      records: [confirmed.length, whole ? Math.max(a.records, await src.recordCount(t)) : a.records],
      categories,
      canaries: [...a.patients.keys()].filter((p) => canaries.has(p)).length,
      evidence,
    });
  }
  return {
    query: q,
    eventsRead: read,
    eventsMatched: matched,
    ciphertextOnly: whole !== null && !whole.keysTaken && matched === 0,
    origins: [...origins.keys()].sort().map((k) => origins.get(k) as { ip: string; userAgent: string | null }),
    tenants: out,
  };
}

function validate(q: ScopeQuery): void {
  for (const v of [q.from, q.to]) if (v !== undefined) iso(v);
  const some = q.principals?.length || q.origins?.length || q.exports?.length || q.from !== undefined || q.wholeStore || q.leaked;
  if (!some) throw new InvalidInput('scope: name principals, origins, exports, a time window, the whole store, or the leaked data');
}

function iso(v: string): string {
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(v) ? Date.parse(v) : NaN;
  if (Number.isNaN(ms)) throw new InvalidInput('scope: times are ISO 8601 instants with a zone');
  return new Date(ms).toISOString();
}

import { decodeEvent } from '../audit/event-codec.js';
import { RawEventFilter, eventField } from '../audit/raw-event-filter.js';
import { readAuditWindow } from '../audit/read-audit-window.js';
import { scanAuditLog } from '../audit/scan-audit-log.js';
import { DataCategories, type AuditAction, type AuditEvent, type DataCategory } from '../domain/audit-event.js';
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
 *
 * What is read: a principal's events through the principal index, an address's through the
 * origin index; a window's through the time index, unless it covers much of the log; else (export
 * ids, a long window alone) the whole log, scanned. Events are rejected on
 * their canonical bytes where they cannot match, before JSON decoding (raw-event-filter.ts), which
 * at 50M events is the difference between minutes and seconds; whatever could match is decoded and
 * checked in full. So a malformed event that could not match is passed over here, not refused:
 * finding it is `audit verify`'s job (and so is a query column that disagrees with the bytes).
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
  /** Per confirmed patient, the categories its events released (a letter names only these). */
  categoriesOf: Record<string, DataCategory[]>;
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
  /** With `readAuditNdjson` (every store has it), a scan of the whole log reads the database's joined pages. */
  audit: Pick<AuditStore, 'queryAudit' | 'auditHead' | 'readAuditEvents'> & Partial<Pick<AuditStore, 'readAuditNdjson'>>;
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
const CATEGORY_BIT = new Map<DataCategory, number>(DataCategories.map((c, i) => [c, i]));
const PAGE = 10_000;
/** Events a window may hold (by its share of the log's time) to be read through the time index even for principals. */
const SMALL_WINDOW = 200_000;
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
  const acc = new Map<
    string,
    { patients: Map<string, number[]>; cats: Map<string, number>; categories: Set<DataCategory>; records: number }
  >();
  const of = (t: string) => {
    let a = acc.get(t);
    if (!a) acc.set(t, (a = { patients: new Map(), cats: new Map(), categories: new Set(), records: 0 }));
    return a;
  };
  let read = 0;
  let matched = 0;
  const origins = new Map<string, { ip: string; userAgent: string | null }>();
  const from = q.from !== undefined ? iso(q.from) : undefined;
  const to = q.to !== undefined ? iso(q.to) : undefined;
  const consider = (seq: number, e: AuditEvent): void => {
    if (e.outcome !== 'allowed' || !RELEASING.has(e.action) || e.tenant === null) return;
    if (from !== undefined && e.time < from) return;
    if (to !== undefined && e.time >= to) return;
    if (q.principals && !q.principals.includes(e.principal.id)) return;
    if (q.origins && (e.origin.ip === null || !q.origins.includes(e.origin.ip))) return;
    if (q.exports && !q.exports.includes(String(e.detail.export ?? ''))) return;
    if (q.tenants && !q.tenants.includes(e.tenant)) return;
    matched++;
    if (e.origin.ip !== null)
      origins.set(`${e.origin.ip}\u0000${e.origin.userAgent ?? ''}`, { ip: e.origin.ip, userAgent: e.origin.userAgent });
    const a = of(e.tenant);
    a.records += e.records;
    let mask = 0;
    for (const c of e.categories) {
      a.categories.add(c);
      mask |= 1 << (CATEGORY_BIT.get(c) as number);
    }
    for (const p of e.patients) {
      let ev = a.patients.get(p);
      if (!ev) a.patients.set(p, (ev = []));
      addEvidence(ev, seq);
      a.cats.set(p, (a.cats.get(p) ?? 0) | mask);
    }
  };
  // Events the raw filter rejects cannot match, so they are not decoded (see raw-event-filter.ts).
  const filter = rawFilter(q, from, to);
  const take = (seq: number, bytes: Buffer): void => {
    read++;
    if (filter.mayMatch(bytes)) consider(seq, decodeEvent(bytes).event);
  };
  const whole = q.wholeStore ?? null;
  const narrowed = q.principals !== undefined || q.origins !== undefined || q.exports !== undefined || q.from !== undefined;
  // Only the leaked cohort (a dump found, nothing else known): the audit log is not read.
  if (narrowed || (!whole && !q.leaked)) {
    const size = (await src.audit.auditHead()).size;
    const span = from !== undefined ? await timeSpan(src.audit, size) : null;
    const share = from !== undefined ? windowShare(from, to, span) : 1;
    const byIndex = from === undefined || share * size > SMALL_WINDOW;
    if (q.principals && q.principals.length > 0 && byIndex) {
      // The principal index: only these principals' events are read.
      for (const principalId of [...new Set(q.principals)].sort()) await readIndexed(src.audit, { principalId }, from, to, take);
    } else if (q.origins && q.origins.length > 0 && byIndex) {
      // The origin index: only events from these addresses are read.
      for (const origin of [...new Set(q.origins)].sort()) await readIndexed(src.audit, { origin }, from, to, take);
    } else if (from !== undefined && (share * size <= SMALL_WINDOW || share <= 1 / 6)) {
      // The time index: only the window's events are read.
      for await (const rows of readAuditWindow(src.audit, from, to, span?.[1] ?? null)) for (const r of rows) take(r.seq, r.bytes);
    } else {
      // The whole log; the seq of an event is the one its bytes carry (the row's, in a log that verifies).
      read += await scanAuditLog(src.audit, size, filter, (bytes) => {
        const sealed = decodeEvent(bytes);
        consider(sealed.seq, sealed.event);
      });
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
    const categoriesOf: Record<string, DataCategory[]> = {};
    for (const p of confirmed) {
      evidence[p] = a.patients.get(p) ?? [];
      const m = a.cats.get(p) ?? 0;
      categoriesOf[p] = DataCategories.filter((_, bit) => (m & (1 << bit)) !== 0);
    }
    const categories = whole ? ALL_CATEGORIES : [...a.categories].sort();
    out.push({
      tenant: t,
      cohorts: { accessedConfirmed: confirmed, inLeakedData: leaked, cannotBeExcluded: rest },
      patients: [confirmed.length, confirmed.length + leaked.length + rest.length],
      records: [confirmed.length, whole ? Math.max(a.records, await src.recordCount(t)) : a.records],
      categories,
      canaries: [...a.patients.keys()].filter((p) => canaries.has(p)).length,
      evidence,
      categoriesOf,
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

/** Every event one index names (a principal's, an address's), in the window if there is one, page by page. */
async function readIndexed(
  audit: ScopeSources['audit'],
  key: { principalId: string } | { origin: string },
  from: string | undefined,
  to: string | undefined,
  take: (seq: number, bytes: Buffer) => void,
): Promise<void> {
  let after: number | undefined;
  for (;;) {
    const rows = await audit.queryAudit({
      ...key,
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(after !== undefined ? { afterSeq: after } : {}),
      limit: PAGE,
    });
    for (const r of rows) take(r.seq, r.bytes);
    if (rows.length < PAGE) return;
    after = (rows[rows.length - 1] as { seq: number }).seq;
  }
}

/**
 * Keeps the first MAX_EVIDENCE seqs in log order whatever order events arrive in (the time index
 * reads slices of time, the unordered scan pages as the database stores them, several principals
 * one after the other); in order it is a plain push.
 */
function addEvidence(ev: number[], seq: number): void {
  if (ev.length >= MAX_EVIDENCE && seq >= (ev[ev.length - 1] as number)) return;
  let i = ev.length;
  while (i > 0 && (ev[i - 1] as number) > seq) i--;
  ev.splice(i, 0, seq);
  if (ev.length > MAX_EVIDENCE) ev.pop();
}

/** Byte patterns every matching event contains; the anchor is the rarest group the query names. */
function rawFilter(q: ScopeQuery, from: string | undefined, to: string | undefined): RawEventFilter {
  const principals = q.principals?.map(eventField.principal);
  const origins = q.origins?.map(eventField.ip);
  const tenants = q.tenants?.map(eventField.tenant);
  // An export id '' also matches events without one (String(undefined ?? '')): no pattern for those.
  const exports =
    q.exports === undefined || q.exports.includes('') ? undefined : q.exports.length > 0 ? [eventField.detailKey('export')] : [];
  const groups = [[eventField.outcome('allowed')], [...RELEASING].map(eventField.action), principals, origins, exports, tenants];
  return new RawEventFilter(
    groups.filter((g): g is Buffer[] => g !== undefined),
    principals ?? origins ?? exports ?? tenants ?? null,
    { from, to },
  );
}

/** Times of the log's first and last events, or null when it is empty. */
async function timeSpan(audit: ScopeSources['audit'], size: number): Promise<[string, string] | null> {
  const at = async (seq: number): Promise<string | null> => {
    for await (const page of audit.readAuditEvents(seq, seq + 1)) for (const b of page) return decodeEvent(b).event.time;
    return null;
  };
  if (size === 0) return null;
  const [first, last] = [await at(0), await at(size - 1)];
  return first !== null && last !== null ? [first, last] : null;
}

/**
 * The share of the log's time a window covers, as an estimate of the share of its events (they
 * are spread roughly evenly over time): it only picks the read path, never changes the result.
 * The principal index costs a row look-up per event of the principal, in or out of the window
 * (the index holds no time; so does the origin index); the time index ~4 µs per event of the window on SQLite (each page
 * sorted with its bytes); a scan ~0.7 µs per event of the log. So a small window is read through
 * the time index, principals or not; a principal's events otherwise through its index; and a
 * window that covers more than a sixth of the log is scanned. All three decode only the events
 * the raw filter lets through.
 */
function windowShare(from: string, to: string | undefined, span: [string, string] | null): number {
  if (span === null) return 0;
  const [first, last] = span.map((t) => Date.parse(t)) as [number, number];
  const covered = Math.min(to !== undefined ? Date.parse(to) : Infinity, last + 1) - Math.max(Date.parse(from), first);
  return Math.min(1, Math.max(0, covered) / Math.max(1, last + 1 - first));
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

import Database from 'better-sqlite3';
import { decodeEvent } from '../audit/event-codec.js';
import { eventField } from '../audit/raw-event-filter.js';
import type { AuditEvent } from '../domain/audit-event.js';
import type { AuditStore } from '../ports/audit-store.js';
import { scopeIncident, type Scope, type ScopeQuery, type ScopeSources } from '../incidents/scope.js';
import { openBenchVault } from './bench-vault.js';
import { IncidentTraffic, type IncidentTruth } from './incident-traffic.js';

/**
 * `labvault bench scope`: builds an audit log of N events in a fresh SQLite vault through the real
 * append path (batches, signed checkpoints), with a stolen account's reads planted in a two-hour
 * window (incident-traffic.ts); then times incident scoping four ways — by the account and the
 * window, by the window alone (both read the window's events through the time index), by the
 * thief's address alone over all time (the origin index), by the account over all time (the
 * principal index) — and checks each scope against what the generator planted. The baseline, in
 * the same run, is what a scan of the whole log (the path for export ids or a long window alone)
 * costs: SQLite counting and reading the rows on its own, searching their bytes for the address,
 * the store's page readers without looking into the pages, and the decode rate.
 */
export interface ScopeQueryResult {
  seconds: number;
  events_read: number;
  events_matched: number;
  /** Confirmed patients over all tenants, and how many the generator planted for this query. */
  patients: number;
  expected_patients: number;
  /** Per tenant, the confirmed cohort is exactly the planted patients. */
  exact: boolean;
}

export interface ScopeBenchResult {
  events: number;
  attacker_events: number;
  build_s: number;
  append_per_s: number;
  db_mb: number;
  attack: { principal: string; ip: string; from: string; to: string; patients: number; tenants: number };
  /**
   * principal: the stolen account in the attack window; window: the window alone; origin: the
   * thief's address alone, all time (the origin index); principal_all: the account's whole history,
   * its owner's reads included (the principal index).
   */
  queries: { principal: ScopeQueryResult; window: ScopeQueryResult; origin: ScopeQueryResult; principal_all: ScopeQueryResult };
  baseline: {
    /** `SELECT count(*)`: SQLite walks its smallest index. */
    count_s: number;
    /** SQLite reads every row of the table, without handing it to JavaScript. */
    sqlite_scan_s: number;
    /** SQLite searches every event's bytes for the thief's address (instr), without JavaScript. */
    sqlite_instr_s: number;
    /** The store's newline-joined pages (what a scope scan of the whole log reads), not looked into. */
    pages_s: number;
    /** The store's one-Buffer-per-event reader over the whole log, not decoded. */
    read_s: number;
    /** decodeEvent (JSON parse plus the canonical re-encoding check) over a sample, and that rate over the whole log. */
    decode_per_s: number;
    decode_all_s: number;
  };
}

const DECODE_SAMPLE = 500_000;

export async function benchScope(opts: {
  events: number;
  attackerEvents?: number;
  batch?: number;
  log?: (s: string) => void;
}): Promise<ScopeBenchResult> {
  const log = opts.log ?? (() => undefined);
  const batch = opts.batch ?? 1000;
  const traffic = new IncidentTraffic(opts.events, opts.attackerEvents ?? 2000);
  const bench = await openBenchVault('labvault-bench-scope-');
  try {
    const { vault } = bench;
    log(`build: ${opts.events} events in batches of ${batch} through the audit log's append path…`);
    const started = process.hrtime.bigint();
    let shown = Date.now();
    for (let done = 0; ;) {
      const events: AuditEvent[] = [];
      while (events.length < batch) {
        const e = traffic.next();
        if (e === null) break;
        events.push(e);
      }
      if (events.length === 0) break;
      await vault.audit.record(events);
      done += events.length;
      if (Date.now() - shown >= 10_000) {
        shown = Date.now();
        const rate = done / seconds(started);
        log(`  ${done} / ${opts.events} events, ${Math.round(rate)}/s, ~${Math.ceil((opts.events - done) / rate / 60)} min left`);
      }
    }
    await vault.audit.checkpoint();
    const buildSeconds = seconds(started);
    const size = (await vault.store.auditHead()).size;
    const truth = traffic.truth;

    const sources: ScopeSources = {
      audit: vault.store,
      tenants: async () => [],
      patientIds: async () => [],
      recordCount: async () => 0,
      canaries: async () => new Set(),
    };
    const run = async (name: string, q: ScopeQuery, expected: Map<string, Set<string>>): Promise<ScopeQueryResult> => {
      log(`scope by ${name}…`);
      const t = process.hrtime.bigint();
      const s = await scopeIncident(q, sources);
      const secs = seconds(t);
      return {
        seconds: round(secs),
        events_read: s.eventsRead,
        events_matched: s.eventsMatched,
        patients: s.tenants.reduce((n, x) => n + x.cohorts.accessedConfirmed.length, 0),
        expected_patients: [...expected.values()].reduce((n, x) => n + x.size, 0),
        exact: sameCohorts(s, expected),
      };
    };
    const queries = {
      principal: await run('principal and window', { principals: [truth.principal], from: truth.from, to: truth.to }, truth.attacker),
      window: await run('window', { from: truth.from, to: truth.to }, truth.window),
      origin: await run('origin, all time', { origins: [truth.ip] }, truth.attacker),
      principal_all: await run('principal, all time', { principals: [truth.principal] }, truth.account),
    };
    const baseline = await measureBaseline(bench.file, truth, vault.store, size, log);
    return {
      events: size,
      attacker_events: traffic.attackerEvents,
      build_s: round(buildSeconds),
      append_per_s: Math.round(size / buildSeconds),
      db_mb: Math.round((await bench.bytes()) / 1e6),
      attack: {
        principal: truth.principal,
        ip: truth.ip,
        from: truth.from,
        to: truth.to,
        patients: [...truth.attacker.values()].reduce((n, x) => n + x.size, 0),
        tenants: truth.attacker.size,
      },
      queries,
      baseline,
    };
  } finally {
    await bench.close();
  }
}

async function measureBaseline(
  file: string,
  truth: IncidentTruth,
  store: Pick<AuditStore, 'readAuditEvents' | 'readAuditNdjson'>,
  size: number,
  log: (s: string) => void,
): Promise<ScopeBenchResult['baseline']> {
  log('baseline: SQLite alone, then the page reader, then decoding…');
  // Its own read-only connection: SQLite's figures with no JavaScript per row.
  const db = new Database(file, { readonly: true });
  try {
    const sql = (query: string, ...args: unknown[]): number => {
      const t = process.hrtime.bigint();
      db.prepare(query)
        .pluck()
        .get(...args);
      return round(seconds(t));
    };
    const countS = sql('SELECT count(*) FROM audit_events');
    const scanS = sql('SELECT sum(length(event)) FROM audit_events');
    // The pattern the scope scan searches for.
    const instrS = sql('SELECT count(*) FROM audit_events WHERE instr(event, ?) > 0', eventField.ip(truth.ip));
    let t = process.hrtime.bigint();
    let joined = 0;
    for await (const page of store.readAuditNdjson({ fast: true })) joined += page.length;
    const pagesS = round(seconds(t));
    t = process.hrtime.bigint();
    let bytes = 0;
    for await (const page of store.readAuditEvents(0, size)) for (const b of page) bytes += b.length;
    const readS = round(seconds(t));
    log(`  ${Math.round(joined / 1e6)} MB of pages in ${pagesS} s, ${Math.round(bytes / 1e6)} MB of events in ${readS} s`);
    let decoded = 0;
    t = process.hrtime.bigint();
    for await (const page of store.readAuditEvents(0, Math.min(size, DECODE_SAMPLE))) {
      for (const b of page) {
        decodeEvent(b);
        decoded++;
      }
    }
    const decodePerS = decoded / seconds(t);
    return {
      count_s: countS,
      sqlite_scan_s: scanS,
      sqlite_instr_s: instrS,
      pages_s: pagesS,
      read_s: readS,
      decode_per_s: Math.round(decodePerS),
      decode_all_s: round(size / decodePerS),
    };
  } finally {
    db.close();
  }
}

/** Per tenant, the confirmed cohort equals the expected set, and no other tenant appears. */
function sameCohorts(s: Scope, expected: Map<string, Set<string>>): boolean {
  if (s.tenants.length !== expected.size) return false;
  return s.tenants.every((t) => {
    const want = expected.get(t.tenant);
    return want !== undefined && t.cohorts.accessedConfirmed.length === want.size && t.cohorts.accessedConfirmed.every((p) => want.has(p));
  });
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

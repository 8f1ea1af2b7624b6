import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEvent } from '../audit/event-codec.js';
import { auditEvent, type AuditEvent } from '../domain/audit-event.js';
import { scopeIncident, type Scope, type ScopeQuery, type ScopeSources } from '../incidents/scope.js';
import { openBenchVault, type BenchVault } from './bench-vault.js';
import { IncidentTraffic } from './incident-traffic.js';
import { benchScope } from './scope-bench.js';

/**
 * The planted incident is found exactly, per tenant, by every kind of query the bench times: the
 * stolen account in its window (principal index), the window alone (time index: the thief's reads
 * and the staff's), the thief's address alone (a scan of the whole log, rejecting on raw bytes).
 * And the fast paths give what decoding every event and filtering it gives, also when events
 * arrive with times out of log order (a slow clock), which the time index reads out of seq order.
 */
describe('bench scope', () => {
  let bench: BenchVault;
  let traffic: IncidentTraffic;
  let sources: ScopeSources;
  let events: { seq: number; e: AuditEvent }[];

  beforeAll(async () => {
    bench = await openBenchVault('labvault-test-scope-');
    traffic = new IncidentTraffic(30_000, 400, { days: 20 });
    for (;;) {
      const batch: AuditEvent[] = [];
      for (let e = traffic.next(); e !== null; e = batch.length < 1000 ? traffic.next() : null) batch.push(e);
      if (batch.length === 0) break;
      await bench.vault.audit.record(batch);
    }
    sources = {
      audit: bench.vault.store,
      tenants: async () => [],
      patientIds: async () => [],
      recordCount: async () => 0,
      canaries: async () => new Set(),
    };
    const size = (await bench.vault.store.auditHead()).size;
    events = [];
    for await (const page of bench.vault.store.readAuditEvents(0, size))
      for (const b of page) events.push({ seq: events.length, e: decodeEvent(b).event });
  });
  afterAll(async () => {
    await bench.close();
  });

  const cohorts = (s: Scope) => Object.fromEntries(s.tenants.map((t) => [t.tenant, t.cohorts.accessedConfirmed]));
  const planted = (m: Map<string, Set<string>>) => Object.fromEntries([...m].map(([t, ps]) => [t, [...ps].sort()]));

  it('finds exactly the thief’s patients per tenant by principal and window, and by origin', async () => {
    const t = traffic.truth;
    expect(t.attacker.size).toBe(2);
    const byPrincipal = await scopeIncident({ principals: [t.principal], from: t.from, to: t.to }, sources);
    const byOrigin = await scopeIncident({ origins: [t.ip] }, sources);
    expect(cohorts(byPrincipal)).toEqual(planted(t.attacker));
    expect(cohorts(byOrigin)).toEqual(planted(t.attacker));
    // The thief's refused reads (the last 5 %) named patients too: none of them is in scope.
    const refused = events.filter((x) => x.e.principal.id === t.principal && x.e.outcome === 'denied' && x.e.time >= t.from);
    expect(refused.length).toBeGreaterThan(0);
    for (const x of refused)
      for (const p of x.e.patients)
        if (!t.attacker.get(x.e.tenant as string)?.has(p)) expect(JSON.stringify(cohorts(byOrigin))).not.toContain(p);
    // The origin index read only the address's events, refused ones included; the time index only
    // the window's (a small window beats the principal index).
    expect(byOrigin.eventsRead).toBe(events.filter((x) => x.e.origin.ip === t.ip).length);
    expect(byPrincipal.eventsRead).toBeLessThan(events.length / 20);
    expect(byOrigin.origins).toEqual([{ ip: t.ip, userAgent: 'python-requests/2.32.3' }]);
    // The account over all time: the thief's reads and its owner's.
    const account = await scopeIncident({ principals: [t.principal] }, sources);
    expect(cohorts(account)).toEqual(planted(t.account));
    for (const [tenant, ps] of t.attacker) for (const p of ps) expect(cohorts(account)[tenant]).toContain(p);
  });

  it('by the window alone: the thief’s patients and the staff’s reads of those hours, nothing else', async () => {
    const t = traffic.truth;
    const s = await scopeIncident({ from: t.from, to: t.to }, sources);
    expect(cohorts(s)).toEqual(planted(t.window));
    for (const [tenant, ps] of t.attacker) for (const p of ps) expect(cohorts(s)[tenant]).toContain(p);
    expect(s.eventsRead).toBeLessThan(events.length / 10);
  });

  it('gives what decoding and filtering every event gives, times out of log order included', async () => {
    const t = traffic.truth;
    const reads = events.filter((x) => x.e.principal.id === t.principal && x.e.origin.ip === t.ip && x.e.outcome === 'allowed');
    const thief = (reads.at(-1) as { e: AuditEvent }).e;
    const ctx = { principal: { ...thief.principal, role: 'pathologist' as const }, purpose: 'TREAT', origin: thief.origin };
    // Appended last but stamped inside the window (a slow clock), after the end, and back again;
    // the last names a patient the thief read later that night, so the evidence must be re-sorted.
    const late = (time: string, patient: string) =>
      auditEvent(ctx, new Date(time), {
        action: 'patient.read',
        tenant: thief.tenant,
        patients: [patient],
        categories: ['identity'],
        records: 1,
      });
    await bench.vault.audit.record([
      late(new Date(Date.parse(t.from) + 60_000).toISOString(), 'pat-late-0001'),
      late('2025-12-01T00:00:00.000Z', 'pat-late-0002'),
      late(new Date(Date.parse(t.from) + 1).toISOString(), thief.patients[0] as string),
    ]);
    const size = (await bench.vault.store.auditHead()).size;
    const all: { seq: number; e: AuditEvent }[] = [];
    for await (const page of bench.vault.store.readAuditEvents(0, size))
      for (const b of page) all.push({ seq: all.length, e: decodeEvent(b).event });
    const queries: ScopeQuery[] = [
      { from: t.from, to: t.to },
      { from: t.from },
      { from: '2025-01-06T00:00:00Z', to: '2025-01-20T00:00:00Z', origins: [t.ip, '203.0.113.6'] },
      { origins: [t.ip], from: t.from },
      { principals: [t.principal, 'staff-0012', 'staff-0003'], from: '2025-01-10T00:00:00Z' },
      // No window: the principal index, one principal after the other.
      { principals: ['staff-0012', t.principal, 'staff-0003'], to: '2025-01-25T00:00:00Z' },
      { from: t.from, to: t.to, tenants: ['hospital-west'] },
      { origins: ['203.0.113.166'], tenants: ['gp-network', 'umc-north'] },
      { exports: ['job-1'] },
    ];
    for (const q of queries) {
      const s = await scopeIncident(q, sources);
      const want = oracle(q, all);
      expect({ matched: s.eventsMatched, cohorts: cohorts(s), evidence: s.tenants.map((x) => x.evidence) }, JSON.stringify(q)).toEqual(
        want,
      );
    }
    expect(JSON.stringify(await scopeIncident({ from: t.from }, sources))).toContain('pat-late-0002');
  });

  it('bench scope reports every query kind exact, with its baseline', async () => {
    const r = await benchScope({ events: 6000, attackerEvents: 200, batch: 500 });
    expect(r).toMatchObject({ events: 6000, attacker_events: 200 });
    for (const k of ['principal', 'window', 'origin', 'principal_all'] as const) {
      expect(r.queries[k], k).toMatchObject({ exact: true });
      expect(r.queries[k].patients, k).toBe(r.queries[k].expected_patients);
      expect(r.queries[k].patients, k).toBeGreaterThan(0);
    }
    expect(r.queries.origin.events_read).toBeGreaterThanOrEqual(r.queries.origin.events_matched);
    expect(r.queries.origin.events_read).toBeLessThan(6000 / 5);
    for (const v of Object.values(r.baseline)) expect(v).toBeTypeOf('number');
  }, 60_000);
});

/** The scope's definition, directly: every event decoded, the allowed data-releasing ones that match; first 20 seqs. */
function oracle(q: ScopeQuery, all: { seq: number; e: AuditEvent }[]) {
  const released = new Set(['patient.read', 'patient.search', 'resource.read', 'resource.search', 'resource.create']);
  const from = q.from !== undefined ? new Date(q.from).toISOString() : undefined;
  const to = q.to !== undefined ? new Date(q.to).toISOString() : undefined;
  const per = new Map<string, Map<string, number[]>>();
  let matched = 0;
  for (const { seq, e } of all) {
    if (e.outcome !== 'allowed' || !released.has(e.action) || e.tenant === null) continue;
    if ((from !== undefined && e.time < from) || (to !== undefined && e.time >= to)) continue;
    if (q.principals && !q.principals.includes(e.principal.id)) continue;
    if (q.origins && (e.origin.ip === null || !q.origins.includes(e.origin.ip))) continue;
    if (q.exports && !q.exports.includes(String(e.detail.export ?? ''))) continue;
    if (q.tenants && !q.tenants.includes(e.tenant)) continue;
    matched++;
    const t = per.get(e.tenant) ?? new Map<string, number[]>();
    per.set(e.tenant, t);
    for (const p of e.patients) t.set(p, [...(t.get(p) ?? []), seq].slice(0, 20));
  }
  const tenants = [...per.keys()].sort();
  return {
    matched,
    cohorts: Object.fromEntries(tenants.map((t) => [t, [...(per.get(t) as Map<string, number[]>).keys()].sort()])),
    evidence: tenants.map((t) => Object.fromEntries([...(per.get(t) as Map<string, number[]>)].sort(([a], [b]) => (a < b ? -1 : 1)))),
  };
}

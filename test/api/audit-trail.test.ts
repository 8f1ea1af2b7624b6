import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFixture, type ApiFixture } from '../support/api-fixture.js';
import { auditEvents } from '../support/audit-events.js';
import { observation, patient } from '../support/fhir-builders.js';

/** Every API request that touches personal data leaves one event naming exactly what it returned. */
describe('API audit trail', () => {
  let f: ApiFixture;
  let sys: { id: string; token: string };
  const h = (token: string) => ({ authorization: `Bearer ${token}`, 'x-purpose-of-use': 'PUBHLTH' });

  beforeAll(async () => {
    f = await apiFixture();
    sys = await f.principal('controller-system', ['screening']);
  });
  afterAll(async () => f.close());

  const eventsOf = async (requestId: string) =>
    (await auditEvents(f.vault.store, { principalId: sys.id })).filter((e) => e.origin.requestId === requestId);

  it('a search with _include names every patient whose data it returned, with the categories and bytes', async () => {
    const r = await f.app.inject({ url: '/fhir/DiagnosticReport?_count=5&_include=DiagnosticReport:subject', headers: h(sys.token) });
    expect(r.statusCode).toBe(200);
    const bundle = r.json<{ entry: { resource: { resourceType: string; id: string; subject?: { reference: string } } }[] }>();
    const returned = new Set(
      bundle.entry.map((e) =>
        e.resource.resourceType === 'Patient' ? e.resource.id : (e.resource.subject?.reference ?? '').replace('Patient/', ''),
      ),
    );
    const events = await eventsOf(String(r.headers['x-request-id']));
    expect(events).toHaveLength(1);
    const e = events[0];
    expect(e?.action).toBe('resource.search');
    expect(e?.outcome).toBe('allowed');
    expect(e?.tenant).toBe('screening');
    expect(new Set(e?.patients)).toEqual(returned);
    expect(e?.categories).toEqual(expect.arrayContaining(['clinical-result', 'follow-up-advice', 'identity', 'national-id']));
    expect(e?.records).toBe(bundle.entry.length);
    expect(e?.bytes).toBeGreaterThan(0);
    expect(e?.purpose).toBe('PUBHLTH');
    expect(e?.origin.ip).toBeTruthy();
  });

  it('a search about one of its patients names that patient even when nothing matches', async () => {
    const pid = f.lab.patients.get('screening')?.[0] as string;
    const r = await f.app.inject({ url: `/fhir/Observation?patient=${pid}&status=cancelled`, headers: h(sys.token) });
    expect(r.statusCode).toBe(200);
    expect(r.json<{ total: number }>().total).toBe(0);
    const events = await eventsOf(String(r.headers['x-request-id']));
    expect(events.map((e) => [e.action, e.patients])).toEqual([['resource.search', [pid]]]);
  });

  it('a read of an unknown id is recorded as an error, not silently dropped', async () => {
    const r = await f.app.inject({ url: '/fhir/Observation/obs-does-not-exist', headers: h(sys.token) });
    expect(r.statusCode).toBe(404);
    const events = await eventsOf(String(r.headers['x-request-id']));
    expect(events.map((e) => [e.action, e.outcome, e.reason])).toEqual([['resource.read', 'error', 'not-found']]);
  });

  it('a create commits its event with the write, naming the patient', async () => {
    const p = patient('screening', 'pat-api-audit-1', '111222333');
    const created = await f.app.inject({
      method: 'POST',
      url: '/fhir/Patient',
      headers: { ...h(sys.token), 'content-type': 'application/fhir+json' },
      payload: p,
    });
    expect(created.statusCode).toBe(201);
    const o = observation('screening', 'obs-api-audit-1', 'pat-api-audit-1');
    const r = await f.app.inject({
      method: 'POST',
      url: '/fhir/Observation',
      headers: { ...h(sys.token), 'content-type': 'application/fhir+json' },
      payload: o,
    });
    expect(r.statusCode).toBe(201);
    const events = await eventsOf(String(r.headers['x-request-id']));
    expect(events.some((e) => e.action === 'ingest.write' && e.patients.includes('pat-api-audit-1'))).toBe(true);
    // The same resource again is a no-op (200), not a duplicate.
    const again = await f.app.inject({
      method: 'POST',
      url: '/fhir/Observation',
      headers: { ...h(sys.token), 'content-type': 'application/fhir+json' },
      payload: o,
    });
    expect(again.statusCode).toBe(200);
  });

  it('a refused request is recorded as denied with the reason', async () => {
    const r = await f.app.inject({
      url: '/fhir/Patient/x',
      headers: { authorization: `Bearer ${sys.token}`, 'x-purpose-of-use': 'HRESCH' },
    });
    expect(r.statusCode).toBe(403);
    const events = await eventsOf(String(r.headers['x-request-id']));
    expect(events.map((e) => [e.action, e.outcome, e.reason])).toEqual([['access.denied', 'denied', 'access-denied']]);
  });

  it('a failed authentication is recorded without a principal, with its cause', async () => {
    const r = await f.app.inject({ url: '/fhir/Patient/x', headers: { authorization: 'Bearer not.a.token' } });
    expect(r.statusCode).toBe(401);
    const all = await auditEvents(f.vault.store, { principalId: 'unauthenticated' });
    const e = all.find((x) => x.origin.requestId === r.headers['x-request-id']);
    expect(e).toMatchObject({ action: 'auth.fail', outcome: 'denied', detail: { cause: 'malformed-token' } });
  });
});

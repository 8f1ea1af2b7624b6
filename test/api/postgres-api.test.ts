import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFixture, type ApiFixture } from '../support/api-fixture.js';
import { auditEvents } from '../support/audit-events.js';
import { observation } from '../support/fhir-builders.js';
import { freshSchema, pgAvailable, PG_REQUIRED, PG_URL } from '../support/pg.js';

/**
 * The API over PostgreSQL: the same routes on the production backend (its own transactions,
 * timestamp types and advisory-locked audit appends), a few representative paths end to end.
 * Fails rather than skips in CI when PostgreSQL is unreachable.
 */
const pgUp = (await pgAvailable()) || PG_REQUIRED;

describe.skipIf(!pgUp)('API on PostgreSQL', () => {
  let f: ApiFixture;
  let drop: () => Promise<void>;
  let sys: { id: string; token: string };
  const h = (token: string, purpose = 'PUBHLTH') => ({ authorization: `Bearer ${token}`, 'x-purpose-of-use': purpose });

  beforeAll(async () => {
    const s = await freshSchema();
    drop = s.drop;
    f = await apiFixture({ databaseUrl: PG_URL, env: { LABVAULT_PG_SCHEMA: s.schema }, patients: 30 });
    sys = await f.principal('controller-system', ['screening']);
  }, 120_000);
  afterAll(async () => {
    await f.close();
    await drop();
  });

  it('reads, searches with paging, and 404s another tenant', async () => {
    const own = f.lab.patients.get('screening')?.[0] as string;
    const other = f.lab.patients.get('hospital-west')?.[0] as string;
    expect((await f.app.inject({ url: `/fhir/Patient/${own}`, headers: h(sys.token) })).statusCode).toBe(200);
    expect((await f.app.inject({ url: `/fhir/Patient/${other}`, headers: h(sys.token) })).statusCode).toBe(404);
    const seen = new Set<string>();
    let url: string | null = '/fhir/DiagnosticReport?_count=3';
    let total = -1;
    while (url) {
      const r: LightMyRequestResponse = await f.app.inject({ url, headers: h(sys.token) });
      expect(r.statusCode).toBe(200);
      const b = r.json<{ total: number; entry: { resource: { id: string } }[]; link: { relation: string; url: string }[] }>();
      total = b.total;
      for (const e of b.entry) seen.add(e.resource.id);
      const next = b.link.find((l) => l.relation === 'next');
      url = next ? new URL(next.url).pathname + new URL(next.url).search : null;
    }
    expect(seen.size).toBe(total);
    expect(total).toBe(f.lab.resources.get('screening')?.get('DiagnosticReport')?.length);
  });

  it('creates, then exports after a second person approves, every step audited', async () => {
    const patientId = f.lab.patients.get('screening')?.[1] as string;
    const o = observation('screening', 'obs-pg-api-1', patientId);
    const c = await f.app.inject({
      method: 'POST',
      url: '/fhir/Observation',
      headers: { ...h(sys.token), 'content-type': 'application/fhir+json' },
      payload: o,
    });
    expect(c.statusCode).toBe(201);
    const k = await f.app.inject({ url: '/fhir/$export?_type=Observation', headers: h(sys.token) });
    expect(k.statusCode).toBe(202);
    const jobId = String(k.headers['content-location']).split('/').pop() as string;
    const officer = await f.principal('security-officer', ['*']);
    expect(
      (await f.app.inject({ method: 'POST', url: `/admin/exports/${jobId}/approve`, headers: h(officer.token, 'HOPERAT') })).statusCode,
    ).toBe(200);
    const file = await f.app.inject({ url: `/fhir/$export-file/${jobId}/Observation`, headers: h(sys.token) });
    expect(file.statusCode).toBe(200);
    expect(file.body).toContain('obs-pg-api-1');
    const events = await auditEvents(f.vault.store, { principalId: sys.id });
    expect(events.map((e) => e.action)).toEqual(
      expect.arrayContaining(['ingest.write', 'export.request', 'export.download', 'resource.search']),
    );
    await f.vault.audit.checkpoint();
    const v = await f.vault.audit.verify();
    expect(v, JSON.stringify(v)).toMatchObject({ ok: true });
  });
});

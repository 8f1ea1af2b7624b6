import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFixture, type ApiFixture } from '../support/api-fixture.js';
import { auditEvents } from '../support/audit-events.js';

/** Break-glass: explicit, justified, time-boxed, flagged for review; otherwise ETREAT gets nothing. */
describe('break-glass', () => {
  let f: ApiFixture;
  let tech: { id: string; token: string };
  let patient: string;
  const h = (token: string, purpose: string, tenant?: string) => ({
    authorization: `Bearer ${token}`,
    'x-purpose-of-use': purpose,
    ...(tenant ? { 'x-tenant': tenant } : {}),
  });

  beforeAll(async () => {
    f = await apiFixture();
    // A technician working for hospital-west only: the emergency patient is a screening patient.
    tech = await f.principal('lab-technician', ['hospital-west']);
    patient = f.lab.patients.get('screening')?.[0] as string;
  });
  afterAll(async () => f.close());

  it('without a grant: the other tenant is 404 and ETREAT is refused', async () => {
    const normal = await f.app.inject({ url: `/fhir/Patient/${patient}`, headers: h(tech.token, 'TREAT') });
    expect(normal.statusCode).toBe(404);
    const etreat = await f.app.inject({ url: `/fhir/Patient/${patient}`, headers: h(tech.token, 'ETREAT', 'screening') });
    expect(etreat.statusCode).toBe(404);
    const own = f.lab.patients.get('hospital-west')?.[0] as string;
    const ownEtreat = await f.app.inject({ url: `/fhir/Patient/${own}`, headers: h(tech.token, 'ETREAT', 'hospital-west') });
    expect(ownEtreat.statusCode).toBe(403);
  });

  it('refuses a grant without a real justification, too long a window, or for a system', async () => {
    const short = await f.app.inject({
      method: 'POST',
      url: '/admin/break-glass',
      headers: h(tech.token, 'TREAT'),
      payload: { tenant: 'screening', justification: 'urgent', minutes: 15 },
    });
    expect(short.statusCode).toBe(400);
    const long = await f.app.inject({
      method: 'POST',
      url: '/admin/break-glass',
      headers: h(tech.token, 'TREAT'),
      payload: { tenant: 'screening', justification: 'patient collapsed in the ER, results needed now', minutes: 600 },
    });
    expect(long.statusCode).toBe(400);
    const sys = await f.principal('controller-system', ['screening']);
    const bySystem = await f.app.inject({
      method: 'POST',
      url: '/admin/break-glass',
      headers: h(sys.token, 'TREAT'),
      payload: { tenant: 'screening', justification: 'patient collapsed in the ER, results needed now', minutes: 15 },
    });
    expect(bySystem.statusCode).toBe(403);
    const bsnInText = await f.app.inject({
      method: 'POST',
      url: '/admin/break-glass',
      headers: h(tech.token, 'TREAT'),
      payload: { tenant: 'screening', justification: 'patient with BSN 111222333 collapsed', minutes: 15 },
    });
    expect(bsnInText.statusCode).toBe(400);
  });

  it('with a grant: full view of that tenant under ETREAT only, every access flagged for review, until it expires', async () => {
    const open = await f.app.inject({
      method: 'POST',
      url: '/admin/break-glass',
      headers: h(tech.token, 'TREAT'),
      payload: { tenant: 'screening', justification: 'patient collapsed in the ER, results needed now', minutes: 15 },
    });
    expect(open.statusCode).toBe(201);
    const grant = open.json<{ id: string; expires: string }>();

    const r = await f.app.inject({ url: `/fhir/Patient/${patient}`, headers: h(tech.token, 'ETREAT', 'screening') });
    expect(r.statusCode).toBe(200);
    const body = r.json<{ identifier: { value: string }[]; address?: unknown }>();
    // Break-glass lifts the technician's masking: the full BSN and the address.
    expect(body.identifier[0]?.value).toMatch(/^\d{9}$/);
    expect(body.address).toBeDefined();
    // The same patient under an ordinary purpose stays out of reach.
    const normal = await f.app.inject({ url: `/fhir/Patient/${patient}`, headers: h(tech.token, 'TREAT') });
    expect(normal.statusCode).toBe(404);
    // Another tenant is not covered by the grant.
    const other = f.lab.patients.get('gp-network')?.[0] as string;
    const x = await f.app.inject({ url: `/fhir/Patient/${other}`, headers: h(tech.token, 'ETREAT', 'gp-network') });
    expect(x.statusCode).toBe(404);

    const events = await auditEvents(f.vault.store, { principalId: tech.id });
    const opened = events.find((e) => e.action === 'breakglass.open');
    expect(opened?.detail).toMatchObject({ break_glass: grant.id, review: true, minutes: 15 });
    const read = events.find((e) => e.action === 'patient.read' && e.patients.includes(patient) && e.outcome === 'allowed');
    expect(read?.detail).toMatchObject({ break_glass: grant.id, review: true });
    expect(read?.purpose).toBe('ETREAT');
    expect(read?.categories).toContain('national-id');

    // After expiry the grant no longer opens anything.
    const stored = await f.vault.store.activeBreakGlass(tech.id, 'screening', new Date(Date.parse(grant.expires) + 1).toISOString());
    expect(stored).toBeNull();
  });
});

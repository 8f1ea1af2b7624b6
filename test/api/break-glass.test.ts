import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFixture, type ApiFixture } from '../support/api-fixture.js';
import { auditEvents } from '../support/audit-events.js';

/**
 * Break-glass: explicit, justified, time-boxed, flagged for review; it lifts the role's masking
 * within the principal's own tenants and never opens another controller's data.
 */
describe('break-glass', () => {
  let f: ApiFixture;
  let tech: { id: string; token: string };
  let patient: string;
  const h = (token: string, purpose: string, tenant?: string) => ({
    authorization: `Bearer ${token}`,
    'x-purpose-of-use': purpose,
    ...(tenant ? { 'x-tenant': tenant } : {}),
  });
  const open = (token: string, payload: Record<string, unknown>) =>
    f.app.inject({ method: 'POST', url: '/admin/break-glass', headers: h(token, 'TREAT'), payload });
  const JUSTIFICATION = 'patient collapsed in the ER, results needed now';

  beforeAll(async () => {
    f = await apiFixture();
    // A technician working for hospital-west: its view of patients is masked.
    tech = await f.principal('lab-technician', ['hospital-west']);
    patient = f.lab.patients.get('hospital-west')?.[0] as string;
  });
  afterAll(async () => f.close());

  it('without a grant: ETREAT is refused in the own tenant and another tenant does not exist', async () => {
    const own = await f.app.inject({ url: `/fhir/Patient/${patient}`, headers: h(tech.token, 'ETREAT', 'hospital-west') });
    expect(own.statusCode).toBe(403);
    const other = f.lab.patients.get('screening')?.[0] as string;
    const x = await f.app.inject({ url: `/fhir/Patient/${other}`, headers: h(tech.token, 'ETREAT', 'screening') });
    expect(x.statusCode).toBe(404);
  });

  it('refuses a grant without a real justification, too long a window, for a system, or with a BSN in the text', async () => {
    expect((await open(tech.token, { tenant: 'hospital-west', justification: 'urgent', minutes: 15 })).statusCode).toBe(400);
    expect((await open(tech.token, { tenant: 'hospital-west', justification: JUSTIFICATION, minutes: 600 })).statusCode).toBe(400);
    const sys = await f.principal('controller-system', ['hospital-west']);
    expect((await open(sys.token, { tenant: 'hospital-west', justification: JUSTIFICATION, minutes: 15 })).statusCode).toBe(403);
    const bsn = await open(tech.token, { tenant: 'hospital-west', justification: 'patient with BSN 111222333 collapsed', minutes: 15 });
    expect(bsn.statusCode).toBe(400);
  });

  it('never opens another tenant: 404 as for an unknown one, and the attempt is recorded for review', async () => {
    const foreign = await open(tech.token, { tenant: 'screening', justification: JUSTIFICATION, minutes: 15 });
    const unknown = await open(tech.token, { tenant: 'no-such-tenant', justification: JUSTIFICATION, minutes: 15 });
    expect(foreign.statusCode).toBe(404);
    expect(unknown.statusCode).toBe(404);
    expect(foreign.body).toBe(unknown.body);
    const events = await auditEvents(f.vault.store, { principalId: tech.id });
    expect(events.filter((e) => e.action === 'breakglass.open' && e.outcome === 'denied')).toHaveLength(2);
    expect(await f.vault.store.activeBreakGlass(tech.id, 'screening', new Date().toISOString())).toBeNull();
  });

  it('with a grant: full view in that tenant under ETREAT only, every access flagged for review, until it expires', async () => {
    const r0 = await open(tech.token, { tenant: 'hospital-west', justification: JUSTIFICATION, minutes: 15 });
    expect(r0.statusCode).toBe(201);
    const grant = r0.json<{ id: string; expires: string }>();

    const masked = await f.app.inject({ url: `/fhir/Patient/${patient}`, headers: h(tech.token, 'TREAT') });
    expect(masked.statusCode).toBe(200);
    expect(masked.json<{ identifier: { value: string }[] }>().identifier[0]?.value).toMatch(/^\*+\d{2}$/);

    const r = await f.app.inject({ url: `/fhir/Patient/${patient}`, headers: h(tech.token, 'ETREAT', 'hospital-west') });
    expect(r.statusCode).toBe(200);
    const body = r.json<{ identifier: { value: string }[]; address?: unknown }>();
    // Break-glass lifts the technician's masking: the full BSN and the address.
    expect(body.identifier[0]?.value).toMatch(/^\d{9}$/);
    expect(body.address).toBeDefined();
    // The grant does not reach another tenant.
    const other = f.lab.patients.get('gp-network')?.[0] as string;
    expect((await f.app.inject({ url: `/fhir/Patient/${other}`, headers: h(tech.token, 'ETREAT', 'gp-network') })).statusCode).toBe(404);

    const events = await auditEvents(f.vault.store, { principalId: tech.id });
    const opened = events.find((e) => e.action === 'breakglass.open' && e.outcome === 'allowed');
    expect(opened?.detail).toMatchObject({ break_glass: grant.id, review: true, minutes: 15 });
    const read = events.find((e) => e.action === 'patient.read' && e.patients.includes(patient) && e.purpose === 'ETREAT');
    expect(read?.detail).toMatchObject({ break_glass: grant.id, review: true });
    expect(read?.categories).toContain('national-id');

    // After expiry the grant no longer opens anything.
    const stored = await f.vault.store.activeBreakGlass(tech.id, 'hospital-west', new Date(Date.parse(grant.expires) + 1).toISOString());
    expect(stored).toBeNull();
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFixture, type ApiFixture } from '../support/api-fixture.js';
import { auditEvents } from '../support/audit-events.js';
import { freshSchema, pgAvailable, PG_REQUIRED, PG_URL } from '../support/pg.js';

/**
 * Inline detection through the real API: a read that crosses a cap is withheld, the principal is
 * contained before the response leaves, every credential it holds fails from its next request
 * (and nobody else's), its address is blocked, and only a security officer with a reason releases
 * it — two different officers after a canary. Thresholds are lowered through the overrides file so
 * the patterns show on a 60-person lab.
 */
const OVERRIDES = {
  roles: {
    pathologist: { patientsPerMinute: 5, unexplainedPerHour: 1000, missesPerMinute: 3 },
    'controller-system': { patientsPerMinute: 1000, patientsPerRequest: 1000, unexplainedPerHour: 1000, broadSearchesPerHour: 1000 },
  },
};

// Both backends: on PostgreSQL the containment's transaction and the release's row locks are its own.
const pgUp = (await pgAvailable()) || PG_REQUIRED;
// Without PostgreSQL outside CI the postgres run is left out (with a warning); CI=true makes it required.
if (!pgUp) console.warn('[detection] PostgreSQL unreachable: postgres backend left out (CI=true makes this a failure)');
const BACKENDS = [{ name: 'sqlite' }, ...(pgUp ? [{ name: 'postgres' }] : [])] as const;

describe.each(BACKENDS)('detection and containment over the API ($name)', ({ name }) => {
  let f: ApiFixture;
  let dir: string;
  let drop: () => Promise<void> = async () => undefined;
  const h = (token: string, purpose: string, tenant?: string) => ({
    authorization: `Bearer ${token}`,
    'x-purpose-of-use': purpose,
    ...(tenant ? { 'x-tenant': tenant } : {}),
  });
  const read = (token: string, id: string, ip: string, purpose = 'TREAT') =>
    f.app.inject({ url: `/fhir/Patient/${id}`, headers: h(token, purpose), remoteAddress: ip });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lv-detect-'));
    const file = path.join(dir, 'detection.json');
    await writeFile(file, JSON.stringify(OVERRIDES));
    const env = { LABVAULT_DETECTION_MODE: 'enforce', LABVAULT_DETECTION_FILE: file };
    if (name === 'postgres') {
      const s = await freshSchema();
      drop = s.drop;
      f = await apiFixture({ databaseUrl: PG_URL, env: { ...env, LABVAULT_PG_SCHEMA: s.schema } });
    } else f = await apiFixture({ env });
  }, 120_000);
  afterAll(async () => {
    await f.close();
    await drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('withholds the read that crosses a cap, contains on the spot, and touches no one else', async () => {
    const ids = f.lab.patients.get('screening') as string[];
    const thief = await f.principal('pathologist', ['screening']);
    const second = await f.vault.principals.issueToken({ ...ctx(), local: true }, thief.id);
    const key = await f.vault.principals.createApiKey({ ...ctx(), local: true }, thief.id, 30);
    const colleague = await f.principal('pathologist', ['screening']);
    for (let i = 0; i < 5; i++) expect((await read(thief.token, ids[i] as string, '10.1.1.1')).statusCode).toBe(200);
    const crossing = await read(thief.token, ids[5] as string, '10.1.1.1');
    expect(crossing.statusCode).toBe(403);
    expect(crossing.body).not.toContain(ids[5]);
    // The very next request of every credential fails: the address is blocked, the principal suspended.
    expect((await read(thief.token, ids[0] as string, '10.1.1.1')).statusCode).toBe(403);
    expect((await read(thief.token, ids[0] as string, '10.9.9.9')).statusCode).toBe(401);
    expect((await read(second.token, ids[0] as string, '10.9.9.9')).statusCode).toBe(401);
    const viaKey = await f.app.inject({
      url: `/fhir/Patient/${ids[0]}`,
      headers: { 'x-api-key': key.key, 'x-purpose-of-use': 'TREAT' },
      remoteAddress: '10.9.9.8',
    });
    expect(viaKey.statusCode).toBe(401);
    // Nobody else: a colleague of the same role and tenant reads on, from its own address.
    expect((await read(colleague.token, ids[6] as string, '10.2.2.2')).statusCode).toBe(200);

    const [c] = (await f.vault.store.listContainments()).filter((x) => x.principalId === thief.id);
    expect(c).toMatchObject({ state: 'active', rule: 'cap.patients-per-minute', originIp: '10.1.1.1', approvalsRequired: 1 });
    const incident = await f.vault.store.getIncident(c?.incidentId as string);
    expect(incident).toMatchObject({ source: 'detection', trigger: 'cap.patients-per-minute', principalId: thief.id, status: 'open' });
    const actions = (await auditEvents(f.vault.store, { principalId: 'labvault-detection' })).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['incident.open', 'detection.contain', 'principal.suspend']));
    const own = await auditEvents(f.vault.store, { principalId: thief.id });
    const withheld = own.filter((e) => e.reason === 'contained');
    expect(withheld.length).toBeGreaterThan(0);
    // What was withheld did not leave: the denied event names no patient.
    for (const e of withheld) expect(e.patients).toEqual([]);
    expect(own.filter((e) => e.outcome === 'allowed' && e.action === 'patient.read').flatMap((e) => e.patients)).toHaveLength(5);
  });

  it('release needs a security officer, with a reason, who is not the contained principal', async () => {
    const ids = f.lab.patients.get('screening') as string[];
    const thief = await f.principal('pathologist', ['screening']);
    for (let i = 0; i < 6; i++) await read(thief.token, ids[i] as string, '10.3.3.3');
    const c = (await f.vault.store.listContainments()).find((x) => x.principalId === thief.id);
    expect(c?.state).toBe('active');
    const release = (token: string, reason: unknown, ip = '10.4.4.4') =>
      f.app.inject({
        method: 'POST',
        url: `/admin/containments/${c?.id}/release`,
        headers: h(token, 'HOPERAT'),
        payload: { reason },
        remoteAddress: ip,
      });
    const tech = await f.principal('lab-technician', ['screening']);
    expect((await release(tech.token, 'reviewed with the user')).statusCode).toBe(403);
    const officer = await f.principal('security-officer', ['*']);
    expect((await release(officer.token, '')).statusCode).toBe(400);
    expect((await release(officer.token, 'call with 111222333')).statusCode).toBe(400);
    // A plain principal release cannot step around the containment.
    await expect(f.vault.principals.release({ ...ctx(), local: true }, thief.id, 'oops')).rejects.toThrow(/containment/);
    const ok = await release(officer.token, 'reviewed with the user and their manager: a batch review, approved');
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ state: 'released', approvals: 1, required: 1 });
    // Back in service, from the address that was blocked, with a fresh count — but the credentials
    // held at containment stay dead (they may be the stolen ones): it needs a new token.
    expect((await read(thief.token, ids[0] as string, '10.3.3.3')).statusCode).toBe(401);
    const fresh = await f.vault.principals.issueToken({ ...ctx(), local: true }, thief.id);
    expect((await read(fresh.token, ids[0] as string, '10.3.3.3')).statusCode).toBe(200);
    const actions = (await auditEvents(f.vault.store, { principalId: officer.id })).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['containment.approve', 'containment.release', 'principal.release']));
  });

  it('a canary read contains at once, freezes the tenant’s exports, and takes two different officers to release', async () => {
    await f.vault.canaries.plantTenant({ ...ctx(), local: true }, 'hospital-west', 3);
    const sets = await f.vault.canaries.unsealedSets('hospital-west');
    const canary = sets.flatMap((s) => s.patients)[0]?.id as string;
    const system = await f.principal('controller-system', ['hospital-west'], { purpose: 'TREAT' });
    const real = (f.lab.patients.get('hospital-west') as string[])[0] as string;
    expect((await read(system.token, real, '10.5.5.5')).statusCode).toBe(200);
    const touch = await read(system.token, canary, '10.5.5.5');
    expect(touch.statusCode).toBe(403);
    expect(touch.body).not.toContain(canary);
    // Zero further records: every following request of the principal is refused.
    expect((await read(system.token, real, '10.6.6.6')).statusCode).toBe(401);
    const c = (await f.vault.store.listContainments()).find((x) => x.principalId === system.id);
    expect(c).toMatchObject({ rule: 'canary.touch', approvalsRequired: 2, frozenTenants: ['hospital-west'] });
    const other = await f.principal('controller-system', ['hospital-west'], { purpose: 'TREAT' });
    const exp = await f.app.inject({
      url: '/fhir/$export?_type=Patient',
      headers: { ...h(other.token, 'TREAT'), prefer: 'respond-async' },
      remoteAddress: '10.7.7.7',
    });
    expect(exp.statusCode).toBe(403);
    expect(exp.body).toMatch(/frozen/);
    const o1 = await f.principal('security-officer', ['*']);
    const o2 = await f.principal('security-officer', ['*']);
    const release = (token: string) =>
      f.app.inject({
        method: 'POST',
        url: `/admin/containments/${c?.id}/release`,
        headers: h(token, 'HOPERAT'),
        payload: { reason: 'canary read traced to a misconfigured test job, job removed' },
        remoteAddress: '10.8.8.8',
      });
    const first = await release(o1.token);
    expect(JSON.parse(first.body)).toMatchObject({ state: 'active', approvals: 1, required: 2 });
    expect((await read(system.token, real, '10.6.6.6')).statusCode).toBe(401);
    expect((await release(o1.token)).statusCode).toBe(409);
    const second = await release(o2.token);
    expect(JSON.parse(second.body)).toMatchObject({ state: 'released', approvals: 2 });
    expect((await read(system.token, real, '10.6.6.6')).statusCode).toBe(401);
    const fresh = await f.vault.principals.issueToken({ ...ctx(), local: true }, system.id);
    expect((await read(fresh.token, real, '10.5.5.5')).statusCode).toBe(200);
  });

  it('a lookup across all tenants is one miss at most: real BSN lookups pass, guessing contains', async () => {
    const op = { ...ctx(), local: true };
    const bsns: string[] = [];
    for (const t of ['screening', 'hospital-west']) {
      for (const id of (f.lab.patients.get(t) as string[]).slice(0, 2)) {
        const p = await f.vault.reader.patient(op, t, id);
        bsns.push((p.identifier as { value: string }[])[0]?.value as string);
      }
    }
    const lab = await f.principal('pathologist', ['*']);
    const lookup = (bsn: string) =>
      f.app.inject({
        method: 'POST',
        url: '/fhir/Patient/_search',
        headers: { ...h(lab.token, 'TREAT'), 'content-type': 'application/x-www-form-urlencoded' },
        payload: `identifier=${bsn}`,
        remoteAddress: '10.11.0.1',
      });
    // Four real people, each found in one of five tenants: four misses would be twelve by tenant.
    for (const b of bsns) expect((await lookup(b)).statusCode).toBe(200);
    // Guessing: three lookups that find nobody are allowed, the fourth within a minute contains.
    for (const guess of ['100000009', '100000010', '100000022']) expect((await lookup(guess)).statusCode).toBe(200);
    expect((await lookup('100000034')).statusCode).toBe(403);
    const c = (await f.vault.store.listContainments()).find((x) => x.principalId === lab.id);
    expect(c?.rule).toBe('enumeration.misses');
  });

  it('the audit log holding all of it verifies', async () => {
    await f.vault.audit.checkpoint();
    const v = await f.vault.audit.verify();
    expect(v, JSON.stringify(v)).toMatchObject({ ok: true });
  });
});

function ctx() {
  return {
    principal: { id: 'test-operator', role: 'admin' as const, tenants: ['*'] },
    purpose: 'HOPERAT',
    origin: { ip: null, userAgent: 'test', requestId: null },
  };
}

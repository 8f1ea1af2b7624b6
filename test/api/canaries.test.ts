import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorContext } from '../../src/domain/principal.js';
import { apiFixture, type ApiFixture } from '../support/api-fixture.js';

/**
 * Canaries: indistinguishable patients placed where no workflow query reaches them and every bulk
 * read does; a unique set per export copy, so a leaked file names the copy it came from.
 */
const OP = operatorContext('test', 'canary-test');

interface Bundle {
  entry?: { resource: { resourceType: string; id: string; subject?: { reference: string } } }[];
  link?: { relation: string; url: string }[];
}

describe('canaries', () => {
  let f: ApiFixture;
  const canaries = new Map<string, Set<string>>();
  const h = (token: string, purpose: string) => ({ authorization: `Bearer ${token}`, 'x-purpose-of-use': purpose });

  beforeAll(async () => {
    f = await apiFixture({ patients: 150, env: { LABVAULT_DETECTION_MODE: 'enforce' } });
    for (const t of f.lab.tenants) {
      await f.vault.canaries.plantTenant(OP, t, 8);
      canaries.set(t, new Set((await f.vault.canaries.unsealedSets(t)).flatMap((s) => s.patients.map((p) => p.id))));
    }
  });
  afterAll(async () => f.close());

  it('look like real patients through the API: same shape, valid BSN, results present', async () => {
    const sys = await f.principal('controller-system', ['screening'], { purpose: 'PUBHLTH' });
    const id = [...(canaries.get('screening') as Set<string>)][0] as string;
    const real = (f.lab.patients.get('screening') as string[]).find((p) => !canaries.get('screening')?.has(p)) as string;
    const r = await f.app.inject({ url: `/fhir/Patient/${real}`, headers: h(sys.token, 'PUBHLTH'), remoteAddress: '10.0.0.1' });
    const c = await f.app.inject({ url: `/fhir/Patient/${id}`, headers: h(sys.token, 'PUBHLTH'), remoteAddress: '10.0.0.1' });
    expect(r.statusCode).toBe(200);
    // Read by id a canary contains (that is the point), with the same status as any refusal — so
    // compare the stored shapes instead.
    expect(c.statusCode).toBe(403);
    const stored = await f.vault.reader.patient(OP, 'screening', id);
    const realStored = await f.vault.reader.patient(OP, 'screening', real);
    expect(Object.keys(stored).sort()).toEqual(Object.keys(realStored).sort());
    expect(JSON.stringify(stored)).not.toMatch(/canary/i);
    expect((await f.vault.reader.resourcesOfPatient(OP, 'screening', id)).length).toBeGreaterThan(0);
    // In the database too: their rows carry the creation time of a real load, not the planting's.
    const realTimes = new Set<string>();
    for (const p of f.lab.patients.get('screening') ?? [])
      realTimes.add((await f.vault.store.getPatient('screening', p))?.createdAt as string);
    for (const c of canaries.get('screening') ?? [])
      expect(realTimes.has((await f.vault.store.getPatient('screening', c))?.createdAt as string)).toBe(true);
    for (const r of await f.vault.store.listResourcesOfPatient('screening', id)) expect(realTimes.has(r.createdAt)).toBe(true);
  });

  it('are never returned by workflow queries: polls of recent results, per-patient reads of recent orders', async () => {
    for (const tenant of f.lab.tenants) {
      const purpose = tenant === 'screening' ? 'PUBHLTH' : 'TREAT';
      const sys = await f.principal('controller-system', [tenant], { purpose });
      const newest = (await f.vault.store.newestOrderDate(tenant)) as string;
      const seen = new Set<string>();
      for (let d = 0; d <= 30; d++) {
        const day = new Date(Date.parse(newest) - d * 86_400_000).toISOString().slice(0, 10);
        for (const type of ['DiagnosticReport', 'Observation', 'ServiceRequest', 'Specimen']) {
          let url: string | null = `/fhir/${type}?date=${day}&_count=50`;
          while (url) {
            const r: LightMyRequestResponse = await f.app.inject({ url, headers: h(sys.token, purpose), remoteAddress: '10.0.1.1' });
            expect(r.statusCode, r.body).toBe(200);
            const b = r.json<Bundle>();
            for (const e of b.entry ?? []) seen.add(e.resource.subject?.reference.replace('Patient/', '') ?? '');
            const next = b.link?.find((l) => l.relation === 'next')?.url;
            url = next ? new URL(next).pathname + new URL(next).search : null;
          }
        }
      }
      // The poll saw real work and not one canary.
      expect(seen.size).toBeGreaterThan(0);
      for (const p of seen) expect(canaries.get(tenant)?.has(p)).toBe(false);
      // Reading each of those patients and their records is workflow too: nobody is contained.
      for (const p of [...seen].slice(0, 10)) {
        const r = await f.app.inject({
          url: `/fhir/DiagnosticReport?patient=${p}`,
          headers: h(sys.token, purpose),
          remoteAddress: '10.0.1.1',
        });
        expect(r.statusCode).toBe(200);
      }
      expect((await f.vault.store.listContainments()).some((c) => c.principalId === sys.id)).toBe(false);
    }
  });

  it('are touched by paging through a tenant, which contains the reader before the canary page leaves', async () => {
    const thief = await f.principal('controller-system', ['gp-network'], { purpose: 'TREAT' });
    let url: string | null = '/fhir/DiagnosticReport?_count=5';
    let served = 0;
    let last = 0;
    while (url) {
      const r: LightMyRequestResponse = await f.app.inject({ url, headers: h(thief.token, 'TREAT'), remoteAddress: '10.0.2.2' });
      last = r.statusCode;
      if (r.statusCode !== 200) break;
      const b = r.json<Bundle>();
      for (const e of b.entry ?? [])
        expect(canaries.get('gp-network')?.has(e.resource.subject?.reference.replace('Patient/', '') ?? '')).toBe(false);
      served += b.entry?.length ?? 0;
      const next = b.link?.find((l) => l.relation === 'next')?.url;
      url = next ? new URL(next).pathname + new URL(next).search : null;
    }
    expect(last).toBe(403);
    const c = (await f.vault.store.listContainments()).find((x) => x.principalId === thief.id);
    // Whichever line it crossed first (a canary, broad paging, unexplained patients), it stopped.
    expect(c?.state).toBe('active');
    expect(['canary.touch', 'enumeration.broad-searches', 'unexplained.access']).toContain(c?.rule);
    expect(served).toBeLessThan(f.lab.resources.get('gp-network')?.get('DiagnosticReport')?.length ?? 0);
  });

  it('each export copy carries its own registered canaries, the same on every download of that copy', async () => {
    const requester = await f.principal('controller-system', ['hospital-south'], { purpose: 'TREAT' });
    const officer = await f.principal('security-officer', ['*']);
    const download = async (): Promise<{ job: string; ids: string[] }> => {
      const k = await f.app.inject({
        url: '/fhir/$export?_type=Patient',
        headers: { ...h(requester.token, 'TREAT'), prefer: 'respond-async' },
        remoteAddress: '10.0.3.3',
      });
      expect(k.statusCode, k.body).toBe(202);
      const job = String(k.headers['content-location']).split('/').pop() as string;
      const a = await f.app.inject({
        method: 'POST',
        url: `/admin/exports/${job}/approve`,
        headers: h(officer.token, 'HOPERAT'),
        remoteAddress: '10.0.3.4',
      });
      expect(a.statusCode).toBe(200);
      const file = await f.app.inject({
        url: `/fhir/$export-file/${job}/Patient`,
        headers: h(requester.token, 'TREAT'),
        remoteAddress: '10.0.3.3',
      });
      expect(file.statusCode, file.body).toBe(200);
      return {
        job,
        ids: file.body
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { id: string }).id),
      };
    };
    const one = await download();
    const two = await download();
    const vaultIds = new Set(f.lab.patients.get('hospital-south'));
    for (const p of canaries.get('hospital-south') ?? []) vaultIds.add(p);
    const extraOne = one.ids.filter((id) => !vaultIds.has(id));
    const extraTwo = two.ids.filter((id) => !vaultIds.has(id));
    expect(extraOne).toHaveLength(f.vault.config.detection.canaries.perExport);
    expect(extraTwo).toHaveLength(f.vault.config.detection.canaries.perExport);
    expect(extraOne.some((id) => extraTwo.includes(id))).toBe(false);
    // In id order with the rest: position gives nothing away.
    expect(one.ids).toEqual([...one.ids].sort());
    const sets = await f.vault.canaries.unsealedSets('hospital-south');
    const setOne = sets.find((s) => s.set.copyKind === 'export' && s.set.copyId === one.job);
    expect(setOne?.patients.map((p) => p.id).sort()).toEqual([...extraOne].sort());
    // Downloading the same copy again yields the same canaries, registered once.
    const again = await f.app.inject({
      url: `/fhir/$export-file/${one.job}/Patient`,
      headers: h(requester.token, 'TREAT'),
      remoteAddress: '10.0.3.3',
    });
    expect(again.body).toBe(
      (
        await f.app.inject({
          url: `/fhir/$export-file/${one.job}/Patient`,
          headers: h(requester.token, 'TREAT'),
          remoteAddress: '10.0.3.3',
        })
      ).body,
    );
    expect((await f.vault.canaries.list('hospital-south')).filter((s) => s.copyId === one.job)).toHaveLength(1);
    // An approved export reads tenant canaries without containing its requester.
    expect((await f.vault.store.listContainments()).some((c) => c.principalId === requester.id)).toBe(false);
  });

  it('the registry never holds a canary id or BSN in plaintext', async () => {
    const rows = await f.vault.store.listCanarySets();
    const all = [...canaries.values()].flatMap((s) => [...s]);
    for (const r of rows) for (const id of all) expect(r.sealed.includes(Buffer.from(id))).toBe(false);
  });
});

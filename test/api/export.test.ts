import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFixture, type ApiFixture } from '../support/api-fixture.js';
import { auditEvents } from '../support/audit-events.js';

/** Bulk Data export behind a two-person rule: requester (controller system) + a different security officer. */
describe('bulk export ($export) with two-person approval', () => {
  let f: ApiFixture;
  let requester: { id: string; token: string };
  let officer: { id: string; token: string };
  let otherOfficer: { id: string; token: string };
  const h = (token: string, purpose = 'PUBHLTH') => ({ authorization: `Bearer ${token}`, 'x-purpose-of-use': purpose });

  beforeAll(async () => {
    f = await apiFixture();
    requester = await f.principal('controller-system', ['screening']);
    officer = await f.principal('security-officer', ['*']);
    otherOfficer = await f.principal('security-officer', ['*']);
  });
  afterAll(async () => f.close());

  async function kickOff(types = 'Patient,DiagnosticReport'): Promise<string> {
    const r = await f.app.inject({ url: `/fhir/$export?_type=${types}`, headers: { ...h(requester.token), prefer: 'respond-async' } });
    expect(r.statusCode).toBe(202);
    const loc = r.headers['content-location'];
    expect(typeof loc).toBe('string');
    return new URL(String(loc)).pathname;
  }

  it('stays awaiting approval, serves no file, until a security officer approves', async () => {
    const status = await kickOff();
    const jobId = status.split('/').pop() as string;
    const pending = await f.app.inject({ url: status, headers: h(requester.token) });
    expect(pending.statusCode).toBe(202);
    expect(pending.headers['x-progress']).toMatch(/approval/);
    const early = await f.app.inject({ url: `/fhir/$export-file/${jobId}/Patient`, headers: h(requester.token) });
    expect(early.statusCode).toBe(403);
    expect(early.body).not.toContain('"resourceType":"Patient"');

    const approve = await f.app.inject({ method: 'POST', url: `/admin/exports/${jobId}/approve`, headers: h(officer.token, 'HOPERAT') });
    expect(approve.statusCode).toBe(200);
    // Approving twice is refused: the job is no longer awaiting approval.
    const again = await f.app.inject({ method: 'POST', url: `/admin/exports/${jobId}/approve`, headers: h(otherOfficer.token, 'HOPERAT') });
    expect(again.statusCode).toBe(403);

    const done = await f.app.inject({ url: status, headers: h(requester.token) });
    expect(done.statusCode).toBe(200);
    const manifest = done.json<{ output: { type: string; url: string }[]; requiresAccessToken: boolean }>();
    expect(manifest.requiresAccessToken).toBe(true);
    expect(manifest.output.map((o) => o.type).sort()).toEqual(['DiagnosticReport', 'Patient']);

    const file = manifest.output.find((o) => o.type === 'Patient') as { url: string };
    const nd = await f.app.inject({ url: new URL(file.url).pathname, headers: h(requester.token) });
    expect(nd.statusCode).toBe(200);
    expect(nd.headers['content-type']).toContain('ndjson');
    const lines = nd.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; meta: { tag: { code: string }[] } });
    // Every patient of the tenant, plus the canaries of this copy (registered under the job's id).
    const copy = (await f.vault.canaries.unsealedSets('screening')).find((c) => c.set.copyKind === 'export' && c.set.copyId === jobId);
    const planted = (copy?.patients ?? []).map((p) => p.id);
    expect(planted).toHaveLength(f.vault.config.detection.canaries.perExport);
    expect(lines.map((p) => p.id).sort()).toEqual([...(f.lab.patients.get('screening') ?? []), ...planted].sort());
    for (const p of lines) expect(p.meta.tag.map((t) => t.code)).toEqual(['screening']);

    // Every patient that left is named in the audit log, with the export's approval and request before it.
    const events = await auditEvents(f.vault.store, { principalId: requester.id });
    const actions = events.map((e) => e.action);
    expect(actions).toContain('export.request');
    expect(actions).toContain('export.download');
    const exported = new Set(events.filter((e) => e.action === 'patient.read').flatMap((e) => e.patients));
    for (const p of lines) if (!planted.includes(p.id)) expect(exported.has(p.id)).toBe(true);
    const approvals = await auditEvents(f.vault.store, { principalId: officer.id });
    expect(approvals.some((e) => e.action === 'export.approve' && e.outcome === 'allowed' && e.detail.export === jobId)).toBe(true);
  });

  it('the requester cannot approve its own export, nor can a non-officer', async () => {
    const status = await kickOff('Observation');
    const jobId = status.split('/').pop() as string;
    // A security officer who is also the requester: make the officer request one itself is not
    // possible (officers cannot request), so test the role rule and the self rule separately.
    const self = await f.app.inject({ method: 'POST', url: `/admin/exports/${jobId}/approve`, headers: h(requester.token) });
    expect(self.statusCode).toBe(403);
    const tech = await f.principal('lab-technician', ['*']);
    const byTech = await f.app.inject({ method: 'POST', url: `/admin/exports/${jobId}/approve`, headers: h(tech.token, 'HOPERAT') });
    expect(byTech.statusCode).toBe(403);
    const file = await f.app.inject({ url: `/fhir/$export-file/${jobId}/Observation`, headers: h(requester.token) });
    expect(file.statusCode).toBe(403);
  });

  it('another principal cannot see the status or download the files, even after approval', async () => {
    const status = await kickOff('Patient');
    const jobId = status.split('/').pop() as string;
    await f.app.inject({ method: 'POST', url: `/admin/exports/${jobId}/approve`, headers: h(officer.token, 'HOPERAT') });
    const thief = await f.principal('controller-system', ['screening']);
    const s = await f.app.inject({ url: status, headers: h(thief.token) });
    expect(s.statusCode).toBe(404);
    const d = await f.app.inject({ url: `/fhir/$export-file/${jobId}/Patient`, headers: h(thief.token) });
    expect(d.statusCode).toBe(404);
    expect(d.body).not.toContain('"resourceType":"Patient"');
    const other = await f.principal('controller-system', ['hospital-west']);
    const o = await f.app.inject({ url: `/fhir/$export-file/${jobId}/Patient`, headers: h(other.token, 'TREAT') });
    expect(o.statusCode).toBe(404);
  });

  it('roles without the export right cannot kick off', async () => {
    for (const [role, purpose] of [
      ['pathologist', 'TREAT'],
      ['lab-technician', 'HOPERAT'],
      ['support', 'HOPERAT'],
      ['security-officer', 'HOPERAT'],
    ] as const) {
      const p = await f.principal(role, ['screening']);
      const r = await f.app.inject({ url: '/fhir/$export', headers: h(p.token, purpose) });
      expect(r.statusCode, role).toBe(403);
    }
  });

  it('an unapproved export expires: approval after the TTL is refused', async () => {
    const status = await kickOff('Specimen');
    const jobId = status.split('/').pop() as string;
    const job = await f.vault.store.getExportJob(jobId);
    expect(job?.state).toBe('awaiting-approval');
    const late = await f.vault.store.approveExportJob(
      jobId,
      officer.id,
      new Date(Date.parse(job?.expiresAt ?? '') + 1000).toISOString(),
      [],
    );
    expect(late).toBe(false);
  });
});

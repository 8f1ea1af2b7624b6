import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { redactQueries } from '../../src/api/app.js';
import { apiFixture, type ApiFixture } from '../support/api-fixture.js';

/**
 * The request deadline covers the work before a response starts: a streamed export that runs past
 * it is neither cut off nor followed by a second (503) response, which would crash the process.
 */
describe('request deadline and streamed exports', () => {
  let f: ApiFixture;
  beforeAll(async () => {
    f = await apiFixture({ patients: 5, env: { LABVAULT_API_REQUEST_TIMEOUT_MS: '150' } });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await f.close();
  });

  it('an export download slower than the deadline completes with 200 and every line', async () => {
    const sys = await f.principal('controller-system', ['screening'], { purpose: 'PUBHLTH' });
    const officer = await f.principal('security-officer', ['*'], { purpose: 'HOPERAT' });
    const h = (t: string) => ({ authorization: `Bearer ${t}` });
    const k = await f.app.inject({ url: '/fhir/$export?_type=Patient', headers: h(sys.token) });
    const jobId = String(k.headers['content-location']).split('/').pop() as string;
    expect((await f.app.inject({ method: 'POST', url: `/admin/exports/${jobId}/approve`, headers: h(officer.token) })).statusCode).toBe(
      200,
    );

    const real = f.vault.reader.patientsPage.bind(f.vault.reader);
    let calls = 0;
    vi.spyOn(f.vault.reader, 'patientsPage').mockImplementation(async (...args) => {
      const page = await real(...args);
      // Two pages, the second only after the deadline has passed.
      if (calls++ === 0) return { patients: page.patients.slice(0, 1), next: 'pat-0' };
      await new Promise((r) => setTimeout(r, 400));
      return { patients: page.patients.slice(0, 1), next: null };
    });
    const r = await f.app.inject({ url: `/fhir/$export-file/${jobId}/Patient`, headers: h(sys.token) });
    expect(r.statusCode).toBe(200);
    // Both pages, plus this copy's canaries (merged in id order, here into the last page).
    expect(r.body.trim().split('\n')).toHaveLength(2 + f.vault.config.detection.canaries.perExport);
    expect(r.body).not.toContain('OperationOutcome');
  });

  it('a request that has not started its response by the deadline gets 503', async () => {
    const sys = await f.principal('controller-system', ['screening'], { purpose: 'PUBHLTH' });
    const real = f.vault.store.getPatient.bind(f.vault.store);
    const slow = vi.spyOn(f.vault.store, 'getPatient').mockImplementation(async (...a) => {
      await new Promise((r) => setTimeout(r, 400));
      return real(...a);
    });
    const id = f.lab.patients.get('screening')?.[0] ?? 'x';
    const r = await f.app.inject({ url: `/fhir/Patient/${id}`, headers: { authorization: `Bearer ${sys.token}` } });
    expect(r.statusCode).toBe(503);
    slow.mockRestore();
  });
});

describe('log redaction', () => {
  it('drops query strings from any logged text', () => {
    expect(redactQueries('Reply was already sent, in "/fhir/Patient?identifier=123456782" (GET)')).toBe(
      'Reply was already sent, in "/fhir/Patient?<redacted>" (GET)',
    );
    expect(redactQueries('no query here')).toBe('no query here');
  });
});

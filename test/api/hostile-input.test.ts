import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEvent } from '../../src/audit/event-codec.js';
import { apiFixture, type ApiFixture } from '../support/api-fixture.js';
import { auditEvents } from '../support/audit-events.js';
import { CTX } from '../support/context.js';
import { observation, patient, serviceRequest } from '../support/fhir-builders.js';

/**
 * Hostile input at the API boundary: malformed, mistyped, oversized, foreign-tenant and
 * injection-shaped requests all answer a 4xx OperationOutcome — never a 5xx, never a stack trace,
 * file path or SQL — and store nothing, not even part of a transaction. Plus the rate limit,
 * security headers and the request deadline.
 */

const FHIR = 'application/fhir+json';
const BODY_LIMIT = 8192;
const MAX_COUNT = 10;

/** Text that must never reach a client: error class names, stack frames, paths, SQL, driver names. */
const INTERNALS =
  /Error:|TypeError|RangeError|SyntaxError|\bat [\w.<>]+ \(|\/work\/|\/home\/|\/tmp\/|node_modules|\.[cm]?[jt]s:\d+|sqlite|postgres|SQLSTATE|stack|undefined|\[object Object\]/i;
/** SQL as an engine or a driver would echo it (upper case: the diagnostics are prose). */
const SQL = /\b(SELECT|INSERT|UPDATE|DELETE|FROM|WHERE|UNION|DROP)\b/;

function expectOutcome(r: LightMyRequestResponse, status?: number | number[]): Record<string, unknown> {
  const what = `${r.statusCode} ${r.body.slice(0, 300)}`;
  expect(r.statusCode, what).toBeGreaterThanOrEqual(400);
  expect(r.statusCode, what).toBeLessThan(500);
  if (typeof status === 'number') expect(r.statusCode, what).toBe(status);
  else if (status) expect(status, what).toContain(r.statusCode);
  expect(r.headers['content-type'], what).toMatch(/^application\/fhir\+json/);
  const body = r.json<{ resourceType: string; issue: { severity: string; code: string; diagnostics?: string }[] }>();
  expect(body.resourceType, what).toBe('OperationOutcome');
  expect(body.issue.length, what).toBeGreaterThan(0);
  expect(body.issue[0]?.severity, what).toBe('error');
  expect(r.body, what).not.toMatch(INTERNALS);
  expect(r.body, what).not.toMatch(SQL);
  return body;
}

/** Security headers every response carries, error or not. */
function expectSecurityHeaders(r: LightMyRequestResponse): void {
  expect(r.headers['x-content-type-options']).toBe('nosniff');
  expect(r.headers['cache-control']).toBe('no-store');
  expect(String(r.headers['content-security-policy'])).toMatch(/default-src 'none'/);
  expect(String(r.headers['content-security-policy'])).toMatch(/frame-ancestors 'none'/);
  expect(r.headers['x-frame-options']).toBe('DENY');
  expect(r.headers['referrer-policy']).toBe('no-referrer');
}

describe('hostile input', () => {
  let f: ApiFixture;
  let h: Record<string, string>;
  const tenant = 'screening';
  let ownPatient: string;

  /** Rows per (tenant, type) straight from the store, patients included. */
  async function storeCounts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const t of f.lab.tenants) out[`${t}/Patient`] = (await f.vault.store.listPatientIds(t, '', 1_000_000)).length;
    for (const c of await f.vault.store.countResources()) out[`${c.tenantId}/${c.type}`] = c.count;
    return out;
  }

  const post = (url: string, payload: unknown, contentType = FHIR, headers: Record<string, string> = h): Promise<LightMyRequestResponse> =>
    f.app.inject({
      method: 'POST',
      url,
      headers: { ...headers, 'content-type': contentType },
      payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
    });
  const get = (url: string, headers: Record<string, string> = h): Promise<LightMyRequestResponse> => f.app.inject({ url, headers });

  beforeAll(async () => {
    f = await apiFixture({
      patients: 40,
      env: { LABVAULT_API_BODY_LIMIT: String(BODY_LIMIT), LABVAULT_API_MAX_COUNT: String(MAX_COUNT) },
    });
    const p = await f.principal('controller-system', [tenant], { purpose: 'TREAT' });
    h = { authorization: `Bearer ${p.token}` };
    ownPatient = f.lab.patients.get(tenant)?.[0] as string;
  });
  afterAll(async () => f?.close());

  it('the fixture works: a valid create and a valid transaction are stored (so refusals below mean something)', async () => {
    const before = await storeCounts();
    const c = await post('/fhir/Patient', patient(tenant, 'pat-hostile-ok', '111222333'));
    expect(c.statusCode, c.body).toBe(201);
    const t = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: patient(tenant, 'pat-hostile-tx', '123456782') },
        { resource: serviceRequest(tenant, 'sr-hostile-tx', 'pat-hostile-tx') },
        { resource: observation(tenant, 'obs-hostile-tx', 'pat-hostile-tx', 'sr-hostile-tx') },
      ],
    });
    expect(t.statusCode, t.body).toBe(200);
    const after = await storeCounts();
    expect(after[`${tenant}/Patient`]).toBe((before[`${tenant}/Patient`] ?? 0) + 2);
    expect(after[`${tenant}/ServiceRequest`]).toBe((before[`${tenant}/ServiceRequest`] ?? 0) + 1);
    expect(after[`${tenant}/Observation`]).toBe((before[`${tenant}/Observation`] ?? 0) + 1);
  });

  describe('bodies', () => {
    it('refuses malformed JSON (400 structure), under every JSON media type', async () => {
      const before = await storeCounts();
      for (const ct of [FHIR, 'application/json', 'application/json+fhir', 'application/fhir+json; charset=utf-8']) {
        for (const body of ['{"resourceType": "Patient",', '{resourceType: Patient}', "{'a': 1}", '{"a": 1}}', '\u0000', 'nul', '']) {
          const r = await post('/fhir/Patient', body, ct);
          expectOutcome(r, 400);
        }
      }
      const body = expectOutcome(await post('/fhir/Patient', '{"resourceType":', FHIR), 400);
      expect(body).toMatchObject({ issue: [{ code: 'structure' }] });
      expect(await storeCounts()).toEqual(before);
    });

    it('refuses a body that is not an object, or not the resource the URL names', async () => {
      const before = await storeCounts();
      for (const body of ['[]', '[{"resourceType":"Patient"}]', '"Patient"', '42', 'true', 'null']) {
        expectOutcome(await post('/fhir/Patient', body), 400);
        expectOutcome(await post('/fhir', body), 400);
      }
      expectOutcome(await post('/fhir/Patient', { ...patient(tenant, 'pat-mismatch'), resourceType: 'Observation' }), 400);
      expectOutcome(await post('/fhir/Observation', patient(tenant, 'pat-mismatch')), 400);
      expectOutcome(await post('/fhir', patient(tenant, 'pat-not-a-bundle')), 400);
      expectOutcome(await post('/fhir', { resourceType: 'Bundle', type: 'batch', entry: [{ resource: patient(tenant, 'p-b') }] }), 400);
      expectOutcome(await post('/fhir', { resourceType: 'Bundle', type: 'transaction', entry: [] }), 400);
      expectOutcome(await post('/fhir', { resourceType: 'Bundle', type: 'transaction', entry: [1, 'x', null] }), 400);
      expectOutcome(await post('/fhir', { resourceType: 'Bundle', type: 'transaction', entry: { resource: {} } }), 400);
      expect(await storeCounts()).toEqual(before);
    });

    it('refuses invalid FHIR: missing fields, wrong types, a BSN failing the 11-proof', async () => {
      const before = await storeCounts();
      const good = patient(tenant, 'pat-invalid');
      const drop = (k: string): Record<string, unknown> => {
        const out = { ...good };
        delete out[k];
        return out;
      };
      const patients: Record<string, unknown>[] = [
        drop('identifier'),
        drop('name'),
        drop('birthDate'),
        { ...good, identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '123456789' }] },
        { ...good, identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '12345678' }] },
        { ...good, identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: 123456782 }] },
        { ...good, identifier: 'bsn' },
        { ...good, name: 'Jansen' },
        { ...good, name: [{ family: 42 }] },
        { ...good, birthDate: 19800402 },
        { ...good, birthDate: '1980-02-30' },
        { ...good, id: 'pat/../../etc' },
        { ...good, id: 'x'.repeat(65) },
        { ...good, id: 'pat-123456782' },
      ];
      for (const p of patients) {
        const r = await post('/fhir/Patient', p);
        expectOutcome(r, [400, 404]);
      }
      const obs = observation(tenant, 'obs-invalid', ownPatient);
      const observations: Record<string, unknown>[] = [
        { ...obs, status: 7 },
        { ...obs, code: 'glucose' },
        { ...obs, subject: 'Patient/x' },
        { ...obs, subject: { reference: 'Patient/does-not-exist' } },
        { ...obs, subject: { reference: 'http://evil.example/Patient/x' } },
        { ...obs, basedOn: { reference: 'ServiceRequest/x' } },
      ];
      for (const o of observations) {
        const r = await post('/fhir/Observation', o);
        expectOutcome(r, [400, 404]);
      }
      expect(await storeCounts()).toEqual(before);
    });

    it('refuses a resource tagged for another tenant (or an unknown one, or two) as if it did not exist', async () => {
      const before = await storeCounts();
      const otherTenant = f.lab.tenants.find((t) => t !== tenant) as string;
      expectOutcome(await post('/fhir/Patient', patient(otherTenant, 'pat-foreign')), 404);
      expectOutcome(await post('/fhir/Patient', patient('evil-corp', 'pat-foreign')), 404);
      const two = patient(tenant, 'pat-two-tags');
      (two.meta as { tag: unknown[] }).tag.push({ system: 'https://labvault.dev/tenant', code: otherTenant });
      expectOutcome(await post('/fhir/Patient', two), [400, 404]);
      const otherPatient = f.lab.patients.get(otherTenant)?.[0] as string;
      // A reference to another tenant's patient does not resolve within this tenant.
      expectOutcome(await post('/fhir/Observation', observation(tenant, 'obs-cross', otherPatient)), 400);
      expect(await storeCounts()).toEqual(before);
    });

    it('refuses a body over the limit (413) and stores nothing', async () => {
      const before = await storeCounts();
      const big = { ...patient(tenant, 'pat-big'), text: { status: 'generated', div: `<div>${'x'.repeat(BODY_LIMIT)}</div>` } };
      const r = await post('/fhir/Patient', big);
      expectOutcome(r, 413);
      expectSecurityHeaders(r);
      expectOutcome(await post('/fhir/Patient', JSON.stringify(big), 'application/json'), 413);
      expectOutcome(await post('/fhir/Patient/_search', `family=${'x'.repeat(BODY_LIMIT)}`, 'application/x-www-form-urlencoded'), 413);
      expect(await storeCounts()).toEqual(before);
    });

    it('refuses unsupported media types (415)', async () => {
      const before = await storeCounts();
      const xml = '<Patient xmlns="http://hl7.org/fhir"><id value="x"/></Patient>';
      for (const ct of [
        'application/xml',
        'application/fhir+xml',
        'text/xml',
        'multipart/form-data; boundary=x',
        'application/octet-stream',
      ]) {
        const r = await post('/fhir/Patient', xml, ct);
        expectOutcome(r, 415);
        expectSecurityHeaders(r);
      }
      // text/plain is parsed as a string by the framework: still not a resource.
      expectOutcome(await post('/fhir/Patient', JSON.stringify(patient(tenant, 'pat-text')), 'text/plain'), [400, 415]);
      expect(await storeCounts()).toEqual(before);
    });

    it('a prototype-polluting body is refused (400) under every JSON media type, and pollutes nothing', async () => {
      const before = await storeCounts();
      const raw = JSON.stringify(patient(tenant, 'pat-proto')).replace(
        /^\{/,
        '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},',
      );
      for (const ct of [FHIR, 'application/json', 'application/json+fhir']) expectOutcome(await post('/fhir/Patient', raw, ct), 400);
      // Escaped spellings of the same keys.
      const escaped = JSON.stringify(patient(tenant, 'pat-proto-2')).replace(
        /^\{/,
        '{"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":"yes"},',
      );
      expectOutcome(await post('/fhir/Patient', escaped), 400);
      const nested = { ...patient(tenant, 'pat-proto-3') };
      const poisoned = JSON.stringify(nested).replace('"name":[{', '"name":[{"__proto__":{"polluted":"yes"},');
      expectOutcome(await post('/fhir/Patient', poisoned), 400);
      const bundle = `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":${raw}}]}`;
      expectOutcome(await post('/fhir', bundle), 400);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
      expect(await storeCounts()).toEqual(before);
      // A key merely containing the letters is fine.
      const benign = JSON.stringify(patient(tenant, 'pat-protocol', '111222333')).replace(
        /^\{/,
        '{"text":{"status":"generated","div":"<div>protocol prototype \\u00e9</div>"},',
      );
      const ok = await post('/fhir/Patient', benign);
      expect(ok.statusCode, ok.body).toBe(201);
    });

    it('deeply nested JSON answers 4xx, not a stack overflow', async () => {
      const depth = Math.floor((BODY_LIMIT - 200) / 2);
      const nested = `{"resourceType":"Patient","extension":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      expectOutcome(await post('/fhir/Patient', nested), [400, 413]);
      const deepObj = `${'{"a":'.repeat(1300)}1${'}'.repeat(1300)}`;
      expectOutcome(
        await post('/fhir', `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1","resource":${deepObj}}]}`),
        [400, 413],
      );
    });

    it('a transaction with one invalid entry stores none of its entries', async () => {
      const before = await storeCounts();
      const entries = [
        { resource: patient(tenant, 'pat-tx-a', '111222333') },
        { resource: serviceRequest(tenant, 'sr-tx-a', 'pat-tx-a') },
        { resource: observation(tenant, 'obs-tx-a', 'pat-tx-a', 'sr-tx-a') },
      ];
      const invalid = [
        { resource: { ...observation(tenant, 'obs-tx-bad', 'pat-tx-a'), status: 42 } },
        { resource: patient(tenant, 'pat-tx-b', '123456789') },
        { resource: { resourceType: 'Medication', id: 'med-1', meta: { tag: [{ system: 'https://labvault.dev/tenant', code: tenant }] } } },
        { resource: observation(tenant, 'obs-tx-dangling', 'pat-nowhere') },
      ];
      for (const bad of invalid) {
        for (const at of [0, entries.length]) {
          const entry = [...entries];
          entry.splice(at, 0, bad);
          const r = await post('/fhir', { resourceType: 'Bundle', type: 'transaction', entry });
          expectOutcome(r, [400, 404]);
          expect(await storeCounts()).toEqual(before);
        }
      }
      // An entry for another tenant refuses the whole transaction too.
      const otherTenant = f.lab.tenants.find((t) => t !== tenant) as string;
      const foreign = await post('/fhir', {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [...entries, { resource: patient(otherTenant, 'pat-tx-foreign', '111222333') }],
      });
      expectOutcome(foreign, 404);
      expect(await storeCounts()).toEqual(before);
      for (const url of ['/fhir/Patient/pat-tx-a', '/fhir/ServiceRequest/sr-tx-a', '/fhir/Observation/obs-tx-a']) {
        expectOutcome(await get(url), 404);
      }
    });
  });

  describe('search parameters', () => {
    /** A 4xx OperationOutcome, or a 200 searchset that matched nothing: never a 5xx, never "everything". */
    function expectHarmless(r: LightMyRequestResponse): void {
      const what = `${r.statusCode} ${r.body.slice(0, 300)}`;
      expect(r.statusCode, what).toBeLessThan(500);
      expect(r.body, what).not.toMatch(INTERNALS);
      if (r.statusCode === 200) {
        expect(r.json(), what).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 0, entry: [] });
      } else expectOutcome(r);
    }

    const injections = [
      "' OR 1=1 --",
      "' OR '1'='1",
      "'OR'1'='1",
      '" OR ""="',
      "x'--",
      '1;DROP TABLE resources',
      "') UNION SELECT * FROM principals --",
      '%00',
      '\u0000',
      'final\u0000',
      '%',
      '*',
      '%25',
      '../../etc/passwd',
      '${7*7}',
      '<script>alert(1)</script>',
      '\\',
      'a'.repeat(5000),
    ];

    it('injection-shaped values in every search parameter: 4xx or an empty match, never 5xx or all rows', async () => {
      const params: [string, string, Record<string, string>][] = [
        ['Observation', 'status', {}],
        ['Observation', 'code', {}],
        ['Observation', 'patient', {}],
        ['Observation', 'subject', {}],
        ['Observation', 'date', {}],
        ['Observation', '_after', {}],
        ['Observation', '_include', {}],
        ['Observation', '_format', {}],
        ['DiagnosticReport', 'code', {}],
        ['Specimen', 'status', {}],
        ['Patient', 'identifier', {}],
        ['Patient', 'family', { birthdate: '1980-04-02' }],
        ['Patient', 'birthdate', { family: 'Jansen' }],
      ];
      for (const [type, name, extra] of params) {
        for (const v of injections) {
          const q = new URLSearchParams({ ...extra, [name]: v }).toString();
          expectHarmless(await get(`/fhir/${type}?${q}`));
        }
      }
      // Raw, not re-encoded: percent sequences and quotes as a client could send them.
      for (const raw of ["status='%20OR%201=1%20--", 'code=%00', 'code=%', 'patient=%2e%2e%2f', 'date=ge2024-01-01%00', '_count=1%00']) {
        expectHarmless(await get(`/fhir/Observation?${raw}`));
      }
    });

    it('the same through POST _search with a form body', async () => {
      for (const v of injections.slice(0, 8)) {
        const body = new URLSearchParams({ code: v }).toString();
        expectHarmless(await post('/fhir/Observation/_search', body, 'application/x-www-form-urlencoded'));
        const pb = new URLSearchParams({ identifier: v }).toString();
        expectHarmless(await post('/fhir/Patient/_search', pb, 'application/x-www-form-urlencoded'));
      }
      // URL and body both: refused, not merged.
      expectOutcome(await post('/fhir/Observation/_search?status=final', 'code=x', 'application/x-www-form-urlencoded'), 400);
    });

    it('repeated parameters are refused (400)', async () => {
      for (const q of [
        'status=final&status=amended',
        'code=a&code=b',
        `patient=${ownPatient}&patient=${ownPatient}`,
        `patient=${ownPatient}&subject=${ownPatient}`,
        '_count=1&_count=2',
        'date=ge2020-01-01&date=le2030-01-01&date=eq2024-01-01',
        '_after=a&_after=b',
      ]) {
        expectOutcome(await get(`/fhir/Observation?${q}`), 400);
      }
      expectOutcome(await get('/fhir/Patient?identifier=123456782&identifier=111222333'), 400);
    });

    it('unknown parameters, including prototype names, are refused (400), and pollute nothing', async () => {
      for (const q of [
        'foo=bar',
        '_sort=date',
        '_elements=id',
        '_revinclude=Observation:subject',
        '_has:Observation:patient:code=x',
        'code:missing=true',
        'status:not=final',
        '__proto__=x',
        '__proto__[polluted]=yes',
        'constructor=x',
        'constructor[prototype][polluted]=yes',
        'prototype=x',
        'toString=x',
        'hasOwnProperty=x',
        'valueOf=1',
        `${'k'.repeat(5000)}=v`,
      ]) {
        const r = await get(`/fhir/Observation?${q}`);
        const body = expectOutcome(r, 400);
        expect(JSON.stringify(body)).toMatch(/unsupported search parameter/);
        expect(r.body.length).toBeLessThan(500);
      }
      expectOutcome(await get('/fhir/Patient?__proto__=x&identifier=123456782'), 400);
      expectOutcome(await post('/fhir/Observation/_search', '__proto__=x', 'application/x-www-form-urlencoded'), 400);
      expectOutcome(await post('/fhir/Observation/_search', 'constructor=x', 'application/x-www-form-urlencoded'), 400);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('a huge _count is capped at maxCount, not an error', async () => {
      const total = f.lab.resources.get(tenant)?.get('Observation')?.length ?? 0;
      expect(total).toBeGreaterThan(MAX_COUNT);
      for (const count of ['1000000', '999999999', '99999999999', '1'.padEnd(40, '0')]) {
        const r = await get(`/fhir/Observation?_count=${count}`);
        expect(r.statusCode, `${count}: ${r.body.slice(0, 200)}`).toBe(200);
        const b = r.json<{ entry: unknown[]; total: number; link: { relation: string; url: string }[] }>();
        expect(b.entry.length).toBe(MAX_COUNT);
        expect(b.total).toBeGreaterThanOrEqual(total);
        expect(b.link.find((l) => l.relation === 'self')?.url).toContain(`_count=${MAX_COUNT}`);
        expect(b.link.some((l) => l.relation === 'next')).toBe(true);
      }
      // Without _count the default (20) is capped as well.
      const dflt = (await get('/fhir/Observation')).json<{ entry: unknown[] }>();
      expect(dflt.entry.length).toBe(MAX_COUNT);
      const small = (await get('/fhir/Observation?_count=3')).json<{ entry: unknown[] }>();
      expect(small.entry.length).toBe(3);
      const zero = await get('/fhir/Observation?_count=0');

      expect(zero.statusCode).toBeLessThan(500);
    });

    it('a negative or non-numeric _count is refused (400)', async () => {
      for (const count of ['-1', '-0', 'abc', '1.5', '1e3', '0x10', '+5', ' 5', '5 ', '', 'NaN', 'Infinity', '١٢']) {
        const r = await get(`/fhir/Observation?_count=${encodeURIComponent(count)}`);
        expectOutcome(r, 400);
      }
    });

    it('path traversal and malformed ids answer 4xx', async () => {
      for (const path of [
        '/fhir/Patient/..%2F..%2Fetc%2Fpasswd',
        '/fhir/Patient/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
        '/fhir/Patient/..',
        '/fhir/Patient/%2e%2e',
        '/fhir/Observation/..%2f..%2fadmin',
        '/fhir/Observation/..%5c..%5cwindows',
        `/fhir/Patient/${ownPatient}%00`,
        `/fhir/Patient/${ownPatient}%00.json`,
        `/fhir/Patient/${ownPatient}'%20OR%201=1--`,
        `/fhir/Patient/${'a'.repeat(300)}`,
        `/fhir/Observation/${'a'.repeat(300)}`,
        `/fhir/Patient/pat-${'1'.repeat(50)}-123456782-${'a'.repeat(200)}`,
        '/fhir/Patient/%E0%A4%A',
        '/fhir/Patient/%',
        '/fhir/Observation/%C0%AE%C0%AE',
        `/fhir/Patient/${'a'.repeat(65)}`,
        '/fhir/..%2Fadmin%2Fbreak-glass',
        '/fhir/%2e%2e/admin/break-glass',
        '/fhir/Patient/../../admin/break-glass',
        '/fhir/__proto__/x',
        '/fhir/constructor/x',
        '/fhir/Medication/x',
        '/fhir/$export-file/..%2f..%2fetc/Patient',
        '/fhir/$export-status/..%2f..',
      ]) {
        const r = await get(path);
        expectOutcome(r, [400, 404, 414]);
        expectSecurityHeaders(r);
      }
    });
  });

  it('security headers are on successes, refusals and unknown routes alike', async () => {
    const ok = await get(`/fhir/Patient/${ownPatient}`);
    expect(ok.statusCode).toBe(200);
    expectSecurityHeaders(ok);
    const unauth = await get(`/fhir/Patient/${ownPatient}`, {});
    expect(unauth.statusCode).toBe(401);
    expectSecurityHeaders(unauth);
    const bad = await get('/fhir/Observation?_count=x');
    expect(bad.statusCode).toBe(400);
    expectSecurityHeaders(bad);
    const nowhere = await get('/nowhere');
    expectOutcome(nowhere, 404);
    expectSecurityHeaders(nowhere);
    for (const url of ['/healthz', '/fhir/metadata', '/.well-known/jwks.json', '/openapi.json']) {
      const r = await f.app.inject({ url });
      expect(r.statusCode, url).toBe(200);
      expectSecurityHeaders(r);
    }
  });
});

describe('rate limit and request deadline', () => {
  let f: ApiFixture;
  const TIMEOUT_MS = 400;
  beforeAll(async () => {
    f = await apiFixture({ patients: 10, env: { LABVAULT_API_RATE_LIMIT: '5', LABVAULT_API_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) } });
  });
  afterAll(async () => f?.close());

  it('the 6th request of a principal within a minute answers 429 with Retry-After; another principal is unaffected', async () => {
    const a = await f.principal('controller-system', ['screening'], { purpose: 'TREAT' });
    const b = await f.principal('controller-system', ['screening'], { purpose: 'TREAT' });
    const key = await f.vault.principals.createApiKey(CTX, a.id, 1);
    const own = f.lab.patients.get('screening')?.[0] as string;
    const url = `/fhir/Patient/${own}`;
    for (let i = 1; i <= 5; i++) {
      const r = await f.app.inject({ url, headers: { authorization: `Bearer ${a.token}` } });
      expect(r.statusCode, `request ${i}`).toBe(200);
    }
    const sixth = await f.app.inject({ url, headers: { authorization: `Bearer ${a.token}` } });
    const body = expectOutcome(sixth, 429);
    expect(body).toMatchObject({ issue: [{ code: 'throttled' }] });
    expect(Number(sixth.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(sixth.headers['retry-after'])).toBeLessThanOrEqual(60);
    expectSecurityHeaders(sixth);
    // Keyed by principal, not by credential: the principal's API key is throttled too.
    expectOutcome(await f.app.inject({ url, headers: { 'x-api-key': key.key } }), 429);
    // Another principal is unaffected.
    const other = await f.app.inject({ url, headers: { authorization: `Bearer ${b.token}` } });
    expect(other.statusCode).toBe(200);
    // The throttling is audited against the principal.
    const rows = await f.vault.store.queryAudit({ principalId: a.id, limit: 1000 });
    const events = rows.map((r) => decodeEvent(r.bytes).event).filter((e) => e.principal.id === a.id);
    expect(events.some((e) => e.action === 'access.denied' && e.reason === 'rate-limited')).toBe(true);
  });

  it('deeply nested but otherwise valid JSON under the default body limit: 400, never a 5xx', async () => {
    const p = await f.principal('controller-system', ['screening'], { purpose: 'TREAT' });
    const headers = { authorization: `Bearer ${p.token}`, 'content-type': 'application/fhir+json' };
    const withDepth = (id: string, depth: number): string => {
      const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      return JSON.stringify(patient('screening', id, '111222333')).replace(
        /^\{/,
        `{"extension":[{"url":"x","valueString":"y","x":${deep}}],`,
      );
    };
    const before = (await f.vault.store.listPatientIds('screening', '', 1_000_000)).length;
    for (const depth of [150, 5_000, 100_000, 400_000]) {
      for (const ct of ['application/fhir+json', 'application/json']) {
        const r = await f.app.inject({
          method: 'POST',
          url: '/fhir/Patient',
          headers: { ...headers, 'content-type': ct },
          payload: withDepth(`pat-deep-${depth}`, depth),
        });
        expectOutcome(r, 400);
      }
      const bundle = `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:9f1c2b7e-0000-4000-8000-000000000001","resource":${withDepth(`pat-deep-tx-${depth}`, depth)}}]}`;
      expectOutcome(await f.app.inject({ method: 'POST', url: '/fhir', headers, payload: bundle }), 400);
    }
    expect((await f.vault.store.listPatientIds('screening', '', 1_000_000)).length).toBe(before);
    // Nesting a real resource could have is fine.
    const ok = await f.app.inject({ method: 'POST', url: '/fhir/Patient', headers, payload: withDepth('pat-deep-ok', 40) });
    expect(ok.statusCode, ok.body.slice(0, 300)).toBe(201);
  });

  it('a request running past the deadline answers 503 OperationOutcome (slow store simulated)', async () => {
    const p = await f.principal('controller-system', ['screening'], { purpose: 'TREAT' });
    const own = f.lab.patients.get('screening')?.[0] as string;
    const store = f.vault.store;
    const original = store.getPatient.bind(store);
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (release = resolve));
    store.getPatient = async (...args: Parameters<typeof store.getPatient>) => {
      await slow;
      return original(...args);
    };
    try {
      const started = Date.now();
      const r = await f.app.inject({ url: `/fhir/Patient/${own}`, headers: { authorization: `Bearer ${p.token}` } });
      expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(r.statusCode).toBe(503);
      expect(r.headers['content-type']).toMatch(/^application\/fhir\+json/);
      expect(r.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'timeout' }] });
      expect(r.body).not.toMatch(INTERNALS);
      expectSecurityHeaders(r);
    } finally {
      store.getPatient = original;
      release();
      // Let the abandoned handler finish before the fixture closes the store.
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
});

describe('credential guessing is throttled per address', () => {
  let f: ApiFixture;
  beforeAll(async () => {
    f = await apiFixture({ patients: 5, env: { LABVAULT_API_AUTH_FAILURES: '3' } });
  });
  afterAll(async () => f.close());

  it('after 3 failures in a minute the address gets 429 with Retry-After, even with a valid token; the refusals are audited', async () => {
    const { token } = await f.principal('controller-system', ['screening'], { purpose: 'PUBHLTH' });
    for (let i = 0; i < 3; i++) {
      const bad = await f.app.inject({
        url: '/fhir/Patient/x',
        headers: { authorization: `Bearer lvk_${'0'.repeat(16)}_${'A'.repeat(43)}` },
      });
      expect(bad.statusCode).toBe(401);
    }
    const blocked = await f.app.inject({ url: '/fhir/Patient/x', headers: { authorization: `Bearer ${token}` } });
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.json()).toMatchObject({ resourceType: 'OperationOutcome' });
    const other = await f.app.inject({ url: '/fhir/Patient/x', remoteAddress: '10.1.2.3', headers: { authorization: `Bearer ${token}` } });
    expect(other.statusCode).toBe(404);
    const events = await auditEvents(f.vault.store, { principalId: 'unauthenticated' });
    expect(events.filter((e) => e.detail.cause === 'throttled')).toHaveLength(1);
  });
});

describe('content negotiation', () => {
  let f: ApiFixture;
  beforeAll(async () => {
    f = await apiFixture({ patients: 3 });
  });
  afterAll(async () => f.close());

  it('answers 406 to a client that accepts only XML, JSON to */* and fhir+json', async () => {
    const { token } = await f.principal('controller-system', ['screening'], { purpose: 'PUBHLTH' });
    const id = f.lab.patients.get('screening')?.[0] ?? 'x';
    const xml = await f.app.inject({
      url: `/fhir/Patient/${id}`,
      headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+xml' },
    });
    expect(xml.statusCode).toBe(406);
    expect(xml.json()).toMatchObject({ resourceType: 'OperationOutcome' });
    for (const accept of ['*/*', 'application/fhir+json', 'application/fhir+xml;q=0.9, application/json;q=0.8']) {
      const r = await f.app.inject({ url: `/fhir/Patient/${id}`, headers: { authorization: `Bearer ${token}`, accept } });
      expect(r.statusCode, accept).toBe(200);
    }
  });
});

describe('transaction entries other than create', () => {
  let f: ApiFixture;
  beforeAll(async () => {
    f = await apiFixture({ patients: 3 });
  });
  afterAll(async () => f.close());

  it('refuses PUT/DELETE entries with 400 and stores nothing', async () => {
    const { token } = await f.principal('controller-system', ['screening'], { purpose: 'PUBHLTH' });
    const pid = f.lab.patients.get('screening')?.[0] ?? 'x';
    const before = await f.vault.store.countResources();
    const o = observation('screening', 'obs-put-1', pid);
    const r = await f.app.inject({
      method: 'POST',
      url: '/fhir',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      payload: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ resource: o, request: { method: 'PUT', url: 'Observation/obs-put-1' } }],
      },
    });
    expect(r.statusCode).toBe(400);
    expect(await f.vault.store.countResources()).toEqual(before);
  });
});

describe('POST _search bodies', () => {
  let f: ApiFixture;
  let token: string;
  beforeAll(async () => {
    f = await apiFixture({ patients: 5 });
    ({ token } = await f.principal('controller-system', ['screening'], { purpose: 'PUBHLTH' }));
  });
  afterAll(async () => f.close());

  it.each([{ identifier: 123 }, { code: 123 }, { patient: 5 }, { family: { a: 1 }, birthdate: '1980-01-01' }])(
    'a JSON body (%j) is 415, never 5xx',
    async (body) => {
      const r = await f.app.inject({
        method: 'POST',
        url: '/fhir/DiagnosticReport/_search',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: body,
      });
      expect(r.statusCode).toBe(415);
      expect(r.json()).toMatchObject({ resourceType: 'OperationOutcome' });
    },
  );

  it('keeps repeated form parameters: two date bounds narrow the search as in a GET', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const q = 'date=ge2000-01-01&date=le2000-01-02';
    const get = await f.app.inject({ url: `/fhir/DiagnosticReport?${q}`, headers: auth });
    const post = await f.app.inject({
      method: 'POST',
      url: '/fhir/DiagnosticReport/_search',
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      payload: q,
    });
    expect(post.statusCode).toBe(200);
    expect(post.json<{ total: number }>().total).toBe(get.json<{ total: number }>().total);
    expect(post.json<{ total: number }>().total).toBe(0);
  });
});

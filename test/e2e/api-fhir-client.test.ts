import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'fhir-kit-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../support/cli.js';

/**
 * The FHIR API as an ordinary FHIR client sees it: `labvault serve --demo` (the built binary) on
 * loopback, driven by fhir-kit-client — CapabilityStatement, search with paging through the
 * client's nextPage, read, search by identifier, create, transaction, and errors that arrive as
 * OperationOutcome with the right status. Then `labvault bench api` end to end (functional only:
 * no timing is asserted).
 */
const BSN_SYSTEM = 'http://fhir.nl/fhir/NamingSystem/bsn';
const TENANT_TAG = 'https://labvault.dev/tenant';

interface Resource {
  resourceType: string;
  id?: string;
  [k: string]: unknown;
}
interface Bundle extends Resource {
  type: string;
  total?: number;
  link?: { relation: string; url: string }[];
  entry?: { fullUrl?: string; resource?: Resource; response?: { status: string; location?: string } }[];
}
/** What fhir-kit-client throws for a non-2xx answer. */
interface ClientError {
  response: { status: number; data: Resource & { issue?: { severity: string; code: string }[] } };
}

let work: string;
let server: ChildProcess;
let base = '';
const tokens = new Map<string, string>();

/** A client for one demo principal; the purpose of use travels in the header, as a FHIR client would send it. */
function clientFor(principal: string, purpose: string, headers: Record<string, string> = {}): Client {
  const token = tokens.get(principal);
  if (!token) throw new Error(`no demo token for ${principal}`);
  return new Client({ baseUrl: `${base}/fhir`, bearerToken: token, customHeaders: { 'X-Purpose-Of-Use': purpose, ...headers } });
}

async function rejection(p: Promise<unknown>): Promise<ClientError> {
  try {
    await p;
  } catch (e) {
    return e as ClientError;
  }
  throw new Error('expected the request to fail');
}

const bsnOf = (p: Resource): string | undefined =>
  (p.identifier as { system?: string; value?: string }[] | undefined)?.find((i) => i.system === BSN_SYSTEM)?.value;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'lv-fhir-client-'));
  server = startCli(
    [
      '--data-dir',
      path.join(work, 'data'),
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--demo',
      '--demo-patients',
      '50',
      // A functional client test pages through whole result sets, which is what detection contains
      // (test/api/detection*.test.ts and the drill cover that): off here.
    ],
    { LABVAULT_DETECTION_MODE: 'off' },
  );
  let out = '';
  let err = '';
  server.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start: ${err}`)), 90_000);
    server.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ctrl-C to stop')) {
        clearTimeout(timer);
        resolve();
      }
    });
    server.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited ${String(code)}: ${err}`));
    });
  });
  base = /FHIR base\s+(http:\/\/127\.0\.0\.1:\d+)\/fhir\s/.exec(out)?.[1] ?? '';
  for (const m of out.matchAll(/^ {2}(demo-[a-z-]+)\s+\S+\s+\S+\s+(\S+\.\S+\.\S+)$/gm)) tokens.set(m[1] as string, m[2] as string);
}, 120_000);

afterAll(async () => {
  if (server && server.exitCode === null && server.signalCode === null) {
    const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
    server.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
  }
  await rm(work, { recursive: true, force: true });
});

describe('the FHIR API through fhir-kit-client', () => {
  it('reads the CapabilityStatement (no credential needed)', async () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const anonymous = new Client({ baseUrl: `${base}/fhir` });
    const cs = (await anonymous.capabilityStatement()) as Resource & {
      fhirVersion: string;
      rest: { resource: { type: string; interaction: { code: string }[] }[]; interaction: { code: string }[] }[];
    };
    expect(cs.resourceType).toBe('CapabilityStatement');
    expect(cs.fhirVersion).toBe('4.0.1');
    const rest = cs.rest[0]!;
    expect(rest.interaction.map((i) => i.code)).toContain('transaction');
    const dr = rest.resource.find((r) => r.type === 'DiagnosticReport');
    expect(dr?.interaction.map((i) => i.code)).toEqual(expect.arrayContaining(['read', 'search-type', 'create']));
  });

  it('searches DiagnosticReport by status and pages through every result with nextPage', async () => {
    const client = clientFor('demo-controller', 'PUBHLTH');
    let bundle = (await client.search({ resourceType: 'DiagnosticReport', searchParams: { status: 'final', _count: '7' } })) as Bundle;
    expect(bundle.resourceType).toBe('Bundle');
    expect(bundle.type).toBe('searchset');
    const total = bundle.total as number;
    expect(total).toBeGreaterThan(7); // more than one page
    const ids: string[] = [];
    let pages = 0;
    for (;;) {
      pages++;
      expect(bundle.entry?.length ?? 0).toBeLessThanOrEqual(7);
      for (const e of bundle.entry ?? []) {
        expect(e.resource?.resourceType).toBe('DiagnosticReport');
        expect(e.resource?.status).toBe('final');
        expect(e.fullUrl).toBe(`${base}/fhir/DiagnosticReport/${String(e.resource?.id)}`);
        ids.push(e.resource?.id as string);
      }
      const next = (await client.nextPage({ bundle: bundle as never })) as Bundle | undefined;
      if (!next) break;
      bundle = next;
      expect(pages).toBeLessThan(100);
    }
    expect(pages).toBe(Math.ceil(total / 7));
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total); // keyset paging: no repeats, no gaps
  });

  it('reads a Patient, finds it by BSN as a full-view principal, and a masked-view principal does not see the BSN', async () => {
    const controller = clientFor('demo-controller', 'PUBHLTH');
    const reports = (await controller.search({ resourceType: 'DiagnosticReport', searchParams: { _count: '1' } })) as Bundle;
    const ref = (reports.entry?.[0]?.resource?.subject as { reference: string }).reference;
    const id = ref.replace(/^Patient\//, '');

    const pathologist = clientFor('demo-pathologist', 'TREAT', { 'X-Tenant': 'screening' });
    const patient = (await pathologist.read({ resourceType: 'Patient', id })) as Resource;
    expect(patient).toMatchObject({ resourceType: 'Patient', id });
    const bsn = bsnOf(patient);
    expect(bsn).toMatch(/^\d{9}$/);

    const found = (await controller.search({
      resourceType: 'Patient',
      searchParams: { identifier: `${BSN_SYSTEM}|${bsn as string}` },
    })) as Bundle;
    expect(found.entry?.map((e) => e.resource?.id)).toContain(id);
    // The same search as a form POST (the BSN stays out of the URL and any access log).
    const posted = (await controller.search({
      resourceType: 'Patient',
      searchParams: { identifier: `${BSN_SYSTEM}|${bsn as string}` },
      options: { postSearch: true },
    })) as Bundle;
    expect(posted.entry?.map((e) => e.resource?.id)).toContain(id);

    const technician = clientFor('demo-technician', 'HOPERAT', { 'X-Tenant': 'screening' });
    const masked = (await technician.read({ resourceType: 'Patient', id })) as Resource;
    expect(masked.id).toBe(id);
    expect(JSON.stringify(masked)).not.toContain(bsn as string);
  });

  it('creates an Observation with client.create (201, Location, tenant tag added) and reads it back', async () => {
    const client = clientFor('demo-controller', 'PUBHLTH');
    const reports = (await client.search({ resourceType: 'DiagnosticReport', searchParams: { _count: '1' } })) as Bundle;
    const subject = reports.entry?.[0]?.resource?.subject as { reference: string };
    const created = (await client.create({
      resourceType: 'Observation',
      body: {
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] },
        subject,
        effectiveDateTime: '2026-11-02T09:30:00Z',
        valueQuantity: { value: 44, unit: 'mmol/mol' },
      },
    })) as Resource;
    const { response } = Client.httpFor(created);
    expect(response?.status).toBe(201);
    expect(response?.headers.get('location')).toBe(`${base}/fhir/Observation/${String(created.id)}`);
    expect(created).toMatchObject({ resourceType: 'Observation', status: 'final', subject });
    expect((created.meta as { tag: { system: string; code: string }[] }).tag).toContainEqual({ system: TENANT_TAG, code: 'screening' });
    const read = (await client.read({ resourceType: 'Observation', id: created.id as string })) as Resource;
    expect(read).toMatchObject({ id: created.id, valueQuantity: { value: 44 } });
  });

  it('posts a transaction Bundle with client.transaction (urn:uuid references resolved) and finds the new patient by BSN', async () => {
    const client = clientFor('demo-controller', 'PUBHLTH');
    const patientUuid = '6d1c7f3e-2b4a-4e8d-9f10-3a5b7c9d1e2f';
    const newBsn = '111222333'; // passes the 11-proof; not one the synthetic lab uses
    const tx = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: `urn:uuid:${patientUuid}`,
          resource: {
            resourceType: 'Patient',
            identifier: [{ system: BSN_SYSTEM, value: newBsn }],
            name: [{ family: 'Transactie', given: ['Tess'] }],
            gender: 'female',
            birthDate: '1985-03-14',
          },
          request: { method: 'POST', url: 'Patient' },
        },
        {
          fullUrl: 'urn:uuid:0b8e2c4d-6f1a-4b3c-8d5e-7f9a1b2c3d4e',
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] },
            subject: { reference: `urn:uuid:${patientUuid}` },
            effectiveDateTime: '2026-11-02T10:00:00Z',
            valueQuantity: { value: 39, unit: 'mmol/mol' },
          },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    };
    const result = (await client.transaction({ body: tx })) as Bundle;
    expect(result.resourceType).toBe('Bundle');
    expect(result.type).toBe('transaction-response');
    expect(result.entry).toHaveLength(2);
    for (const e of result.entry ?? []) expect(e.response?.status).toMatch(/^201/);
    expect(result.entry?.[0]?.response?.location).toBe(`${base}/fhir/Patient/${patientUuid}`);

    const found = (await client.search({ resourceType: 'Patient', searchParams: { identifier: newBsn } })) as Bundle;
    expect(found.entry?.map((e) => e.resource?.id)).toEqual([patientUuid]);
    const obs = (await client.search({ resourceType: 'Observation', searchParams: { patient: patientUuid } })) as Bundle;
    expect(obs.entry?.map((e) => (e.resource?.subject as { reference: string }).reference)).toEqual([`Patient/${patientUuid}`]);
  });

  it('another tenant’s Patient: the client throws, 404 with an OperationOutcome (no hint that it exists)', async () => {
    const screening = clientFor('demo-controller', 'PUBHLTH');
    const reports = (await screening.search({ resourceType: 'DiagnosticReport', searchParams: { _count: '1' } })) as Bundle;
    const id = (reports.entry?.[0]?.resource?.subject as { reference: string }).reference.replace(/^Patient\//, '');
    const hospital = clientFor('demo-hospital', 'TREAT');
    const e = await rejection(hospital.read({ resourceType: 'Patient', id }));
    expect(e.response.status).toBe(404);
    expect(e.response.data.resourceType).toBe('OperationOutcome');
    expect(e.response.data.issue?.[0]).toMatchObject({ severity: 'error', code: 'not-found' });
    // Exactly what an id nobody holds answers.
    const unknown = await rejection(hospital.read({ resourceType: 'Patient', id: 'pat-does-not-exist' }));
    expect(unknown.response).toEqual(e.response);
  });

  it('a forbidden interaction (support reading DiagnosticReport): 403 OperationOutcome; no purpose of use: refused', async () => {
    const support = clientFor('demo-support', 'HOPERAT', { 'X-Tenant': 'screening' });
    const e = await rejection(support.search({ resourceType: 'DiagnosticReport', searchParams: { status: 'final' } }));
    expect(e.response.status).toBe(403);
    expect(e.response.data).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'forbidden' }] });

    const noToken = new Client({ baseUrl: `${base}/fhir` });
    const anon = await rejection(noToken.search({ resourceType: 'DiagnosticReport', searchParams: { status: 'final' } }));
    expect(anon.response.status).toBe(401);
    expect(anon.response.data.resourceType).toBe('OperationOutcome');
  });
});

describe('labvault bench api', () => {
  it('--seconds 1 --json: one JSON document with the contract fields, every read audited, temp files removed', async () => {
    const tmp = path.join(work, 'bench-tmp');
    await mkdir(tmp);
    const r = await runCli(['bench', 'api', '--seconds', '1', '--patients', '100', '--connections', '8', '--rate', '100', '--json'], {
      TMPDIR: tmp,
    });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
    expect(lines, r.stdout).toHaveLength(1);
    const doc = JSON.parse(lines[0] as string) as Record<string, unknown>;
    for (const k of ['reads_per_s', 'p50_ms', 'p99_ms', 'errors', 'rate_500_p50_ms', 'rate_500_p99_ms', 'baseline_healthz_per_s']) {
      expect(doc[k], k).toBeTypeOf('number');
    }
    expect(doc.reads_per_s as number).toBeGreaterThan(0);
    expect(doc.baseline_healthz_per_s as number).toBeGreaterThan(0);
    expect(doc.errors).toBe(0);
    expect(doc.rate_500_errors).toBe(0);
    expect(doc).toMatchObject({ patients: 100, seconds: 1, connections: 8, every_read_audited: true, audit_verified: true });
    expect(doc.rate_limit_per_min as number).toBeGreaterThanOrEqual(1_000_000);
    expect(doc.audit_events_written as number).toBeGreaterThanOrEqual(doc.reads_answered as number);
    expect(doc.reads_answered as number).toBeGreaterThan(0);
    expect(r.stderr).not.toMatch(/^\s+at\s/m);
    // The temporary vault (plaintext lab files included) is gone.
    expect(await readdir(tmp)).toEqual([]);
  });
});

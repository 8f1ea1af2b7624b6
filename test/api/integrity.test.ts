import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { openVault, type Vault } from '../../src/compose.js';
import { loadConfig } from '../../src/config.js';
import type { Alert } from '../../src/domain/alert.js';
import { IntegrityMonitor } from '../../src/services/integrity-monitor.js';
import { generateSyntheticLab } from '../../src/synth/generator.js';
import { apiFixture, type ApiFixture } from '../support/api-fixture.js';
import { auditEvents } from '../support/audit-events.js';
import { CTX } from '../support/context.js';
import { patient } from '../support/fhir-builders.js';

function expectNoStore(r: LightMyRequestResponse, diagnostics: RegExp): void {
  expect(r.statusCode, r.body.slice(0, 300)).toBe(503);
  expect(r.headers['content-type']).toMatch(/^application\/fhir\+json/);
  const body = r.json<{ resourceType: string; issue: { code: string; diagnostics?: string }[] }>();
  expect(body.resourceType).toBe('OperationOutcome');
  expect(body.issue[0]?.code).toBe('no-store');
  expect(body.issue[0]?.diagnostics).toMatch(diagnostics);
}

/**
 * Read-only mode (degraded service while the store is restored): writes refused with 503 and the
 * reason, nothing stored; reads served and audited exactly as by the normal app on the same vault.
 */
describe('read-only mode', () => {
  const REASON = 'serving from backup bk-7 while the store is restored';
  let f: ApiFixture;
  let ro: FastifyInstance;

  beforeAll(async () => {
    f = await apiFixture({ patients: 10 });
    ro = await buildApp(f.vault, { readOnly: { reason: REASON } });
  });
  afterAll(async () => {
    await ro.close();
    await f.close();
  });

  it('refuses every kind of write with 503 naming the reason, and stores nothing', async () => {
    const system = await f.principal('controller-system', ['screening'], { purpose: 'TREAT' });
    const auth = { authorization: `Bearer ${system.token}` };
    const json = { ...auth, 'content-type': 'application/fhir+json' };
    const before = await f.vault.store.listPatientIds('screening', '', 1_000_000);
    const reason = new RegExp(`read-only: ${REASON}`);

    const create = await ro.inject({
      method: 'POST',
      url: '/fhir/Patient',
      headers: json,
      payload: patient('screening', 'pat-ro-1', '111222333'),
    });
    expectNoStore(create, reason);
    const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: patient('screening', 'pat-ro-2', '111222333') }] };
    expectNoStore(await ro.inject({ method: 'POST', url: '/fhir', headers: json, payload: bundle }), reason);
    // Methods no route serves are refused as writes too (a write route added later is covered).
    expectNoStore(
      await ro.inject({ method: 'PUT', url: '/fhir/Patient/pat-ro-1', headers: json, payload: patient('screening', 'pat-ro-1') }),
      reason,
    );
    expectNoStore(await ro.inject({ method: 'DELETE', url: `/fhir/Patient/${before[0] ?? 'x'}`, headers: auth }), reason);
    // An export kick-off stores a job, whichever method.
    const bulk = { ...auth, 'x-purpose-of-use': 'PUBHLTH' };
    expectNoStore(await ro.inject({ url: '/fhir/$export?_type=Patient', headers: bulk }), reason);
    expectNoStore(await ro.inject({ method: 'POST', url: '/fhir/$export?_type=Patient', headers: bulk }), reason);
    // Admin writes.
    const doctor = await f.principal('pathologist', ['screening'], { purpose: 'TREAT' });
    const glass = { tenant: 'hospital-west', justification: 'unconscious patient in the ED', minutes: 10 };
    expectNoStore(
      await ro.inject({ method: 'POST', url: '/admin/break-glass', headers: { authorization: `Bearer ${doctor.token}` }, payload: glass }),
      reason,
    );
    const officer = await f.principal('security-officer', ['*'], { purpose: 'HOPERAT' });
    expectNoStore(
      await ro.inject({ method: 'POST', url: '/admin/exports/x/approve', headers: { authorization: `Bearer ${officer.token}` } }),
      reason,
    );

    expect(await f.vault.store.getPatient('screening', 'pat-ro-1')).toBeNull();
    expect(await f.vault.store.getPatient('screening', 'pat-ro-2')).toBeNull();
    expect(await f.vault.store.listPatientIds('screening', '', 1_000_000)).toEqual(before);
    expect(await f.vault.store.activeBreakGlass(doctor.id, 'hospital-west', new Date().toISOString())).toBeNull();
    // The same create through the normal app on the same vault is accepted: the refusal is the mode's.
    const ok = await f.app.inject({
      method: 'POST',
      url: '/fhir/Patient',
      headers: json,
      payload: patient('screening', 'pat-ro-3', '111222333'),
    });
    expect(ok.statusCode, ok.body.slice(0, 300)).toBe(201);
  });

  it('authenticates before refusing: an unknown caller gets 401, not the read-only notice', async () => {
    const r = await ro.inject({ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'application/fhir+json' }, payload: {} });
    expect(r.statusCode).toBe(401);
    expect(r.body).not.toContain(REASON);
  });

  it('serves reads (GET and POST _search) exactly as the normal app does, audited', async () => {
    const system = await f.principal('controller-system', ['screening'], { purpose: 'TREAT' });
    const auth = { authorization: `Bearer ${system.token}` };
    const id = f.lab.patients.get('screening')?.[0] as string;

    const read = await ro.inject({ url: `/fhir/Patient/${id}`, headers: auth });
    expect(read.statusCode, read.body.slice(0, 300)).toBe(200);
    expect(read.json<{ id: string }>().id).toBe(id);
    const normal = await f.app.inject({ url: `/fhir/Patient/${id}`, headers: auth });
    expect(read.body).toBe(normal.body);

    const form = { ...auth, 'content-type': 'application/x-www-form-urlencoded' };
    const search = await ro.inject({ method: 'POST', url: '/fhir/DiagnosticReport/_search', headers: form, payload: '_count=2' });
    expect(search.statusCode, search.body.slice(0, 300)).toBe(200);
    expect(search.json<{ resourceType: string }>().resourceType).toBe('Bundle');

    const events = await auditEvents(f.vault.store, { principalId: system.id });
    const reads = events.filter((e) => e.action === 'patient.read' && e.outcome === 'allowed' && e.patients.includes(id));
    // One for the read-only app's read, one for the normal app's.
    expect(reads).toHaveLength(2);
    expect(events.some((e) => e.action === 'resource.search' && e.outcome === 'allowed')).toBe(true);
  });

  it('/healthz says read-only, with the reason, and stays 200', async () => {
    const r = await ro.inject({ url: '/healthz' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ status: 'read-only', reason: REASON });
    expect((await f.app.inject({ url: '/healthz' })).json()).toMatchObject({ status: 'ok' });
  });
});

/**
 * The integrity monitor behind the app: once its periodic check has failed (the database file
 * encrypted in place), every FHIR and admin request answers 503, /healthz answers 503 naming the
 * failed check and the newest verified backup, and one critical alert left through the vault's sink.
 */
describe('after the integrity monitor has failed', () => {
  let dir: string;
  let vault: Vault;
  let app: FastifyInstance;
  let monitor: IntegrityMonitor;
  const alerts: Alert[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lv-integrity-api-'));
    const config = loadConfig(
      { dataDir: path.join(dir, 'data'), keyProvider: 'local' },
      { LABVAULT_DETECTION_MODE: 'off', LABVAULT_API_AUTH_FAILURES: '1000000' },
    );
    const sink = { send: async (a: Alert) => void alerts.push(a), close: async () => undefined };
    vault = await openVault(config, { create: true, alertSink: sink });
    await generateSyntheticLab({ patients: 10, seed: 7, outDir: path.join(dir, 'lab') });
    await vault.ingest.ingest(CTX, [path.join(dir, 'lab')], { worker: false });
    monitor = IntegrityMonitor.forVault(vault, {
      alerts: sink,
      confirmMs: 20,
      onError: () => undefined,
      newestBackup: async () => ({ id: 'bk-test-1', path: path.join(dir, 'backups', 'bk-test-1') }),
    });
    app = await buildApp(vault, { integrity: monitor });
  });
  afterAll(async () => {
    await monitor.close();
    await app.close();
    await vault.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('answers 503 to reads, metadata, admin and /healthz, and alerts once', async () => {
    const { token, principal } = await vault.principals.create(CTX, {
      name: 'screening system',
      role: 'controller-system',
      tenants: ['screening'],
      purpose: 'TREAT',
    });
    const auth = { authorization: `Bearer ${token}` };
    const id = (await vault.store.listPatientIds('screening', '', 1))[0] as string;
    expect((await app.inject({ url: `/fhir/Patient/${id}`, headers: auth })).statusCode).toBe(200);
    expect((await app.inject({ url: '/healthz' })).json()).toMatchObject({ status: 'ok' });
    expect((await monitor.fullCheck()).ok).toBe(true);
    monitor.start(50);

    const h = await open(vault.config.database.kind === 'sqlite' ? vault.config.database.file : '', 'r+');
    await h.write(randomBytes(512), 0, 512, 0);
    await h.close();

    let health = await app.inject({ url: '/healthz' });
    for (const deadline = Date.now() + 10_000; health.statusCode === 200 && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 25));
      health = await app.inject({ url: '/healthz' });
    }
    expect(health.statusCode).toBe(503);
    const status = health.json<{ status: string; reason: string; newest_backup: string | null }>();
    expect(status.status).toBe('integrity-failed');
    expect(status.reason).toMatch(/^sqlite\.header: vault\.db does not start with the SQLite header/);
    expect(status.newest_backup).toBe('bk-test-1');
    // Where the backups are is no business of whoever can reach /healthz.
    expect(health.body).not.toContain(dir);

    const failedRead = await app.inject({ url: `/fhir/Patient/${id}`, headers: auth });
    expectNoStore(failedRead, /integrity check \(sqlite\.header/);
    expect(failedRead.body).not.toContain(id);
    expectNoStore(await app.inject({ url: '/fhir/metadata' }), /integrity/);
    expectNoStore(await app.inject({ url: '/fhir/DiagnosticReport?_count=1', headers: auth }), /integrity/);
    expectNoStore(await app.inject({ url: '/admin/containments', headers: auth }), /integrity/);
    // Refused before authentication: no credential is read from a store that failed.
    expectNoStore(await app.inject({ url: `/fhir/Patient/${id}` }), /integrity/);

    const sent = alerts.filter((a) => a.rule === 'integrity.failed');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ severity: 'critical', principal: 'labvault-integrity', tenant: null });
    expect(sent[0]?.summary).toMatch(/sqlite\.header.*bk-test-1/);
    expect(JSON.stringify(sent)).not.toContain(id);
    expect(monitor.failure?.newestBackup?.id).toBe('bk-test-1');
    expect(principal.id).toBeTruthy();
  });
});

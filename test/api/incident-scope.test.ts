import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { compactDecrypt, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/domain/tenant.js';
import { operatorContext } from '../../src/domain/principal.js';
import { apiFixture, type ApiFixture } from '../support/api-fixture.js';

/**
 * Scoping from the audit log, cross-checked against what the thief actually received over the API:
 * the confirmed cohort is exactly the patients in its 2xx answers, per tenant, with the events as
 * evidence; nobody else's reads, no withheld read, no canary counts as a person.
 */
const OP = operatorContext('officer', 'scope-test');

describe('incident scope from the audit log', () => {
  let f: ApiFixture;
  let dir: string;
  const received = new Map<string, Set<string>>();
  let thief: { id: string; token: string };
  let incident: string;

  const get = (token: string, url: string, ip: string, purpose = 'TREAT', tenant?: string) =>
    f.app.inject({
      url,
      headers: { authorization: `Bearer ${token}`, 'x-purpose-of-use': purpose, ...(tenant ? { 'x-tenant': tenant } : {}) },
      remoteAddress: ip,
    });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lv-scope-'));
    const file = path.join(dir, 'detection.json');
    await writeFile(file, JSON.stringify({ roles: { pathologist: { patientsPerMinute: 5, unexplainedPerHour: 1000 } } }));
    f = await apiFixture({ patients: 80, env: { LABVAULT_DETECTION_MODE: 'enforce', LABVAULT_DETECTION_FILE: file } });
    thief = await f.principal('pathologist', ['screening', 'hospital-west']);
    const colleague = await f.principal('pathologist', ['screening']);
    const reads: [string, string][] = [
      ...(f.lab.patients.get('screening') as string[]).slice(0, 3).map((p) => ['screening', p] as [string, string]),
      ...(f.lab.patients.get('hospital-west') as string[]).slice(0, 4).map((p) => ['hospital-west', p] as [string, string]),
    ];
    for (const [tenant, p] of reads) {
      const r = await get(thief.token, `/fhir/Patient/${p}`, '10.30.0.1', 'TREAT', tenant);
      if (r.statusCode === 200) {
        if (!received.has(tenant)) received.set(tenant, new Set());
        received.get(tenant)?.add(r.json<{ id: string }>().id);
      }
    }
    // Someone else's work in the same hours is not the incident.
    for (const p of (f.lab.patients.get('screening') as string[]).slice(10, 13))
      expect((await get(colleague.token, `/fhir/Patient/${p}`, '10.30.0.2')).statusCode).toBe(200);
    incident = (
      await f.vault.incidents.open(OP, {
        title: 'stolen pathologist account',
        types: ['confidentiality'],
        tenants: ['screening', 'hospital-west'],
      })
    ).id;
  });
  afterAll(async () => {
    await f.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('by principal: exactly the patients in the thief’s 2xx answers, per tenant, each traced to its events', async () => {
    // The cap withheld the sixth read: five people reached the thief.
    expect([...received.values()].reduce((n, s) => n + s.size, 0)).toBe(5);
    const s = await f.vault.incidents.scope(OP, incident, { principals: [thief.id] });
    for (const t of s.tenants) {
      expect(t.cohorts.accessedConfirmed).toEqual([...(received.get(t.tenant) ?? [])].sort());
      expect(t.patients[0]).toBe(t.cohorts.accessedConfirmed.length);
      expect(t.categories).toEqual(expect.arrayContaining(['identity', 'national-id']));
      for (const p of t.cohorts.accessedConfirmed) expect(t.evidence[p]?.length).toBeGreaterThan(0);
      // A patient of another tenant never appears in this tenant's list.
      for (const p of t.cohorts.accessedConfirmed) expect(f.lab.patients.get(t.tenant)).toContain(p);
    }
    expect(s.tenants.map((t) => t.tenant)).toEqual([...received.keys()].sort());
    const stored = await f.vault.incidents.get(incident);
    expect(stored.doc.scope).toMatchObject({ events_matched: s.eventsMatched });
    expect(stored.timeline.at(-1)?.action).toBe('scoped');
  });

  it('by origin gives the same people; a window before the reads gives nobody', async () => {
    const byOrigin = await f.vault.incidents.scope(OP, incident, { origins: ['10.30.0.1'] });
    expect(byOrigin.tenants.flatMap((t) => t.cohorts.accessedConfirmed).sort()).toEqual(
      [...received.values()].flatMap((x) => [...x]).sort(),
    );
    const before = await f.vault.incidents.scope(OP, incident, { principals: [thief.id], to: '2000-01-01T00:00:00Z' });
    expect(before.tenants).toEqual([]);
  });

  it('a canary the thief read is counted apart, not as a person', async () => {
    await f.vault.canaries.plantTenant(OP, 'gp-network', 2);
    const canary = (await f.vault.canaries.unsealedSets('gp-network'))[0]?.patients[0]?.id as string;
    const sys = await f.principal('controller-system', ['gp-network'], { purpose: 'TREAT' });
    const real = (f.lab.patients.get('gp-network') as string[])[0] as string;
    expect((await get(sys.token, `/fhir/Patient/${real}`, '10.30.0.3')).statusCode).toBe(200);
    expect((await get(sys.token, `/fhir/Patient/${canary}`, '10.30.0.3')).statusCode).toBe(403);
    const s = await f.vault.incidents.scope(OP, incident, { principals: [sys.id] });
    expect(s.tenants).toMatchObject([{ tenant: 'gp-network', cohorts: { accessedConfirmed: [real] }, canaries: 0 }]);
  });

  it('whole store taken without keys: everyone cannot be excluded, canaries left out, ciphertext only', async () => {
    const s = await f.vault.incidents.scope(OP, incident, { wholeStore: { keysTaken: false }, tenants: ['gp-network'] });
    const t = s.tenants[0];
    const canaries = new Set((await f.vault.canaries.unsealedSets('gp-network')).flatMap((x) => x.patients.map((p) => p.id)));
    expect(t?.cohorts.cannotBeExcluded).toEqual([...(f.lab.patients.get('gp-network') as string[])].filter((p) => !canaries.has(p)).sort());
    expect(t?.patients).toEqual([0, t?.cohorts.cannotBeExcluded.length]);
    expect(s.ciphertextOnly).toBe(true);
    const held = (await f.vault.store.countResources()).filter((c) => c.tenantId === 'gp-network').reduce((n, c) => n + c.count, 0);
    expect(t?.records[1]).toBe(held);
  });

  it('packages the controller’s affected subjects encrypted to its key: only its own patients, nothing readable on disk', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ECDH-ES+A256KW', { extractable: true });
    const screening = (await f.vault.store.listTenants()).find((t) => t.id === 'screening') as Tenant;
    await f.vault.ingest.importTenants(OP, [{ ...screening, publicKeyJwk: { ...(await exportJWK(publicKey)) } }]);
    await f.vault.incidents.scope(OP, incident, { principals: [thief.id] });
    const out = await mkdtemp(path.join(os.tmpdir(), 'lv-pkg-'));
    try {
      const contact = { name: 'Lab security officer', email: 'security@lab.example' };
      const a = await f.vault.notices.controllerPackage(OP, incident, 'screening', out, contact);
      expect(a).toMatchObject({ tenant: 'screening', subjects: received.get('screening')?.size });
      expect((await stat(a.file)).mode & 0o777).toBe(0o600);
      const jwe = await readFile(a.file, 'utf8');
      expect(jwe.split('.')).toHaveLength(5);
      const { plaintext } = await compactDecrypt(jwe, privateKey);
      const body = JSON.parse(new TextDecoder().decode(plaintext)) as {
        summary: { controller: { id: string } };
        subjects: { patient: string; bsn: string; cohort: string }[];
      };
      expect(body.summary.controller.id).toBe('screening');
      expect(body.subjects.map((x) => x.patient).sort()).toEqual([...(received.get('screening') ?? [])].sort());
      for (const subj of body.subjects) {
        const real = await f.vault.reader.patient(OP, 'screening', subj.patient);
        const bsn = (real.identifier as { value: string }[])[0]?.value as string;
        expect(subj).toMatchObject({ cohort: 'accessed-confirmed', bsn });
        // On disk only ciphertext: no BSN, no name in the file.
        expect(jwe).not.toContain(bsn);
        expect(jwe).not.toContain(((real.name as { family: string }[])[0] as { family: string }).family);
      }
      // Another controller's patients never reach this package.
      for (const other of received.get('hospital-west') ?? []) expect(body.subjects.some((x) => x.patient === other)).toBe(false);
      // Never overwritten; a tenant without a key gets no package; the artifact is on the record.
      await expect(f.vault.notices.controllerPackage(OP, incident, 'screening', out, contact)).rejects.toThrow();
      await expect(f.vault.notices.controllerPackage(OP, incident, 'hospital-west', out, contact)).rejects.toThrow(/public key/);
      const stored = await f.vault.incidents.get(incident);
      expect(stored.doc.artifacts).toEqual([
        expect.objectContaining({ kind: 'controller-package', tenant: 'screening', sha256: a.sha256 }),
      ]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('writes STIX 2.1 indicators of the attacker’s addresses and agents that keep the STIX rules', async () => {
    await f.vault.incidents.scope(OP, incident, { principals: [thief.id] });
    const out = await mkdtemp(path.join(os.tmpdir(), 'lv-stix-'));
    try {
      const a = await f.vault.notices.stix(OP, incident, out, 'Regionaal Laboratorium (test)');
      const bundle = JSON.parse(await readFile(a.file, 'utf8')) as { type: string; id: string; objects: Record<string, unknown>[] };
      expect(stixProblems(bundle)).toEqual([]);
      const patterns = bundle.objects.filter((o) => o.type === 'indicator').map((o) => o.pattern);
      expect(patterns).toContain("[ipv4-addr:value = '10.30.0.1']");
      // Only the incident's origins: the colleague's address is not an indicator.
      expect(patterns.some((p) => String(p).includes('10.30.0.2'))).toBe(false);
      // No patient id or identifier in what goes to the CERT.
      const text = JSON.stringify(bundle);
      for (const ids of received.values()) for (const p of ids) expect(text).not.toContain(p);
      // The validator itself catches a broken bundle.
      expect(stixProblems({ ...bundle, objects: [{ ...bundle.objects[1], spec_version: '2.0', id: 'indicator--x' }] })).not.toEqual([]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('drafts the NIS2 reports once the incident is significant: counts and indicators, no patient data', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'lv-nis2-'));
    try {
      await expect(f.vault.notices.nis2(OP, incident, 'early-warning', out, 'Regionaal Laboratorium (test)')).rejects.toThrow(
        /significant/,
      );
      await f.vault.incidents.aware(OP, incident, 'significant');
      await f.vault.incidents.scope(OP, incident, { principals: [thief.id] });
      const ew = await f.vault.notices.nis2(OP, incident, 'early-warning', out, 'Regionaal Laboratorium (test)');
      const draft = JSON.parse(await readFile(ew.file, 'utf8')) as Record<string, unknown>;
      expect(draft).toMatchObject({
        kind: 'early-warning',
        article: 'NIS2 Art. 23(4)(a)',
        incident,
      });
      expect(typeof draft.suspected_malicious).toBe('boolean');
      const n = await f.vault.notices.nis2(OP, incident, 'notification', out, 'Regionaal Laboratorium (test)');
      const note = JSON.parse(await readFile(n.file, 'utf8')) as { fields: { impact: { people_affected: number[] } } };
      expect(note.fields.impact.people_affected).toEqual([5, 5]);
      for (const file of [ew.file, n.file]) {
        const text = await readFile(file, 'utf8');
        for (const ids of received.values()) for (const p of ids) expect(text).not.toContain(p);
      }
      const os2 = await f.vault.incidents.obligations(incident);
      expect(os2.find((o) => o.id === 'nis2-early-warning:csirt')?.state).toBe('drafted');
      expect(os2.find((o) => o.id === 'nis2-notification:csirt')?.state).toBe('drafted');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('reports to the Dutch DPA by the form’s sections from the record, in phases, with counts and no patient', async () => {
    await f.vault.incidents.scope(OP, incident, { principals: [thief.id] });
    await f.vault.incidents.assess(OP, incident, {
      categories: ['identity', 'national-id', 'contact', 'demographics'],
      identifiability: 'full',
      ciphertextWithoutKeys: false,
      confidentiality: 'full',
      integrity: 'none',
      availability: 'none',
      malicious: true,
      subjects: 5,
      vulnerable: false,
    });
    const out = await mkdtemp(path.join(os.tmpdir(), 'lv-ap-'));
    try {
      const reporter = {
        organisation: 'Regionaal Laboratorium (test)',
        contact: { name: 'Security officer', email: 'security@lab.example' },
      };
      const a = await f.vault.notices.authorityReport(OP, incident, out, reporter);
      const r = JSON.parse(await readFile(a.file, 'utf8')) as { form: Record<string, Record<string, unknown>> };
      expect(r.form['1 notification']).toMatchObject({ kind: 'new', version: 1 });
      expect(r.form['6 people']).toMatchObject({ minimum: 5, maximum: 5 });
      expect(r.form['5 personal data']?.kinds).toEqual(expect.arrayContaining(['name', 'BSN (citizen service number)']));
      expect(JSON.stringify(r.form['7 measures beforehand'])).toMatch(/AES-256-GCM/);
      expect(r.form['9 follow-up']).toMatchObject({ subjectsInformed: 'yes: letters to the people affected' });
      const text = await readFile(a.file, 'utf8');
      for (const ids of received.values()) for (const p of ids) expect(text).not.toContain(p);
      // The same form as a readable PDF beside it: private, recorded, every section there, no patient.
      expect(a.pdf).toMatchObject({ kind: 'authority-report-pdf', file: a.file.replace(/\.json$/, '.pdf'), patients: [5, 5] });
      expect((await stat(a.pdf.file)).mode & 0o777).toBe(0o600);
      execFileSync('qpdf', ['--check', a.pdf.file], { stdio: 'pipe' });
      const pdfText = execFileSync('pdftotext', ['-layout', a.pdf.file, '-'], { encoding: 'utf8' });
      for (const key of Object.keys(r.form).filter((k) => k !== 'form')) expect(pdfText).toContain(`[${key}]`);
      expect(pdfText).toContain('Autoriteit Persoonsgegevens — melding datalek');
      expect(pdfText).toMatch(/Aantal betrokkenen, minimaal:\s+5\n/);
      expect(pdfText).toMatch(/nieuwe melding \(versie 1\)/);
      for (const ids of received.values()) for (const p of ids) expect(pdfText).not.toContain(p);
      const kinds = ((await f.vault.incidents.get(incident)).doc.artifacts as { kind: string; file: string }[]).map((x) => [
        x.kind,
        x.file,
      ]);
      expect(kinds).toEqual(
        expect.arrayContaining([
          ['authority-report', a.file],
          ['authority-report-pdf', a.pdf.file],
        ]),
      );
      const second = await f.vault.notices.authorityReport(OP, incident, out, reporter);
      const r2 = JSON.parse(await readFile(second.file, 'utf8')) as { form: Record<string, Record<string, unknown>> };
      expect(r2.form['1 notification']).toMatchObject({ kind: 'follow-up', version: 2 });
      expect(second.pdf.file).toMatch(/\.authority-nl-v2\.pdf$/);
      expect(execFileSync('pdftotext', ['-layout', second.pdf.file, '-'], { encoding: 'utf8' })).toMatch(/vervolgmelding, versie 2/);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('refuses an empty query and people who do not keep the register', async () => {
    await expect(f.vault.incidents.scope(OP, incident, {})).rejects.toThrow(/scope/);
    const tech = { ...OP, principal: { id: 't', role: 'lab-technician' as const, tenants: ['*'] } };
    await expect(f.vault.incidents.scope(tech, incident, { principals: [thief.id] })).rejects.toThrow(/security officer/);
  });
});

/** The STIX 2.1 rules the CERT's tooling relies on: ids, spec_version, timestamps, required properties per type. */
function stixProblems(b: { type: string; id: string; objects: Record<string, unknown>[] }): string[] {
  const problems: string[] = [];
  const uuid4 = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';
  const ts = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
  if (b.type !== 'bundle' || !new RegExp(`^bundle--${uuid4}$`).test(b.id)) problems.push('bundle type/id');
  const required: Record<string, string[]> = {
    identity: ['name'],
    indicator: ['pattern', 'pattern_type', 'valid_from'],
  };
  const ids = new Set(b.objects.map((o) => o.id));
  for (const o of b.objects) {
    const t = String(o.type);
    if (!new RegExp(`^${t}--${uuid4}$`).test(String(o.id))) problems.push(`${t}: id`);
    if (o.spec_version !== '2.1') problems.push(`${t}: spec_version`);
    for (const k of ['created', 'modified']) if (!ts.test(String(o[k]))) problems.push(`${t}: ${k}`);
    for (const k of required[t] ?? ['unknown type']) if (o[k] === undefined) problems.push(`${t}: ${k} missing`);
    if (t === 'indicator') {
      if (!/^\[[a-z0-9-]+:.+ = '.*'\]$/.test(String(o.pattern))) problems.push('indicator: pattern');
      if (o.created_by_ref !== undefined && !ids.has(o.created_by_ref)) problems.push('indicator: created_by_ref dangles');
    }
  }
  return problems;
}

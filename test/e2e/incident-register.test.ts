import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorContext, type AccessContext } from '../../src/domain/principal.js';
import type { SeverityFacts } from '../../src/incidents/severity.js';
import { auditEvents } from '../support/audit-events.js';
import { testTenant } from '../support/fhir-builders.js';
import { tempVault, type TempVault } from '../support/temp-vault.js';

/**
 * The incident register: opened by hand or by a containment, types, awareness per actor (set
 * once), a timeline whose evidence is a verified inclusion proof of an audit event, closing — each
 * change an audit event committed with it.
 */
describe('incident register', () => {
  let t: TempVault;
  const op = operatorContext('officer', 'incident-test');
  const tech: AccessContext = { ...op, principal: { id: 'tech-1', role: 'lab-technician', tenants: ['*'] }, local: false };

  beforeAll(async () => {
    t = await tempVault();
    await t.vault.ingest.importTenants(op, [testTenant('screening'), testTenant('hospital-west')]);
  });
  afterAll(async () => t.cleanup());

  it('opens by hand with types, tenants and the lab’s awareness, and audits it', async () => {
    const i = await t.vault.incidents.open(op, {
      title: 'laptop with an export stolen from a car',
      types: ['confidentiality', 'availability', 'confidentiality'],
      tenants: ['screening'],
      labAwareAt: '2026-11-28T08:15:00+01:00',
    });
    expect(i).toMatchObject({ source: 'manual', status: 'open', types: ['availability', 'confidentiality'], tenants: ['screening'] });
    expect(i.awareness).toEqual({ lab: '2026-11-28T07:15:00.000Z' });
    expect(i.timeline.map((e) => e.action)).toEqual(['opened']);
    const events = await auditEvents(t.vault.store, { principalId: op.principal.id });
    expect(events.some((e) => e.action === 'incident.open' && e.detail.incident === i.id)).toBe(true);
  });

  it('refuses bad input and people who do not keep the register, storing nothing', async () => {
    const before = (await t.vault.incidents.list()).length;
    const base = { title: 'x happened', types: ['integrity'], tenants: ['screening'] };
    await expect(t.vault.incidents.open(op, { ...base, types: ['theft'] })).rejects.toThrow(/types/);
    await expect(t.vault.incidents.open(op, { ...base, tenants: ['nowhere'] })).rejects.toThrow(/tenant/);
    await expect(t.vault.incidents.open(op, { ...base, title: 'lookup of 111222333 leaked' })).rejects.toThrow(/identifier/);
    await expect(t.vault.incidents.open(op, { ...base, labAwareAt: '2999-01-01T00:00:00Z' })).rejects.toThrow(/future/);
    await expect(t.vault.incidents.open(tech, base)).rejects.toThrow(/security officer/);
    expect(await t.vault.incidents.list()).toHaveLength(before);
  });

  it('records each actor’s awareness once, for the incident’s own controllers only', async () => {
    const i = await t.vault.incidents.open(op, { title: 'misdirected results', types: ['confidentiality'], tenants: ['screening'] });
    const a = await t.vault.incidents.aware(op, i.id, 'controller:screening', '2026-11-28T10:00:00Z');
    expect(a.awareness['controller:screening']).toBe('2026-11-28T10:00:00.000Z');
    await expect(t.vault.incidents.aware(op, i.id, 'controller:screening')).rejects.toThrow(/already/);
    await expect(t.vault.incidents.aware(op, i.id, 'controller:hospital-west')).rejects.toThrow(/actor/);
    const s = await t.vault.incidents.aware(op, i.id, 'significant');
    expect(Object.keys(s.awareness).sort()).toEqual(['controller:screening', 'lab', 'significant']);
    expect(s.timeline.map((e) => e.action)).toEqual(['opened', 'aware:controller:screening', 'aware:significant']);
  });

  it('keeps a timeline whose evidence is a verified inclusion proof of an audit event, then closes', async () => {
    const i = await t.vault.incidents.open(op, { title: 'suspicious bulk read', types: ['confidentiality'], tenants: ['hospital-west'] });
    await t.vault.audit.checkpoint();
    const head = (await t.vault.store.auditHead()).size;
    const n = await t.vault.incidents.note(op, i.id, 'contained', 'principal suspended by hand', head - 1);
    const last = n.timeline.at(-1);
    expect(last).toMatchObject({ action: 'contained', by: op.principal.id, note: 'principal suspended by hand' });
    expect(last?.evidence).toMatchObject({ index: head - 1, verified: true });
    expect(last?.evidence?.proof.length).toBeGreaterThanOrEqual(0);
    await expect(t.vault.incidents.note(op, i.id, 'contained', null, head + 1000)).rejects.toThrow();
    const c = await t.vault.incidents.close(op, i.id, 'contained, scoped and notified');
    expect(c.status).toBe('closed');
    await expect(t.vault.incidents.close(op, i.id, 'again')).rejects.toThrow(/closed/);
    expect((await t.vault.incidents.get(i.id)).timeline.map((e) => e.action)).toEqual(['opened', 'contained', 'closed']);
    const actions = (await auditEvents(t.vault.store, { principalId: op.principal.id }))
      .filter((e) => e.detail.incident === i.id)
      .map((e) => e.action);
    expect(actions).toEqual(['incident.open', 'incident.update', 'incident.close']);
  });

  it('reads a containment’s incident as a confidentiality breach the lab knew of when it contained', async () => {
    const at = '2026-11-28T11:00:00.000Z';
    await t.vault.store.insertIncident(
      {
        id: 'inc-from-detection',
        openedAt: at,
        source: 'detection',
        trigger: 'canary.touch',
        principalId: 'p-thief',
        tenants: ['screening'],
        windowStart: at,
        windowEnd: at,
        status: 'open',
        doc: { containment: 'con-1', findings: [] },
      },
      [],
    );
    const i = await t.vault.incidents.get('inc-from-detection');
    expect(i).toMatchObject({ types: ['confidentiality'], awareness: { lab: at }, doc: { containment: 'con-1' } });
    expect(i.timeline[0]).toMatchObject({ action: 'contained', by: 'labvault-detection' });
  });

  it('lists each incident’s obligations from its awareness and records their progress, a late one only with a reason', async () => {
    const i = await t.vault.incidents.open(op, {
      title: 'stolen support credential used',
      types: ['confidentiality'],
      tenants: ['screening', 'hospital-west'],
      labAwareAt: '2026-11-20T09:00:00Z',
    });
    const os = await t.vault.incidents.obligations(i.id);
    const ids = os.map((o) => o.id);
    expect(ids).toEqual(expect.arrayContaining(['gdpr-33-2:controller:hospital-west', 'gdpr-33-2:controller:screening']));
    for (const o of os) expect(o).toMatchObject({ late: true, state: 'pending' });
    const oid = 'gdpr-33-2:controller:screening';
    await expect(t.vault.incidents.recordObligation(op, i.id, oid, { state: 'sent' })).rejects.toThrow(/reason/);
    await expect(t.vault.incidents.recordObligation(op, i.id, 'gdpr-33-1:authority-nl', { state: 'sent' })).rejects.toThrow(
      /no such obligation/,
    );
    const sent = await t.vault.incidents.recordObligation(op, i.id, oid, { state: 'sent', reason: 'register kept by hand until today' });
    expect(sent).toMatchObject({ state: 'sent', late: false, record: { phase: 'initial', reason: 'register kept by hand until today' } });
    expect((await t.vault.incidents.obligations(i.id)).find((o) => o.id === oid)?.state).toBe('sent');
    // Judged significant now: the NIS2 clocks start.
    await t.vault.incidents.aware(op, i.id, 'significant');
    expect((await t.vault.incidents.obligations(i.id)).filter((o) => o.rule.startsWith('nis2')).map((o) => o.rule)).toEqual([
      'nis2-early-warning',
      'nis2-notification',
      'nis2-final',
    ]);
    const events = (await auditEvents(t.vault.store, { principalId: op.principal.id })).filter((e) => e.detail.incident === i.id);
    expect(events.some((e) => e.action === 'incident.update' && e.detail.obligation === oid && e.detail.state === 'sent')).toBe(true);
  });

  it('assesses severity with its reasoning, stores it, and settles the conditional obligations', async () => {
    const i = await t.vault.incidents.open(op, {
      title: 'results read by a stolen account',
      types: ['confidentiality'],
      tenants: ['screening'],
    });
    const a = await t.vault.incidents.assess(op, i.id, {
      categories: ['identity', 'national-id', 'clinical-result'],
      identifiability: 'full',
      ciphertextWithoutKeys: false,
      confidentiality: 'full',
      integrity: 'none',
      availability: 'none',
      malicious: true,
      subjects: 28,
      vulnerable: false,
    });
    expect(a).toMatchObject({ se: 5, band: 'very high', highRisk: true });
    const stored = await t.vault.incidents.get(i.id);
    expect(stored.doc.severity).toMatchObject({ se: 5, band: 'very high', by: op.principal.id });
    expect(stored.timeline.at(-1)).toMatchObject({ action: 'assessed', note: 'very high (SE 5)' });
    await expect(t.vault.incidents.assess(tech, i.id, (stored.doc.severity as { facts: SeverityFacts }).facts)).rejects.toThrow(
      /security officer/,
    );
    const events = (await auditEvents(t.vault.store, { principalId: op.principal.id })).filter((e) => e.detail.incident === i.id);
    expect(events.some((e) => e.action === 'incident.update' && e.detail.band === 'very high')).toBe(true);
  });

  it('the audit log of all of it verifies', async () => {
    await t.vault.audit.checkpoint();
    expect(await t.vault.audit.verify()).toMatchObject({ ok: true });
  });
});

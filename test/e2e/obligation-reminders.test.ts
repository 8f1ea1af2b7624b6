import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/domain/alert.js';
import { operatorContext } from '../../src/domain/principal.js';
import { ObligationReminders } from '../../src/services/obligation-reminders.js';
import { auditEvents } from '../support/audit-events.js';
import { testTenant } from '../support/fhir-builders.js';
import { tempVault, type TempVault } from '../support/temp-vault.js';

/**
 * Deadline reminders: half the window, two hours left, overdue — each once per obligation, sent
 * through the alert sink and recorded (audited) with the incident; nothing for a notice sent.
 */
describe('obligation reminders', () => {
  let t: TempVault;
  let now = Date.parse('2026-03-28T20:00:00Z');
  const clock = { now: () => new Date(now) };
  const alerts: Alert[] = [];
  const sink = {
    send: async (a: Alert) => void alerts.push(a),
    close: async () => undefined,
  };
  const op = operatorContext('officer', 'reminder-test');

  beforeAll(async () => {
    t = await tempVault({ clock });
    // screening: processor, SLA 24 h (testTenant's default) — the controller notice is due 24 h after awareness.
    await t.vault.ingest.importTenants(op, [testTenant('screening')]);
  });
  afterAll(async () => t.cleanup());

  it('reminds at half time, two hours before and when late, once each, and not after sending', async () => {
    const i = await t.vault.incidents.open(op, { title: 'stolen account', types: ['confidentiality'], tenants: ['screening'] });
    const r = new ObligationReminders(t.vault.incidents, sink, clock, () => undefined);
    const o = (await t.vault.incidents.obligations(i.id))[0];
    expect(o?.id).toBe('gdpr-33-2:controller:screening');
    const due = Date.parse(o?.dueAt as string);
    const start = now;
    expect(await r.tick()).toEqual([]);
    now = start + (due - start) / 2 + 1000;
    expect((await r.tick()).map((x) => x.stage)).toEqual(['half']);
    expect(await r.tick()).toEqual([]);
    now = due - 3_600_000;
    expect((await r.tick()).map((x) => x.stage)).toEqual(['2h']);
    now = due + 1000;
    expect((await r.tick()).map((x) => x.stage)).toEqual(['late']);
    expect(await r.tick()).toEqual([]);
    await new Promise((res) => setImmediate(res));
    expect(alerts.map((a) => [a.rule, a.severity, a.incidentId])).toEqual([
      ['obligation.half', 'medium', i.id],
      ['obligation.due-soon', 'high', i.id],
      ['obligation.late', 'critical', i.id],
    ]);
    const recorded = (await auditEvents(t.vault.store, { principalId: 'labvault-incidents' })).map((e) => e.detail.reminder);
    expect(recorded).toEqual(['half', '2h', 'late']);

    // A second incident whose notice is sent in time gets no reminder after sending.
    now = start;
    const j = await t.vault.incidents.open(op, { title: 'misdirected export', types: ['confidentiality'], tenants: ['screening'] });
    await t.vault.incidents.recordObligation(op, j.id, 'gdpr-33-2:controller:screening', { state: 'sent' });
    now = due + 3_600_000;
    expect((await r.tick()).filter((x) => x.incident === j.id)).toEqual([]);
  });
});

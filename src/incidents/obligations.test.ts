import { describe, expect, it } from 'vitest';
import { LabRole, type Tenant } from '../domain/tenant.js';
import { amsterdam, checkRecord, due, planObligations, type PlanInput } from './obligations.js';

const tenant = (id: string, jurisdiction: string, labRole: Tenant['labRole'], sla = 24): Tenant => ({
  id,
  name: id,
  kind: 'hospital',
  jurisdiction,
  labRole,
  breachNoticeSlaHours: sla,
  contact: { name: 'x', email: 'x@example.org' },
  publicKeyJwk: null,
});

const plan = (o: Partial<PlanInput> & { tenants: Tenant[] }) =>
  planObligations({ awareness: {}, records: {}, nis2Entity: true, now: new Date('2026-01-01T00:00:00Z'), ...o });

describe('obligations engine', () => {
  it('processor: the controller within its own contract SLA, across the spring DST change', () => {
    const os = plan({
      tenants: [tenant('screening', 'NL', LabRole.Processor, 12), tenant('hospital-west', 'NL', LabRole.Processor, 24)],
      awareness: { lab: '2026-03-28T20:00:00.000Z' },
    });
    expect(os.map((o) => o.id)).toEqual(['gdpr-33-2:controller:hospital-west', 'gdpr-33-2:controller:screening']);
    const s = os.find((o) => o.tenant === 'screening');
    // 12 continuous hours over the night the clocks go forward: 21:00 CET + 12 h = 10:00 CEST.
    expect(s).toMatchObject({ dueAt: '2026-03-29T08:00:00.000Z', dueLocal: '2026-03-29 10:00 CEST', condition: null, state: 'pending' });
    expect(os.find((o) => o.tenant === 'hospital-west')?.dueAt).toBe('2026-03-29T20:00:00.000Z');
  });

  it('controller: the authority within 72 continuous hours over a weekend and the autumn DST change; subjects without a figure', () => {
    const os = plan({ tenants: [tenant('gp-network', 'NL', LabRole.Controller)], awareness: { lab: '2026-10-23T15:00:00.000Z' } });
    const ap = os.find((o) => o.id === 'gdpr-33-1:authority-nl');
    // Friday 17:00 CEST + 72 h = Monday 16:00 CET (the clocks went back on Sunday).
    expect(ap).toMatchObject({ dueAt: '2026-10-26T15:00:00.000Z', dueLocal: '2026-10-26 16:00 CET', condition: 'risk' });
    expect(os.find((o) => o.id === 'gdpr-34:subjects:gp-network')).toMatchObject({ dueAt: null, condition: 'high-risk' });
    expect(os.some((o) => o.rule === 'gdpr-33-2')).toBe(false);
  });

  it('one authority notice for several controller tenants; none before the lab is aware', () => {
    const ts = [tenant('a', 'NL', LabRole.Controller), tenant('b', 'DE', LabRole.Controller)];
    expect(plan({ tenants: ts }).filter((o) => o.rule === 'gdpr-33-1')).toMatchObject([{ anchorAt: null, dueAt: null }]);
    expect(plan({ tenants: ts, awareness: { lab: '2026-05-01T00:00:00Z' } }).filter((o) => o.recipient === 'authority-nl')).toHaveLength(1);
  });

  it('UK and US tenants get their own regimes', () => {
    const aware = { lab: '2026-06-01T09:00:00.000Z' };
    const ids = (t: Tenant) => plan({ tenants: [t], awareness: aware }).map((o) => `${o.id} ${o.dueAt}`);
    expect(ids(tenant('nhs', 'GB', LabRole.Processor, 48))).toEqual(['uk-gdpr-33-2:controller:nhs 2026-06-03T09:00:00.000Z']);
    expect(ids(tenant('clinic-uk', 'GB', LabRole.Controller))).toEqual(['uk-gdpr-33-1:ico 2026-06-04T09:00:00.000Z']);
    expect(ids(tenant('us-hosp', 'US', LabRole.Processor))).toEqual(['hipaa-164-410:covered-entity:us-hosp 2026-07-31T09:00:00.000Z']);
    expect(ids(tenant('us-lab', 'US', LabRole.Controller))).toEqual([
      'hipaa-164-404:subjects:us-lab 2026-07-31T09:00:00.000Z',
      'hipaa-164-408:hhs 2026-07-31T09:00:00.000Z',
    ]);
    expect(plan({ tenants: [tenant('ch', 'CH', LabRole.Controller)], awareness: aware })).toEqual([]);
  });

  it('NIS2 only once judged significant: 24 h, 72 h, and the final report a month after the notification is sent', () => {
    const ts = [tenant('screening', 'NL', LabRole.Processor)];
    expect(plan({ tenants: ts, awareness: { lab: '2026-01-30T10:00:00Z' } }).some((o) => o.rule.startsWith('nis2'))).toBe(false);
    const awareness = { lab: '2026-01-30T10:00:00Z', significant: '2026-01-30T12:00:00.000Z' };
    const os = plan({ tenants: ts, awareness });
    expect(os.find((o) => o.rule === 'nis2-early-warning')?.dueAt).toBe('2026-01-31T12:00:00.000Z');
    expect(os.find((o) => o.rule === 'nis2-notification')?.dueAt).toBe('2026-02-02T12:00:00.000Z');
    expect(os.find((o) => o.rule === 'nis2-final')).toMatchObject({ anchorAt: null, dueAt: null });
    const sent = plan({
      tenants: ts,
      awareness,
      records: { 'nis2-notification:csirt': { state: 'sent', at: '2026-01-31T09:30:00.000Z', phase: 'initial', reason: null } },
    });
    // A calendar month on from 31 January is the last day of February.
    expect(sent.find((o) => o.rule === 'nis2-final')?.dueAt).toBe('2026-02-28T09:30:00.000Z');
    expect(plan({ tenants: ts, awareness, nis2Entity: false }).some((o) => o.rule.startsWith('nis2'))).toBe(false);
  });

  it('late is derived from the clock; sending late or withdrawing demands a reason', () => {
    const ts = [tenant('screening', 'NL', LabRole.Processor, 12)];
    const o = plan({ tenants: ts, awareness: { lab: '2026-02-02T00:00:00Z' }, now: new Date('2026-02-02T12:00:01Z') })[0];
    expect(o).toMatchObject({ late: true, state: 'pending' });
    if (!o) throw new Error('no obligation');
    expect(() => checkRecord(o, { state: 'sent', at: '2026-02-02T13:00:00.000Z', phase: 'initial', reason: null })).toThrow(/reason/);
    expect(() =>
      checkRecord(o, { state: 'sent', at: '2026-02-02T13:00:00.000Z', phase: 'initial', reason: 'scope took longer' }),
    ).not.toThrow();
    expect(() => checkRecord(o, { state: 'sent', at: '2026-02-02T11:00:00.000Z', phase: 'initial', reason: null })).not.toThrow();
    expect(() => checkRecord(o, { state: 'withdrawn', at: '2026-02-02T11:00:00.000Z', phase: null, reason: null })).toThrow(/reason/);
    const done = plan({
      tenants: ts,
      awareness: { lab: '2026-02-02T00:00:00Z' },
      now: new Date('2026-02-03T00:00:00Z'),
      records: { 'gdpr-33-2:controller:screening': { state: 'sent', at: '2026-02-02T11:00:00.000Z', phase: 'initial', reason: null } },
    })[0];
    expect(done).toMatchObject({ state: 'sent', late: false });
  });

  it('deadline arithmetic and the Amsterdam display', () => {
    expect(due('2024-02-29T10:00:00.000Z', { kind: 'months', months: 12 }, null)).toBe('2025-02-28T10:00:00.000Z');
    expect(due('2026-01-01T00:00:00.000Z', { kind: 'undue-delay' }, null)).toBeNull();
    expect(amsterdam('2026-07-01T10:00:00.000Z')).toBe('2026-07-01 12:00 CEST');
    expect(amsterdam('2026-12-31T23:30:00.000Z')).toBe('2027-01-01 00:30 CET');
  });
});

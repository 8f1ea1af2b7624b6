import { describe, expect, it } from 'vitest';
import { createAlert, validateAlert, type Alert, type AlertFacts } from './alert.js';
import { InvalidInput } from './errors.js';

const at = { id: '3f2a9c1e-5b7d-4e0f-a1b2-c3d4e5f6a7b8', time: new Date('2026-03-01T12:34:56.789Z') };
const facts: AlertFacts = {
  severity: 'high',
  rule: 'cap.patients-per-minute',
  principal: 'lims-west',
  tenant: 'lab-west',
  originIp: '10.1.2.3',
  summary: 'distinct patients per minute above cap',
  counts: { patients: 120, records: 480 },
  containment: 'suspend-principal',
  incidentId: 'inc-7',
};

describe('createAlert', () => {
  it('builds a complete alert with defaults for the optional fields', () => {
    const a = createAlert(facts, at);
    expect(a).toEqual({
      id: at.id,
      time: '2026-03-01T12:34:56.789Z',
      severity: 'high',
      rule: 'cap.patients-per-minute',
      principal: 'lims-west',
      tenant: 'lab-west',
      originIp: '10.1.2.3',
      summary: 'distinct patients per minute above cap',
      counts: { patients: 120, records: 480, bytes: 0, requests: 0 },
      containment: 'suspend-principal',
      incidentId: 'inc-7',
    });
    const minimal = createAlert({ severity: 'low', rule: 'origin.new', principal: 'p1', summary: 'new origin' }, at);
    expect(minimal).toMatchObject({ tenant: null, originIp: null, containment: null, incidentId: null });
    expect(createAlert({ ...facts, originIp: '::ffff:10.0.0.1' }, at).originIp).toBe('::ffff:10.0.0.1');
  });

  it('refuses a summary that carries a BSN, plain or separated', () => {
    for (const summary of ['patient 111222333 read', 'bsn 1112.22.333 seen', 'patient 111 222 333', 'id 11222335']) {
      expect(() => createAlert({ ...facts, summary }, at)).toThrow(InvalidInput);
    }
    // The refusal never quotes the value.
    expect(() => createAlert({ ...facts, summary: 'patient 111222333' }, at)).toThrow(/^alert: a field looks like a BSN$/);
    // Digits that fail the 11-proof are counts, not identifiers.
    expect(createAlert({ ...facts, summary: 'read 123456789 bytes' }, at).summary).toBe('read 123456789 bytes');
  });

  it('refuses BSN-like principal, incident or alert ids', () => {
    expect(() => createAlert({ ...facts, principal: 'p-111222333' }, at)).toThrow(InvalidInput);
    expect(() => createAlert({ ...facts, incidentId: 'inc-111222333' }, at)).toThrow(InvalidInput);
    expect(() => createAlert(facts, { ...at, id: '111222333' })).toThrow(InvalidInput);
  });

  it('refuses bad shapes', () => {
    const bad: Partial<AlertFacts>[] = [
      { summary: '' },
      { summary: 'x'.repeat(201) },
      { summary: 'two\nlines' },
      { summary: 'bidi\u2028sep' },
      { rule: 'Has Spaces' },
      { rule: 'a|b' },
      { principal: '' },
      { principal: 'with space' },
      { tenant: 'Not A Tenant!' },
      { originIp: 'evil.example' },
      { originIp: '1.2.3.4 extra' },
      { counts: { patients: -1 } },
      { counts: { patients: 1.5 } },
      { counts: { bytes: Number.POSITIVE_INFINITY } },
      { severity: 'urgent' as never },
      { containment: 'shutdown' as never },
      { incidentId: 'bad id' },
    ];
    for (const b of bad) expect(() => createAlert({ ...facts, ...b }, at), JSON.stringify(b)).toThrow(InvalidInput);
    expect(() => createAlert(facts, { ...at, id: 'has space' })).toThrow(InvalidInput);
    expect(() => createAlert(facts, { ...at, time: new Date(Number.NaN) })).toThrow();
  });

  it('validateAlert catches a hand-built alert with a bad time or extra count', () => {
    const a = createAlert(facts, at);
    expect(() => validateAlert({ ...a, time: '2026-03-01 12:34' })).toThrow(InvalidInput);
    expect(() => validateAlert({ ...a, counts: { ...a.counts, extra: 1 } } as Alert)).toThrow(InvalidInput);
  });
});

import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../domain/audit-event.js';
import { Prng } from '../synth/prng.js';
import { GENESIS_PREV, encodeEvent } from './event-codec.js';
import { RawEventFilter, eventField } from './raw-event-filter.js';

/**
 * The raw filter may let anything through, but must never reject the bytes of an event whose
 * fields have the values it looks for: that would drop a patient from an incident's scope. Values
 * with quotes, backslashes, non-ASCII and lookalikes (an address that is a prefix of another).
 */
const TRICKY = ['203.0.113.6', '203.0.113.66', 'a"b', 'back\\slash', 'ünï', '😀x', '"ip":"203.0.113.66"', '', 'x:y'];

function event(p: Prng, time: string): AuditEvent {
  return {
    time,
    action: p.pick(['patient.read', 'resource.read', 'audit.read'] as const),
    outcome: p.pick(['allowed', 'denied'] as const),
    principal: { id: p.pick(TRICKY), role: 'pathologist', tenants: [p.pick(TRICKY)] },
    tenant: p.chance(0.2) ? null : p.pick(TRICKY),
    patients: [p.pick(TRICKY)],
    categories: ['identity'],
    records: 1,
    bytes: 10,
    purpose: p.pick(['TREAT', null]),
    origin: { ip: p.chance(0.2) ? null : p.pick(TRICKY), userAgent: p.pick(TRICKY), requestId: null },
    reason: null,
    detail: p.chance(0.5) ? { export: p.pick(TRICKY), ip: p.pick(TRICKY) } : {},
  };
}

describe('RawEventFilter', () => {
  it('never rejects an event whose fields hold the values it looks for', () => {
    const p = new Prng(5);
    for (let k = 0; k < 5000; k++) {
      const time = new Date(Date.UTC(2025, 0, 1) + p.int(1e10)).toISOString();
      const e = event(p, time);
      const bytes = encodeEvent(k, GENESIS_PREV, e);
      const groups = [[eventField.outcome(e.outcome)], [eventField.action(e.action)], [eventField.principal(e.principal.id)]];
      if (e.tenant !== null) groups.push([eventField.tenant(p.pick(TRICKY)), eventField.tenant(e.tenant)]);
      if (e.origin.ip !== null) groups.push([eventField.ip(e.origin.ip)]);
      if (e.detail.export !== undefined) groups.push([eventField.detailKey('export')]);
      const window = { from: time, to: new Date(Date.parse(time) + 1).toISOString() };
      expect(new RawEventFilter(groups, groups.at(-1) ?? null, window).mayMatch(bytes), bytes.toString()).toBe(true);
    }
  });

  it('rejects what cannot match: another address with the same prefix, another outcome, outside the window', () => {
    const p = new Prng(6);
    const e = {
      ...event(p, '2025-03-09T02:30:00.000Z'),
      outcome: 'allowed' as const,
      origin: { ip: '203.0.113.6', userAgent: null, requestId: null },
      detail: {},
    };
    const bytes = encodeEvent(1, GENESIS_PREV, e);
    const only = (groups: Buffer[][], window = {}) => new RawEventFilter(groups, null, window).mayMatch(bytes);
    expect(only([[eventField.ip('203.0.113.66')]])).toBe(false);
    expect(only([[eventField.ip('203.0.113.6')]])).toBe(true);
    expect(only([[eventField.outcome('denied')]])).toBe(false);
    expect(only([[]])).toBe(false);
    expect(only([], { from: '2025-03-09T02:30:00.001Z' })).toBe(false);
    expect(only([], { to: '2025-03-09T02:30:00.000Z' })).toBe(false);
    expect(only([], { from: '2025-03-09T02:30:00.000Z', to: '2025-03-09T02:30:00.001Z' })).toBe(true);
  });
});

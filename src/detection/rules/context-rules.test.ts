import { describe, expect, it } from 'vitest';
import type { Observation } from '../../domain/detection.js';
import { Roles, type Role } from '../../domain/principal.js';
import { DEFAULT_DETECTION, type DetectionConfig } from '../detection-config.js';
import { PrincipalActivity } from '../principal-activity.js';
import { newOrigin, offHours, unexplainedAccess } from './context-rules.js';
import type { RuleContext } from './rule-context.js';
import { observation } from '../../../test/support/observation.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Wednesday 2025-03-12 10:00 Europe/Amsterdam. */
const T0 = Date.parse('2025-03-12T09:00:00Z');

const patients = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

const obs = (role: Role, at: number, over: Partial<Observation> = {}): Observation =>
  observation(role, at, { patients: ['p-1'], records: 1, bytes: 2000, ...over });

function ctx(o: Observation, extra: Partial<RuleContext> = {}, config: DetectionConfig = DEFAULT_DETECTION): RuleContext {
  return {
    obs: o,
    activity: new PrincipalActivity(o.principal.id),
    limits: config.roles[o.principal.role],
    config,
    canaries: 0,
    unexplained: [],
    newOrigin: false,
    localHour: 10,
    weekend: false,
    hourOfWeek: 58,
    ...extra,
  };
}

describe('unexplained access', () => {
  /** A pathologist who read `n` unexplained patients over the half hour before T0 + 30 min. */
  const earlier = (n: number): PrincipalActivity => {
    const a = new PrincipalActivity('u-pathologist');
    for (let i = 0; i < n; i++) {
      const o = obs('pathologist', T0 + i * 1000, { patients: [`u-${i}`] });
      a.commit(o, o.patients, 256);
    }
    return a;
  };
  const read = (ids: string[], at = T0 + 30 * MINUTE): Observation => obs('pathologist', at, { patients: ids });

  it('alerts on the first unexplained patient', () => {
    expect(unexplainedAccess(ctx(read(['x', 'y']), { unexplained: ['x'] }))).toEqual({
      rule: 'unexplained.first',
      severity: 'alert',
      summary: expect.any(String) as string,
      measured: 1,
      threshold: 0,
      freezeExports: false,
      approvalsRequired: 1,
    });
  });

  it('is silent on explained reads', () => {
    expect(unexplainedAccess(ctx(read(['x', 'y']), { unexplained: [] }))).toBeNull();
  });

  it('does not alert again for further unexplained patients within the hour, up to the cap', () => {
    const a = earlier(1);
    expect(unexplainedAccess(ctx(read(['z']), { activity: a, unexplained: ['z'] }))).toBeNull();
    const b = earlier(24);
    expect(unexplainedAccess(ctx(read(['z']), { activity: b, unexplained: ['z'] }))).toBeNull();
  });

  it('contains at cap + 1 unexplained patients in an hour', () => {
    expect(unexplainedAccess(ctx(read(['z']), { activity: earlier(25), unexplained: ['z'] }))).toMatchObject({
      rule: 'unexplained.access',
      severity: 'contain',
      measured: 26,
      threshold: 25,
    });
  });

  it('contains a single read of more unexplained patients than the hourly cap', () => {
    const ids = patients('u', 26);
    expect(unexplainedAccess(ctx(read(ids), { unexplained: ids }))?.severity).toBe('contain');
  });

  it('does not count a patient read again', () => {
    expect(unexplainedAccess(ctx(read(['u-3']), { activity: earlier(25), unexplained: ['u-3'] }))).toBeNull();
  });

  it('alerts again for the first unexplained patient of a new hour', () => {
    const f = unexplainedAccess(ctx(read(['z'], T0 + 30_000 + HOUR), { activity: earlier(25), unexplained: ['z'] }));
    expect(f?.rule).toBe('unexplained.first');
  });

  it('does not apply to export pages', () => {
    const o = obs('controller-system', T0, { kind: 'export', exportId: 'e', patients: patients('p', 100) });
    expect(unexplainedAccess(ctx(o, { unexplained: o.patients }))).toBeNull();
  });
});

describe('new origin', () => {
  it('alerts when the principal acts from an origin it never used', () => {
    expect(newOrigin(ctx(obs('pathologist', T0), { newOrigin: true }))).toMatchObject({
      rule: 'origin.new',
      severity: 'alert',
      measured: null,
      threshold: null,
    });
  });

  it('is silent for a known origin', () => {
    expect(newOrigin(ctx(obs('pathologist', T0), { newOrigin: false }))).toBeNull();
  });
});

describe('off hours', () => {
  const humans = Roles.filter((r) => r !== 'controller-system');

  it.each(humans)('%s: alerts outside 07:00–19:00', (role) => {
    for (const hour of [0, 3, 6, 19, 20, 23]) {
      expect(offHours(ctx(obs(role, T0), { localHour: hour }))).toMatchObject({ rule: 'time.off-hours', severity: 'alert' });
    }
  });

  it.each(humans)('%s: silent on weekdays from 07:00 up to 19:00', (role) => {
    for (let hour = 7; hour < 19; hour++) expect(offHours(ctx(obs(role, T0), { localHour: hour }))).toBeNull();
  });

  it('alerts at weekends, even in office hours', () => {
    expect(offHours(ctx(obs('pathologist', T0), { localHour: 11, weekend: true }))?.rule).toBe('time.off-hours');
  });

  it('does not treat weekends as off hours when configured not to', () => {
    const config = { ...DEFAULT_DETECTION, offHours: { ...DEFAULT_DETECTION.offHours, weekends: false } };
    expect(offHours(ctx(obs('pathologist', T0), { localHour: 11, weekend: true }, config))).toBeNull();
    expect(offHours(ctx(obs('pathologist', T0), { localHour: 22, weekend: true }, config))?.rule).toBe('time.off-hours');
  });

  it('never alerts for the controller’s system', () => {
    for (const [hour, weekend] of [
      [2, false],
      [23, true],
      [11, true],
    ] as const) {
      expect(offHours(ctx(obs('controller-system', T0, { patients: patients('p', 20) }), { localHour: hour, weekend }))).toBeNull();
    }
  });

  it('never alerts when no patients are released', () => {
    expect(offHours(ctx(obs('pathologist', T0, { patients: [], miss: true }), { localHour: 3, weekend: true }))).toBeNull();
  });
});

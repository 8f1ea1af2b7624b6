import { describe, expect, it } from 'vitest';
import type { Observation } from '../../domain/detection.js';
import type { Role } from '../../domain/principal.js';
import { DEFAULT_DETECTION, type DetectionConfig } from '../detection-config.js';
import { PrincipalActivity } from '../principal-activity.js';
import { bytesPerHour, exportSize, patientsPerDay, patientsPerHour, patientsPerMinute } from './cap-rules.js';
import type { DetectionRule, RuleContext } from './rule-context.js';
import { observation } from '../../../test/support/observation.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const MIB = 1024 * 1024;
/** Wednesday 2025-03-12 10:00 Europe/Amsterdam. */
const T0 = Date.parse('2025-03-12T09:00:00Z');

const patients = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

const obs = (role: Role, at: number, over: Partial<Observation> = {}): Observation =>
  observation(role, at, { action: 'patient.search', kind: 'search', ...over });

function ctx(o: Observation, activity: PrincipalActivity, config: DetectionConfig = DEFAULT_DETECTION): RuleContext {
  return {
    obs: o,
    activity,
    limits: config.roles[o.principal.role],
    config,
    canaries: 0,
    unexplained: [],
    newOrigin: false,
    localHour: 10,
    weekend: false,
    hourOfWeek: 58,
  };
}

/** An activity that was given `ids` in reads spread evenly over [from, to). */
function given(role: Role, ids: string[], from: number, to: number, perRead = 1): PrincipalActivity {
  const a = new PrincipalActivity(`u-${role}`);
  const reads = Math.ceil(ids.length / perRead);
  for (let i = 0; i < reads; i++) {
    const at = from + Math.floor(((to - from) * i) / reads);
    a.commit(obs(role, at, { patients: ids.slice(i * perRead, (i + 1) * perRead) }), [], 256);
  }
  return a;
}

describe.each<[string, DetectionRule, number, number]>([
  // rule, function, window, pathologist cap
  ['cap.patients-per-minute', patientsPerMinute, MINUTE, 60],
  ['cap.patients-per-hour', patientsPerHour, HOUR, 400],
  ['cap.patients-per-day', patientsPerDay, 24 * HOUR, 2000],
])('%s', (name, rule, window, cap) => {
  const start = T0;
  const now = T0 + window / 2;
  const earlier = () => given('pathologist', patients('old', cap - 1), start, start + window / 4, 10);

  it('allows a read that brings the count to exactly the cap', () => {
    expect(rule(ctx(obs('pathologist', now, { patients: ['new-1'] }), earlier()))).toBeNull();
  });

  it('contains a read that would bring it to cap + 1', () => {
    expect(rule(ctx(obs('pathologist', now, { patients: ['new-1', 'new-2'] }), earlier()))).toEqual({
      rule: name,
      severity: 'contain',
      summary: expect.any(String) as string,
      measured: cap + 1,
      threshold: cap,
      freezeExports: false,
      approvalsRequired: 1,
    });
  });

  it('does not count patients already given within the window again', () => {
    const f = rule(ctx(obs('pathologist', now, { patients: [...patients('old', cap - 1), 'new-1'] }), earlier()));
    expect(f).toBeNull();
  });

  it('fires on a single response larger than the cap', () => {
    const f = rule(ctx(obs('pathologist', now, { patients: patients('p', cap + 1) }), new PrincipalActivity('u-pathologist')));
    expect(f?.measured).toBe(cap + 1);
  });

  it('slides: patients given a full window ago no longer count', () => {
    const a = given('pathologist', patients('old', cap), start, start + 1);
    expect(rule(ctx(obs('pathologist', start + window - 1, { patients: ['new-1'] }), a))?.rule).toBe(name);
    expect(rule(ctx(obs('pathologist', start + window + 1, { patients: ['new-1'] }), a))).toBeNull();
  });

  it('does not apply to export pages', () => {
    const f = rule(ctx(obs('pathologist', now, { kind: 'export', exportId: 'exp-1', patients: patients('p', cap + 10) }), earlier()));
    expect(f).toBeNull();
  });

  it('uses the role’s own cap', () => {
    const ctrl = DEFAULT_DETECTION.roles['controller-system'];
    const ctrlCap = name.endsWith('minute') ? ctrl.patientsPerMinute : name.endsWith('hour') ? ctrl.patientsPerHour : ctrl.patientsPerDay;
    expect(rule(ctx(obs('controller-system', now, { patients: patients('p', cap + 1) }), new PrincipalActivity('c')))).toBeNull();
    expect(rule(ctx(obs('controller-system', now, { patients: patients('p', ctrlCap + 1) }), new PrincipalActivity('c')))?.threshold).toBe(
      ctrlCap,
    );
  });
});

describe('cap.patients-per-minute', () => {
  it('cannot be doubled by straddling a minute boundary', () => {
    // 60 patients in the last second of one calendar minute, then more in the first of the next.
    const a = given('pathologist', patients('old', 60), T0 + 59 * SECOND, T0 + 59 * SECOND + 1);
    const f = patientsPerMinute(ctx(obs('pathologist', T0 + 61 * SECOND, { patients: ['new-1'] }), a));
    expect(f?.measured).toBe(61);
  });
});

describe('cap.bytes-per-hour', () => {
  const cap = DEFAULT_DETECTION.roles.pathologist.bytesPerHour;
  const earlier = (): PrincipalActivity => {
    const a = new PrincipalActivity('u-pathologist');
    a.commit(obs('pathologist', T0, { patients: ['p-1'], bytes: cap - 100 }), [], 256);
    return a;
  };

  it('is 50 MiB for people', () => {
    expect(cap).toBe(50 * MIB);
  });

  it('allows a response that brings the hour to exactly the cap', () => {
    expect(bytesPerHour(ctx(obs('pathologist', T0 + MINUTE, { patients: ['p-2'], bytes: 100 }), earlier()))).toBeNull();
  });

  it('contains a response one byte over', () => {
    const f = bytesPerHour(ctx(obs('pathologist', T0 + MINUTE, { patients: ['p-2'], bytes: 101 }), earlier()));
    expect(f).toMatchObject({ rule: 'cap.bytes-per-hour', severity: 'contain', measured: cap + 1, threshold: cap });
  });

  it('forgets bytes released an hour ago', () => {
    expect(bytesPerHour(ctx(obs('pathologist', T0 + HOUR, { patients: ['p-2'], bytes: 101 }), earlier()))).toBeNull();
  });

  it('does not apply to export pages', () => {
    expect(bytesPerHour(ctx(obs('pathologist', T0 + MINUTE, { kind: 'export', exportId: 'e', bytes: cap }), earlier()))).toBeNull();
  });
});

describe('cap.export-size', () => {
  const config: DetectionConfig = {
    ...DEFAULT_DETECTION,
    roles: { ...DEFAULT_DETECTION.roles, 'controller-system': { ...DEFAULT_DETECTION.roles['controller-system'], exportPatients: 100 } },
  };
  const page = (exportId: string | null, ids: string[], kind: Observation['kind'] = 'export'): Observation =>
    obs('controller-system', T0 + MINUTE, { kind, exportId, patients: ids, records: ids.length, bytes: 1000 * ids.length });
  const earlier = (): PrincipalActivity => {
    const a = new PrincipalActivity('u-controller-system');
    a.commit(page('exp-1', patients('a', 60)), [], 256);
    return a;
  };

  it('allows an export job up to exactly its cap, counting distinct patients across pages', () => {
    expect(exportSize(ctx(page('exp-1', patients('b', 40)), earlier(), config))).toBeNull();
    expect(exportSize(ctx(page('exp-1', [...patients('a', 60), ...patients('b', 40)]), earlier(), config))).toBeNull();
  });

  it('contains and freezes exports when a job would release cap + 1 patients', () => {
    expect(exportSize(ctx(page('exp-1', patients('b', 41)), earlier(), config))).toEqual({
      rule: 'cap.export-size',
      severity: 'contain',
      summary: expect.any(String) as string,
      measured: 101,
      threshold: 100,
      freezeExports: true,
      approvalsRequired: 1,
    });
  });

  it('counts each export job separately', () => {
    expect(exportSize(ctx(page('exp-2', patients('b', 100)), earlier(), config))).toBeNull();
  });

  it('fires only for export pages that name their job', () => {
    expect(exportSize(ctx(page(null, patients('b', 500)), earlier(), config))).toBeNull();
    expect(exportSize(ctx(page('exp-1', patients('b', 500), 'search'), earlier(), config))).toBeNull();
  });

  it('any exported patient is too many for a role that may not export', () => {
    const o = obs('pathologist', T0, { kind: 'export', exportId: 'exp-9', patients: ['p-1'] });
    expect(exportSize(ctx(o, new PrincipalActivity('u-pathologist')))).toMatchObject({ measured: 1, threshold: 0 });
  });

  it('the default controller-system export cap is far above a tenant', () => {
    const o = obs('controller-system', T0, { kind: 'export', exportId: 'exp-9', patients: patients('p', 50_000) });
    expect(exportSize(ctx(o, new PrincipalActivity('c')))).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import type { Observation } from '../../domain/detection.js';
import type { Role } from '../../domain/principal.js';
import { IdMinter } from '../../synth/id-minter.js';
import { Prng } from '../../synth/prng.js';
import { DEFAULT_DETECTION } from '../detection-config.js';
import { PrincipalActivity } from '../principal-activity.js';
import { broadSearches, missesPerMinute, patientsPerRequest, sequentialIds } from './enumeration-rules.js';
import type { RuleContext } from './rule-context.js';
import { observation } from '../../../test/support/observation.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const GAP = DEFAULT_DETECTION.enumeration.sequentialGap;
/** Wednesday 2025-03-12 10:00 Europe/Amsterdam. */
const T0 = Date.parse('2025-03-12T09:00:00Z');

const patients = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const hexId = (n: number): string => {
  const h = n.toString(16).padStart(16, '0');
  return `pat-${h.slice(0, 4)}-${h.slice(4, 8)}-${h.slice(8, 12)}-${h.slice(12)}`;
};

const obs = (role: Role, at: number, over: Partial<Observation> = {}): Observation => observation(role, at, over);

function ctx(o: Observation, activity: PrincipalActivity = new PrincipalActivity(o.principal.id)): RuleContext {
  return {
    obs: o,
    activity,
    limits: DEFAULT_DETECTION.roles[o.principal.role],
    config: DEFAULT_DETECTION,
    canaries: 0,
    unexplained: [],
    newOrigin: false,
    localHour: 10,
    weekend: false,
    hourOfWeek: 58,
  };
}

describe('enumeration.patients-per-request', () => {
  it.each<[Role, number]>([
    ['pathologist', 50],
    ['lab-technician', 50],
    ['support', 10],
    ['controller-system', 100],
    ['auditor', 5],
  ])('%s: a response of exactly %i patients passes, one more contains', (role, cap) => {
    expect(patientsPerRequest(ctx(obs(role, T0, { kind: 'search', patients: patients('p', cap) })))).toBeNull();
    expect(patientsPerRequest(ctx(obs(role, T0, { kind: 'search', patients: patients('p', cap + 1) })))).toEqual({
      rule: 'enumeration.patients-per-request',
      severity: 'contain',
      summary: expect.any(String) as string,
      measured: cap + 1,
      threshold: cap,
      freezeExports: false,
      approvalsRequired: 1,
    });
  });

  it('does not apply to export pages', () => {
    expect(
      patientsPerRequest(ctx(obs('controller-system', T0, { kind: 'export', exportId: 'e', patients: patients('p', 5000) }))),
    ).toBeNull();
  });
});

describe('enumeration.sequential-ids', () => {
  /** Reads ids in order, committing each, and returns the findings. */
  function walk(ids: string[], a = new PrincipalActivity('u-pathologist')): (string | null)[] {
    return ids.map((id, i) => {
      const o = obs('pathologist', T0 + i * SECOND, { requestedId: id, patients: [`p-${i}`] });
      const f = sequentialIds(ctx(o, a));
      a.commit(o, [], GAP);
      return f ? `${f.rule}:${f.severity}:${f.measured}/${f.threshold}` : null;
    });
  }

  it('contains the read that makes a run of eight neighbouring ids', () => {
    const out = walk(Array.from({ length: 9 }, (_, i) => hexId(0x41 + i)));
    expect(out.slice(0, 7)).toEqual(Array(7).fill(null));
    expect(out[7]).toBe('enumeration.sequential-ids:contain:8/8');
  });

  it('also catches a walk with strides up to the gap, in either direction', () => {
    const out = walk(Array.from({ length: 8 }, (_, i) => hexId(0x100000 - i * 200)));
    expect(out[7]).toBe('enumeration.sequential-ids:contain:8/8');
  });

  it('is silent when one id is read again and again (a refreshed page)', () => {
    const out = walk(Array.from({ length: 20 }, () => hexId(0x41)));
    expect(out.every((f) => f === null)).toBe(true);
  });

  it('is silent when strides exceed the gap', () => {
    const out = walk(Array.from({ length: 20 }, (_, i) => hexId(0x41 + i * (GAP + 1))));
    expect(out.every((f) => f === null)).toBe(true);
  });

  it('is silent on reads of the synthetic lab’s real-looking ids', () => {
    const minter = new IdMinter(new Prng(7));
    const out = walk(Array.from({ length: 500 }, () => minter.next('pat-')));
    expect(out.every((f) => f === null)).toBe(true);
  });

  it('ignores reads without a requested id', () => {
    const a = new PrincipalActivity('u-pathologist');
    walk(
      Array.from({ length: 10 }, (_, i) => hexId(0x41 + i)),
      a,
    );
    expect(sequentialIds(ctx(obs('pathologist', T0, { kind: 'search', patients: ['x'] }), a))).toBeNull();
  });
});

describe('enumeration.misses', () => {
  const misses = (n: number, from: number): PrincipalActivity => {
    const a = new PrincipalActivity('u-pathologist');
    for (let i = 0; i < n; i++) a.commit(obs('pathologist', from + i * 100, { miss: true }), [], GAP);
    return a;
  };
  const miss = (at: number): Observation => obs('pathologist', at, { miss: true, action: 'patient.search', kind: 'identifier-search' });

  it('allows the miss that makes exactly 20 in a minute', () => {
    expect(missesPerMinute(ctx(miss(T0 + 30 * SECOND), misses(19, T0)))).toBeNull();
  });

  it('contains the 21st miss in a minute', () => {
    expect(missesPerMinute(ctx(miss(T0 + 30 * SECOND), misses(20, T0)))).toMatchObject({
      rule: 'enumeration.misses',
      severity: 'contain',
      measured: 21,
      threshold: 20,
    });
  });

  it('forgets misses a minute old', () => {
    expect(missesPerMinute(ctx(miss(T0 + 2000 + MINUTE), misses(20, T0)))).toBeNull();
  });

  it('only judges misses', () => {
    expect(missesPerMinute(ctx(obs('pathologist', T0 + SECOND, { patients: ['p'] }), misses(100, T0)))).toBeNull();
  });

  it('allows a system more misses than a person', () => {
    const a = new PrincipalActivity('c');
    for (let i = 0; i < 59; i++) a.commit(obs('controller-system', T0 + i, { miss: true }), [], GAP);
    expect(missesPerMinute(ctx(obs('controller-system', T0 + SECOND, { miss: true }), a))).toBeNull();
  });
});

describe('enumeration.broad-searches', () => {
  const broad = (at: number): Observation =>
    obs('pathologist', at, { kind: 'search', action: 'patient.search', broad: true, patients: ['p'] });
  const earlier = (n: number): PrincipalActivity => {
    const a = new PrincipalActivity('u-pathologist');
    for (let i = 0; i < n; i++) a.commit(broad(T0 + i * MINUTE), [], GAP);
    return a;
  };

  it('allows the 20th broad search in an hour', () => {
    expect(broadSearches(ctx(broad(T0 + 30 * MINUTE), earlier(19)))).toBeNull();
  });

  it('contains the 21st', () => {
    expect(broadSearches(ctx(broad(T0 + 30 * MINUTE), earlier(20)))).toMatchObject({
      rule: 'enumeration.broad-searches',
      severity: 'contain',
      measured: 21,
      threshold: 20,
    });
  });

  it('forgets broad searches an hour old', () => {
    expect(broadSearches(ctx(broad(T0 + HOUR), earlier(20)))).toBeNull();
  });

  it('only judges broad searches', () => {
    expect(broadSearches(ctx(obs('pathologist', T0 + 30 * MINUTE, { kind: 'search', patients: ['p'] }), earlier(50)))).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import type { Observation } from '../../domain/detection.js';
import { DEFAULT_DETECTION } from '../detection-config.js';
import type { Ewma } from '../ewma.js';
import { PrincipalActivity } from '../principal-activity.js';
import { baselineRule } from './baseline-rule.js';
import type { RuleContext } from './rule-context.js';
import { observation } from '../../../test/support/observation.js';

/** Wednesday 2025-03-12 10:00 Europe/Amsterdam. */
const T0 = Date.parse('2025-03-12T09:00:00Z');
const HOW = 58;
const patients = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

const obs = (ids: string[], over: Partial<Observation> = {}): Observation =>
  observation('pathologist', T0 + 60_000, {
    principal: { id: 'u-1', role: 'pathologist', tenants: ['screening'] },
    action: 'patient.search',
    kind: 'search',
    patients: ids,
    records: ids.length,
    bytes: 1000 * ids.length,
    ...over,
  });

/** An activity with a learned baseline for HOW and `inWindow` patients already in the current window. */
function activity(baseline: Ewma | null, inWindow: string[] = [], at = HOW): PrincipalActivity {
  const a = new PrincipalActivity('u-1');
  if (baseline) a.baselines.set(at, baseline);
  a.roll(T0, 300_000, 0.1, () => HOW);
  if (inWindow.length > 0) a.commit(obs(inWindow, { at: T0 }), [], 256);
  return a;
}

function ctx(o: Observation, a: PrincipalActivity): RuleContext {
  return {
    obs: o,
    activity: a,
    limits: DEFAULT_DETECTION.roles.pathologist,
    config: DEFAULT_DETECTION,
    canaries: 0,
    unexplained: [],
    newOrigin: false,
    localHour: 10,
    weekend: false,
    hourOfWeek: HOW,
  };
}

// Defaults: k = 4, containFactor = 2, minSamples = 8, pathologist floor 15.
const LEARNED: Ewma = { mean: 10, variance: 4, samples: 8 }; // threshold 10 + 4·2 = 18

describe('baselineRule', () => {
  it('gives no verdict before the baseline has minSamples windows', () => {
    const a = activity({ ...LEARNED, samples: 7 });
    expect(baselineRule(ctx(obs(patients('p', 200)), a))).toBeNull();
  });

  it('gives no verdict without a baseline for this hour of the week', () => {
    expect(baselineRule(ctx(obs(patients('p', 200)), activity(null)))).toBeNull();
    expect(baselineRule(ctx(obs(patients('p', 200)), activity(LEARNED, [], HOW + 1)))).toBeNull();
  });

  it('is silent up to the threshold', () => {
    expect(baselineRule(ctx(obs(patients('p', 18)), activity(LEARNED)))).toBeNull();
    expect(baselineRule(ctx(obs(patients('p', 8)), activity(LEARNED, patients('p', 10).concat(patients('q', 10)))))).toBeNull();
  });

  it('alerts above mean + kσ', () => {
    expect(baselineRule(ctx(obs(patients('p', 19)), activity(LEARNED)))).toEqual({
      rule: 'baseline.unusual',
      severity: 'alert',
      summary: expect.any(String) as string,
      measured: 19,
      threshold: 18,
      freezeExports: false,
      approvalsRequired: 1,
    });
  });

  it('counts the window’s distinct patients with the read’s new ones', () => {
    const f = baselineRule(ctx(obs([...patients('p', 10), ...patients('q', 9)]), activity(LEARNED, patients('p', 10))));
    expect(f?.measured).toBe(19);
  });

  it('alerts once per window: not again while the window stays above the threshold', () => {
    expect(baselineRule(ctx(obs(['new']), activity(LEARNED, patients('p', 19))))).toBeNull();
  });

  it('alerts up to containFactor × threshold and contains above it', () => {
    expect(baselineRule(ctx(obs(patients('p', 36)), activity(LEARNED)))?.severity).toBe('alert');
    expect(baselineRule(ctx(obs(patients('p', 37)), activity(LEARNED)))).toMatchObject({
      rule: 'baseline.exceeded',
      severity: 'contain',
      measured: 37,
      threshold: 36,
    });
  });

  it('contains a window that grows past containFactor × threshold after the alert', () => {
    expect(baselineRule(ctx(obs(['new']), activity(LEARNED, patients('p', 36))))?.rule).toBe('baseline.exceeded');
  });

  it('uses the role floor when the baseline is low', () => {
    const quiet: Ewma = { mean: 1, variance: 0, samples: 50 };
    expect(baselineRule(ctx(obs(patients('p', 15)), activity(quiet)))).toBeNull();
    expect(baselineRule(ctx(obs(patients('p', 16)), activity(quiet)))).toMatchObject({ severity: 'alert', threshold: 15 });
    expect(baselineRule(ctx(obs(patients('p', 31)), activity(quiet)))).toMatchObject({ severity: 'contain', threshold: 30 });
  });

  it('does not judge export pages or reads that release nobody', () => {
    expect(baselineRule(ctx(obs(patients('p', 500), { kind: 'export', exportId: 'e' }), activity(LEARNED)))).toBeNull();
    expect(baselineRule(ctx(obs([], { miss: true }), activity(LEARNED, patients('p', 100))))).toBeNull();
  });
});

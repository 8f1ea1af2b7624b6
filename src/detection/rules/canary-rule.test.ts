import { describe, expect, it } from 'vitest';
import type { Observation, ReadKind } from '../../domain/detection.js';
import { DEFAULT_DETECTION } from '../detection-config.js';
import { PrincipalActivity } from '../principal-activity.js';
import { canaryRule } from './canary-rule.js';
import type { RuleContext } from './rule-context.js';

const T0 = Date.parse('2025-03-12T09:00:00Z');

function ctx(kind: ReadKind, patients: string[], canaries: number): RuleContext {
  const obs: Observation = {
    at: T0,
    principal: { id: 'u-1', role: 'pathologist', tenants: ['screening'] },
    ip: '10.0.0.1',
    tenant: 'screening',
    action: 'patient.read',
    kind,
    patients,
    records: patients.length,
    bytes: 1000 * patients.length,
    miss: false,
    requestedId: null,
    broad: false,
    exportId: kind === 'export' ? 'exp-1' : null,
    breakGlass: false,
  };
  return {
    obs,
    activity: new PrincipalActivity('u-1'),
    limits: DEFAULT_DETECTION.roles.pathologist,
    config: DEFAULT_DETECTION,
    canaries,
    unexplained: [],
    newOrigin: false,
    localHour: 10,
    weekend: false,
    hourOfWeek: 58,
  };
}

describe('canaryRule', () => {
  it('contains on a canary touch, needing two approvals and freezing exports', () => {
    expect(canaryRule(ctx('read', ['c-1'], 1))).toEqual({
      rule: 'canary.touch',
      severity: 'contain',
      summary: expect.any(String) as string,
      measured: 1,
      threshold: 0,
      freezeExports: true,
      approvalsRequired: 2,
    });
  });

  it.each<ReadKind>(['read', 'search', 'identifier-search'])('fires for a %s and measures the canaries touched', (kind) => {
    const f = canaryRule(ctx(kind, ['p-1', 'c-1', 'c-2', 'c-3'], 3));
    expect(f?.rule).toBe('canary.touch');
    expect(f?.measured).toBe(3);
  });

  it('is silent when the read holds no canary', () => {
    expect(canaryRule(ctx('read', ['p-1'], 0))).toBeNull();
    expect(canaryRule(ctx('search', [], 0))).toBeNull();
  });

  it('exempts export pages (an export copy carries its own canaries)', () => {
    expect(canaryRule(ctx('export', ['c-1', 'p-2'], 1))).toBeNull();
  });
});

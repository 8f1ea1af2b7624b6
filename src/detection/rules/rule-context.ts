import type { Finding, Observation } from '../../domain/detection.js';
import type { DetectionConfig, RoleLimits } from '../detection-config.js';
import type { PrincipalActivity } from '../principal-activity.js';

/**
 * Everything a rule may look at for one read: the observation, the principal's activity so far
 * (not yet including this read), its role's limits, and the facts the detector looked up first
 * (canary membership, unexplained patients, origin novelty, the hour of the week). Rules are pure
 * functions of this: no I/O, no clock, no mutation — which is what makes each one testable alone.
 */
export interface RuleContext {
  readonly obs: Observation;
  readonly activity: PrincipalActivity;
  readonly limits: RoleLimits;
  readonly config: DetectionConfig;
  /** Patients of this read that are canaries of the tenant. */
  readonly canaries: number;
  /** Patients of this read that no recent order explains. */
  readonly unexplained: readonly string[];
  /** The read comes from an origin this principal has not used before (and it has used others). */
  readonly newOrigin: boolean;
  /** Local hour (0–23) and whether it is a weekend day, in the configured time zone. */
  readonly localHour: number;
  readonly weekend: boolean;
  /** Hour of the week (0 = Monday 00:00) in the configured time zone. */
  readonly hourOfWeek: number;
}

export type DetectionRule = (c: RuleContext) => Finding | null;

/** Roles acting for a person at a keyboard (off-hours applies to them, not to systems). */
export function isHuman(role: string): boolean {
  return role !== 'controller-system';
}

import { finding } from '../../domain/detection.js';
import { ewmaThreshold } from '../ewma.js';
import type { DetectionRule } from './rule-context.js';

/**
 * The principal against its own history: distinct patients in the current window compared with the
 * EWMA learned for this hour of the week. Above max(mean + kσ, floor) it alerts; above that times
 * `containFactor` it contains — the slow thief who stays under every cap still reads far more than
 * this person ever does at this hour. No verdict until the baseline has `minSamples` windows.
 */
export const baselineRule: DetectionRule = (c) => {
  if (c.obs.kind === 'export' || c.obs.patients.length === 0) return null;
  const b = c.config.baseline;
  const ewma = c.activity.baselines.get(c.hourOfWeek);
  if (!ewma || ewma.samples < b.minSamples) return null;
  const threshold = ewmaThreshold(ewma, b.k, c.limits.baselineFloor);
  const measured = c.activity.window.size + c.activity.windowAdded(c.obs.patients);
  if (measured > threshold * b.containFactor) {
    return finding({
      rule: 'baseline.exceeded',
      severity: 'contain',
      summary: 'distinct patients far above this principal’s baseline for the hour',
      measured,
      threshold: Math.floor(threshold * b.containFactor),
    });
  }
  if (measured > threshold && c.activity.window.size <= threshold) {
    return finding({
      rule: 'baseline.unusual',
      severity: 'alert',
      summary: 'distinct patients above this principal’s baseline for the hour',
      measured,
      threshold: Math.floor(threshold),
    });
  }
  return null;
};

import { baselineRule } from './baseline-rule.js';
import { canaryRule } from './canary-rule.js';
import { bytesPerHour, exportSize, patientsPerDay, patientsPerHour, patientsPerMinute } from './cap-rules.js';
import { newOrigin, offHours, unexplainedAccess } from './context-rules.js';
import { broadSearches, missesPerMinute, patientsPerRequest, sequentialIds } from './enumeration-rules.js';
import type { DetectionRule } from './rule-context.js';

/** Every rule, cheapest and most decisive first (the canary rule decides alone when it fires). */
export const ALL_RULES: readonly DetectionRule[] = [
  canaryRule,
  patientsPerRequest,
  patientsPerMinute,
  patientsPerHour,
  patientsPerDay,
  bytesPerHour,
  exportSize,
  sequentialIds,
  missesPerMinute,
  broadSearches,
  unexplainedAccess,
  baselineRule,
  newOrigin,
  offHours,
];

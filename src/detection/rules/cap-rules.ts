import { finding, type Finding } from '../../domain/detection.js';
import type { SlidingDistinct } from '../sliding-distinct.js';
import type { DetectionRule, RuleContext } from './rule-context.js';

/**
 * Hard caps per role on what one principal may be given: distinct patients per sliding minute,
 * hour and day, plaintext bytes per hour, and patients per export job. A response that would cross
 * a cap is withheld, so what leaves is bounded by the cap however fast the thief reads.
 */
function over(rule: string, summary: string, measured: number, cap: number, extra: Partial<Finding> = {}): Finding | null {
  return measured > cap ? finding({ rule, severity: 'contain', summary, measured, threshold: cap, ...extra }) : null;
}

const interactive = (c: RuleContext): boolean => c.obs.kind !== 'export';

/** A cap on distinct patients in one of the principal's sliding windows. */
function distinctCap(
  rule: string,
  summary: string,
  window: (c: RuleContext) => SlidingDistinct,
  cap: (c: RuleContext) => number,
): DetectionRule {
  return (c) => {
    if (!interactive(c)) return null;
    const w = window(c);
    return over(rule, summary, w.size(c.obs.at) + w.added(c.obs.patients, c.obs.at), cap(c));
  };
}

export const patientsPerMinute = distinctCap(
  'cap.patients-per-minute',
  'distinct patients per minute above the role cap',
  (c) => c.activity.minute,
  (c) => c.limits.patientsPerMinute,
);

export const patientsPerHour = distinctCap(
  'cap.patients-per-hour',
  'distinct patients per hour above the role cap',
  (c) => c.activity.hour,
  (c) => c.limits.patientsPerHour,
);

export const patientsPerDay = distinctCap(
  'cap.patients-per-day',
  'distinct patients per day above the role cap',
  (c) => c.activity.day,
  (c) => c.limits.patientsPerDay,
);

export const bytesPerHour: DetectionRule = (c) =>
  interactive(c)
    ? over(
        'cap.bytes-per-hour',
        'bytes per hour above the role cap',
        c.activity.bytesHour.sum(c.obs.at) + c.obs.bytes,
        c.limits.bytesPerHour,
      )
    : null;

/** An export job releasing more patients than the role may export freezes the tenant's exports. */
export const exportSize: DetectionRule = (c) => {
  if (c.obs.kind !== 'export' || c.obs.exportId === null) return null;
  const seen = c.activity.exports.get(c.obs.exportId);
  let n = seen?.size ?? 0;
  for (const p of c.obs.patients) if (!seen?.has(p)) n++;
  return over('cap.export-size', 'export larger than the role may export', n, c.limits.exportPatients, { freezeExports: true });
};

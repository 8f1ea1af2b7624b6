import { finding } from '../../domain/detection.js';
import { isHuman, type DetectionRule } from './rule-context.js';

/**
 * Explanation-based auditing: an access is explained when an order links the patient to the
 * tenant recently; the first unexplained patient alerts, many within an hour contain. A new origin
 * and work outside office hours only alert — they are normal often enough (a new laptop, a night
 * shift) that stopping care for them would do more harm than the alert's review.
 */
export const unexplainedAccess: DetectionRule = (c) => {
  if (c.obs.kind === 'export' || c.unexplained.length === 0) return null;
  const before = c.activity.unexplainedHour.size(c.obs.at);
  const measured = before + c.activity.unexplainedHour.added(c.unexplained, c.obs.at);
  if (measured > c.limits.unexplainedPerHour) {
    return finding({
      rule: 'unexplained.access',
      severity: 'contain',
      summary: 'many patients per hour with no recent order linking them to the tenant',
      measured,
      threshold: c.limits.unexplainedPerHour,
    });
  }
  return before === 0
    ? finding({ rule: 'unexplained.first', severity: 'alert', summary: 'a patient with no recent order was read', measured, threshold: 0 })
    : null;
};

export const newOrigin: DetectionRule = (c) =>
  c.newOrigin ? finding({ rule: 'origin.new', severity: 'alert', summary: 'the principal acts from an origin it never used' }) : null;

export const offHours: DetectionRule = (c) => {
  if (!isHuman(c.obs.principal.role) || c.obs.patients.length === 0) return null;
  const o = c.config.offHours;
  const outside = c.localHour < o.startHour || c.localHour >= o.endHour || (o.weekends && c.weekend);
  return outside
    ? finding({ rule: 'time.off-hours', severity: 'alert', summary: 'a person read patient data outside working hours' })
    : null;
};

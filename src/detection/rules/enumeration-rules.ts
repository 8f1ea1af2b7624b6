import { finding } from '../../domain/detection.js';
import type { DetectionRule } from './rule-context.js';

/**
 * Enumeration: the shapes of reading that only a harvester produces. Runs of reads by neighbouring
 * ids (ids are keyed permutations, so work never walks them), many lookups that find nothing (BSN
 * or id guessing), many broad searches (paging through a tenant), and responses that list many
 * different people at once.
 */
export const sequentialIds: DetectionRule = (c) => {
  const id = c.obs.requestedId;
  if (id === null) return null;
  const e = c.config.enumeration;
  const run = c.activity.sequentialRun(id, e.sequentialGap);
  return run >= e.sequentialRun
    ? finding({
        rule: 'enumeration.sequential-ids',
        severity: 'contain',
        summary: 'reads walk through neighbouring ids',
        measured: run,
        threshold: e.sequentialRun,
      })
    : null;
};

export const missesPerMinute: DetectionRule = (c) => {
  if (!c.obs.miss) return null;
  const measured = c.activity.missesMinute.sum(c.obs.at) + 1;
  return measured > c.limits.missesPerMinute
    ? finding({
        rule: 'enumeration.misses',
        severity: 'contain',
        summary: 'many lookups per minute found nothing (identifier or id guessing)',
        measured,
        threshold: c.limits.missesPerMinute,
      })
    : null;
};

export const broadSearches: DetectionRule = (c) => {
  if (!c.obs.broad) return null;
  const measured = c.activity.broadHour.sum(c.obs.at) + 1;
  return measured > c.limits.broadSearchesPerHour
    ? finding({
        rule: 'enumeration.broad-searches',
        severity: 'contain',
        summary: 'many searches over the whole tenant per hour',
        measured,
        threshold: c.limits.broadSearchesPerHour,
      })
    : null;
};

export const patientsPerRequest: DetectionRule = (c) =>
  c.obs.kind !== 'export' && c.obs.patients.length > c.limits.patientsPerRequest
    ? finding({
        rule: 'enumeration.patients-per-request',
        severity: 'contain',
        summary: 'one response would list more patients than the role works with at once',
        measured: c.obs.patients.length,
        threshold: c.limits.patientsPerRequest,
      })
    : null;

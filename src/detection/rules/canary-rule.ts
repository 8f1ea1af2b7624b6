import { finding } from '../../domain/detection.js';
import type { DetectionRule } from './rule-context.js';

/**
 * Any canary in a response contains at once: no legitimate workflow returns one (they have no
 * recent order and nobody's worklist leads to them), so a touch means someone is reading what they
 * were not sent to. Exports are exempt: an approved export reads the whole tenant, and its copy
 * carries its own canaries instead. Two officers must agree to release, and exports freeze.
 */
export const canaryRule: DetectionRule = (c) =>
  c.canaries > 0 && c.obs.kind !== 'export'
    ? finding({
        rule: 'canary.touch',
        severity: 'contain',
        summary: 'a canary record was read',
        measured: c.canaries,
        threshold: 0,
        freezeExports: true,
        approvalsRequired: 2,
      })
    : null;

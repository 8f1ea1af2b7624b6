/**
 * Breach-notification rules as versioned data (../shared/docs/RULES.md), not code branches: the
 * law and regulators' guidance change (an EU-wide template and deadline changes are pending), and
 * an incident records the version its obligations were computed with. The engine
 * (obligations.ts) only interprets these rows.
 */
export const BREACH_RULES_VERSION = '2026-11-29';

/** Which legal family a tenant's jurisdiction falls under (ISO 3166-1 alpha-2 → family). */
export type LegalFamily = 'EU' | 'GB' | 'US';

const EU = new Set([
  'AT',
  'BE',
  'BG',
  'HR',
  'CY',
  'CZ',
  'DK',
  'EE',
  'FI',
  'FR',
  'DE',
  'GR',
  'HU',
  'IE',
  'IT',
  'LV',
  'LT',
  'LU',
  'MT',
  'NL',
  'PL',
  'PT',
  'RO',
  'SK',
  'SI',
  'ES',
  'SE',
  // EEA: GDPR applies.
  'IS',
  'LI',
  'NO',
]);

export function legalFamily(jurisdiction: string): LegalFamily | null {
  const j = jurisdiction.toUpperCase();
  if (EU.has(j)) return 'EU';
  if (j === 'GB') return 'GB';
  if (j === 'US') return 'US';
  return null;
}

/** When a clock starts: an awareness timestamp of the incident, or another obligation's sending. */
export type Anchor = { kind: 'aware'; actor: 'lab' | 'controller' | 'significant' } | { kind: 'sent'; rule: string };

export type Deadline =
  /** Continuous hours (weekends and holidays count). */
  | { kind: 'hours'; hours: number }
  /** The tenant's contractual SLA (`breachNoticeSlaHours`): the law says "without undue delay". */
  | { kind: 'sla' }
  | { kind: 'days'; days: number }
  | { kind: 'months'; months: number }
  /** No figure in the law: shown as "without undue delay", never late by the clock alone. */
  | { kind: 'undue-delay' };

export interface BreachRule {
  id: string;
  regime: string;
  /** Who must notify: the lab as processor of the tenant, as its controller, or as a NIS2 entity. */
  duty: 'processor' | 'controller' | 'entity';
  family: LegalFamily;
  /** `controller`, `subjects` and `covered-entity` are per tenant; the others once per incident. */
  recipient: 'controller' | 'authority-nl' | 'ico' | 'subjects' | 'csirt' | 'covered-entity' | 'hhs';
  anchor: Anchor;
  deadline: Deadline;
  /** `always`; unless unlikely to be a risk; only with high risk (Art. 34); only for a significant incident (NIS2). */
  when: 'always' | 'risk' | 'high-risk' | 'significant';
  /** What the notice must contain, for the drafts. */
  contents: string;
}

export const BREACH_RULES: readonly BreachRule[] = [
  {
    id: 'gdpr-33-2',
    regime: 'GDPR Art. 33(2)',
    duty: 'processor',
    family: 'EU',
    recipient: 'controller',
    anchor: { kind: 'aware', actor: 'lab' },
    deadline: { kind: 'sla' },
    when: 'always',
    contents: 'what the controller needs for Art. 33(3); the identities of affected subjects (Art. 28(3)(f))',
  },
  {
    id: 'gdpr-33-1',
    regime: 'GDPR Art. 33(1)',
    duty: 'controller',
    family: 'EU',
    recipient: 'authority-nl',
    anchor: { kind: 'aware', actor: 'lab' },
    deadline: { kind: 'hours', hours: 72 },
    when: 'risk',
    contents: 'Art. 33(3): nature, categories and approximate numbers of subjects and records, contact, likely consequences, measures',
  },
  {
    id: 'gdpr-34',
    regime: 'GDPR Art. 34',
    duty: 'controller',
    family: 'EU',
    recipient: 'subjects',
    anchor: { kind: 'aware', actor: 'lab' },
    deadline: { kind: 'undue-delay' },
    when: 'high-risk',
    contents: 'plain language: nature, contact point, likely consequences, measures, practical advice',
  },
  {
    id: 'nis2-early-warning',
    regime: 'NIS2 Art. 23(4)(a)',
    duty: 'entity',
    family: 'EU',
    recipient: 'csirt',
    anchor: { kind: 'aware', actor: 'significant' },
    deadline: { kind: 'hours', hours: 24 },
    when: 'significant',
    contents: 'suspected malicious? possible cross-border impact?',
  },
  {
    id: 'nis2-notification',
    regime: 'NIS2 Art. 23(4)(b)',
    duty: 'entity',
    family: 'EU',
    recipient: 'csirt',
    anchor: { kind: 'aware', actor: 'significant' },
    deadline: { kind: 'hours', hours: 72 },
    when: 'significant',
    contents: 'initial severity and impact assessment, indicators of compromise',
  },
  {
    id: 'nis2-final',
    regime: 'NIS2 Art. 23(4)(d)',
    duty: 'entity',
    family: 'EU',
    recipient: 'csirt',
    anchor: { kind: 'sent', rule: 'nis2-notification' },
    deadline: { kind: 'months', months: 1 },
    when: 'significant',
    contents: 'root cause, mitigation, cross-border impact',
  },
  {
    id: 'uk-gdpr-33-2',
    regime: 'UK GDPR Art. 33(2)',
    duty: 'processor',
    family: 'GB',
    recipient: 'controller',
    anchor: { kind: 'aware', actor: 'lab' },
    deadline: { kind: 'sla' },
    when: 'always',
    contents: 'as GDPR Art. 33(2)',
  },
  {
    id: 'uk-gdpr-33-1',
    regime: 'UK GDPR Art. 33(1)',
    duty: 'controller',
    family: 'GB',
    recipient: 'ico',
    anchor: { kind: 'aware', actor: 'lab' },
    deadline: { kind: 'hours', hours: 72 },
    when: 'risk',
    contents: 'as GDPR Art. 33(3)',
  },
  {
    id: 'hipaa-164-410',
    regime: 'HIPAA 45 CFR 164.410',
    duty: 'processor',
    family: 'US',
    recipient: 'covered-entity',
    anchor: { kind: 'aware', actor: 'lab' },
    deadline: { kind: 'days', days: 60 },
    when: 'always',
    contents: 'identity of each affected individual',
  },
  {
    id: 'hipaa-164-404',
    regime: 'HIPAA 45 CFR 164.404',
    duty: 'controller',
    family: 'US',
    recipient: 'subjects',
    anchor: { kind: 'aware', actor: 'lab' },
    deadline: { kind: 'days', days: 60 },
    when: 'risk',
    contents: 'what happened with breach and discovery dates, data types, steps to take, what is done, contact incl. toll-free number',
  },
  {
    id: 'hipaa-164-408',
    regime: 'HIPAA 45 CFR 164.408',
    duty: 'controller',
    family: 'US',
    recipient: 'hhs',
    anchor: { kind: 'aware', actor: 'lab' },
    deadline: { kind: 'days', days: 60 },
    when: 'risk',
    contents: 'HHS form (500 or more people: with the individual notice; fewer: within 60 days after year end)',
  },
];

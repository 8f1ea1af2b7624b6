import { describe, expect, it } from 'vitest';
import { LabRole, type Tenant } from '../domain/tenant.js';
import { planObligations } from './obligations.js';
import { assessSeverity, type SeverityFacts } from './severity.js';

const CASE: SeverityFacts = {
  categories: ['identity', 'national-id', 'contact', 'clinical-result', 'follow-up-advice'],
  identifiability: 'full',
  ciphertextWithoutKeys: false,
  confidentiality: 'full',
  integrity: 'none',
  availability: 'none',
  malicious: true,
  subjects: 850_000,
  vulnerable: false,
};

describe('ENISA severity', () => {
  it('scores the Clinical Diagnostics case as RULES.md does: 4 × 1 + 0.5 + 0.5 = 5, very high, tell the people', () => {
    const a = assessSeverity(CASE);
    expect(a).toMatchObject({ dpc: 4, ei: 1, cb: 1, se: 5, band: 'very high', highRisk: true, exemption: null, risk: true });
    expect(a.reasoning.join(' ')).toMatch(/SE = 4 × 1 \+ 1 = 5/);
  });

  it('ciphertext without keys: identification negligible, the 34(3)(a) exemption, but still a risk for the authority', () => {
    const a = assessSeverity({ ...CASE, ciphertextWithoutKeys: true });
    expect(a).toMatchObject({ ei: 0.25, se: 2, band: 'medium', highRisk: false, exemption: '34(3)(a)', risk: true });
  });

  it('identity without health data is lower; volume and vulnerability raise the context, clamped at 4', () => {
    const base = { ...CASE, categories: ['identity', 'contact'] as SeverityFacts['categories'], malicious: false, subjects: 10 };
    expect(assessSeverity(base)).toMatchObject({ dpc: 1, se: 1.5, band: 'low', risk: false, highRisk: false });
    expect(assessSeverity({ ...base, categories: ['identity', 'national-id'], vulnerable: true, subjects: 200_000 })).toMatchObject({
      dpc: 4,
    });
    expect(() => assessSeverity({ ...base, subjects: -1 })).toThrow(/subjects/);
  });

  it('settles conditional obligations: a low-risk incident owes the authority nothing and is never late for it', () => {
    const t: Tenant = {
      id: 'gp-network',
      name: 'gp',
      kind: 'gp-network',
      jurisdiction: 'NL',
      labRole: LabRole.Controller,
      breachNoticeSlaHours: 24,
      contact: { name: 'x', email: 'x@example.org' },
      publicKeyJwk: null,
    };
    const input = {
      tenants: [t],
      awareness: { lab: '2026-01-01T00:00:00Z' },
      records: {},
      nis2Entity: true,
      now: new Date('2026-02-01T00:00:00Z'),
    };
    const unassessed = planObligations(input);
    expect(unassessed.find((o) => o.rule === 'gdpr-33-1')).toMatchObject({ applies: null, late: true });
    const low = planObligations({ ...input, assessment: { risk: false, highRisk: false } });
    expect(low.find((o) => o.rule === 'gdpr-33-1')).toMatchObject({ applies: false, late: false });
    const high = planObligations({ ...input, assessment: assessSeverity(CASE) });
    expect(high.find((o) => o.rule === 'gdpr-34')).toMatchObject({ applies: true });
  });
});

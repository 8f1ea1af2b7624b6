import { InvalidInput } from '../domain/errors.js';
import type { DataCategory } from '../domain/audit-event.js';

/**
 * Severity by the ENISA method (SE = DPC × EI + CB), with its reasoning kept as sentences so a DPO
 * can check every step, and the Art. 34 consequences: a high-risk suggestion, and the 34(3)(a)
 * exemption when only ciphertext left and its keys did not (the data is unintelligible). Inputs
 * are facts about the incident, mostly what scoping found; nothing here decides for the DPO, it
 * proposes with reasons.
 */
export type Identifiability = 'negligible' | 'limited' | 'significant' | 'full';
export type LossLevel = 'none' | 'limited' | 'full';

export interface SeverityFacts {
  /** Data categories that left (from the scope). */
  categories: readonly DataCategory[];
  /** How easily the people can be identified from what left (BSN + name: full). */
  identifiability: Identifiability;
  /** Only encrypted data left, and its keys did not. */
  ciphertextWithoutKeys: boolean;
  confidentiality: LossLevel;
  integrity: LossLevel;
  availability: LossLevel;
  /** The breach was deliberate (theft, ransomware), not an error. */
  malicious: boolean;
  /** Upper bound of affected people. */
  subjects: number;
  /** Vulnerable groups among them (children, patients of a screening programme…). */
  vulnerable: boolean;
}

export type Band = 'low' | 'medium' | 'high' | 'very high';

export interface SeverityAssessment {
  method: 'ENISA 2013 (SE = DPC × EI + CB)';
  dpc: number;
  ei: number;
  cb: number;
  se: number;
  band: Band;
  /** Art. 34: the risk to people is high — suggest telling them. */
  highRisk: boolean;
  /** Art. 34(3)(a): unintelligible data (ciphertext without keys) — no notice to people needed. */
  exemption: '34(3)(a)' | null;
  /** A risk at all (Art. 33(1) applies unless unlikely to result in a risk). */
  risk: boolean;
  reasoning: string[];
}

const HEALTH: readonly DataCategory[] = ['clinical-order', 'specimen', 'clinical-result', 'follow-up-advice'];
const EI: Readonly<Record<Identifiability, number>> = { negligible: 0.25, limited: 0.5, significant: 0.75, full: 1 };
const LOSS: Readonly<Record<LossLevel, number>> = { none: 0, limited: 0.25, full: 0.5 };

export function assessSeverity(f: SeverityFacts): SeverityAssessment {
  if (!Number.isSafeInteger(f.subjects) || f.subjects < 0) throw new InvalidInput('subjects: a non-negative count');
  const why: string[] = [];
  // DPC: the context of the data. Test results are "sensitive" (4) in ENISA's own examples.
  let dpc: number;
  if (f.categories.some((c) => HEALTH.includes(c))) {
    dpc = 4;
    why.push('DPC 4: health data (orders, specimens or results) left — ENISA scores actual test results as sensitive.');
  } else if (f.categories.includes('national-id')) {
    dpc = 2;
    why.push('DPC 2: identity with a national id number (BSN) but no health data — raised from simple for identity-fraud risk.');
  } else if (f.categories.length > 0) {
    dpc = 1;
    why.push('DPC 1: simple data (identity, contact, demographics).');
  } else {
    dpc = 1;
    why.push('DPC 1: no categories of personal data known to have left.');
  }
  if (f.vulnerable && dpc < 4) {
    dpc += 1;
    why.push(`DPC +1 for vulnerable subjects → ${dpc}.`);
  }
  if (f.subjects > 100_000 && dpc < 4) {
    dpc += 1;
    why.push(`DPC +1 for volume (${f.subjects} people) → ${dpc}.`);
  }
  dpc = Math.min(4, Math.max(1, dpc));
  let ei = EI[f.identifiability];
  why.push(`EI ${ei}: identification is ${f.identifiability} from what left.`);
  if (f.ciphertextWithoutKeys) {
    ei = EI.negligible;
    why.push('EI 0.25: only ciphertext left and its keys did not — the data is unintelligible.');
  }
  const cb = LOSS[f.confidentiality] + LOSS[f.integrity] + LOSS[f.availability] + (f.malicious ? 0.5 : 0);
  why.push(
    `CB ${cb}: confidentiality ${LOSS[f.confidentiality]}, integrity ${LOSS[f.integrity]}, availability ${LOSS[f.availability]}` +
      `${f.malicious ? ', malicious +0.5' : ''}.`,
  );
  const se = Math.round((dpc * ei + cb) * 100) / 100;
  const band: Band = se < 2 ? 'low' : se < 3 ? 'medium' : se < 4 ? 'high' : 'very high';
  why.push(`SE = ${dpc} × ${ei} + ${cb} = ${se}: ${band}.`);
  const exemption = f.ciphertextWithoutKeys ? '34(3)(a)' : null;
  const highRisk = (band === 'high' || band === 'very high') && exemption === null;
  why.push(
    exemption
      ? 'Art. 34: not needed — 34(3)(a), the data is unintelligible to anyone without the keys.'
      : highRisk
        ? 'Art. 34: high risk to people — tell them without undue delay.'
        : 'Art. 34: the risk to people is not high — no notice to them is suggested.',
  );
  const risk = band !== 'low';
  why.push(
    risk ? 'Art. 33(1): a risk — notify the authority within 72 h.' : 'Art. 33(1): unlikely to result in a risk — record it, no notice.',
  );
  return { method: 'ENISA 2013 (SE = DPC × EI + CB)', dpc, ei, cb, se, band, highRisk, exemption, risk, reasoning: why };
}

import {
  concept,
  HPV_GENOTYPE_SYSTEM,
  LOINC,
  PAP_CLASS_SYSTEM,
  RESULT_NEGATIVE,
  RESULT_POSITIVE,
  SCREENING_ADVICE_SYSTEM,
  type CodeableConcept,
} from './fhir-codes.js';
import { WeightedTable, type Prng } from './prng.js';

/**
 * Cervical cancer testing as run by the Dutch programme: a primary hrHPV test on a cervical
 * sample, reflex cytology (classified Pap/KOPAC-B) only when hrHPV is positive, and a repeat
 * smear after six months for hrHPV-positive women whose cytology is normal.
 */

/** Why the sample was taken; decides the wording of the advice. */
export const CervicalMode = {
  /** Population screening invitation (screening tenant). */
  Screening: 'screening',
  /** GP or clinic test on indication (symptoms, patient request). */
  Indication: 'indication',
  /** Gynaecology outpatient co-test: hrHPV and cytology regardless of the hrHPV result. */
  CoTest: 'co-test',
  /** Repeat smear six months after hrHPV-positive, cytology-normal screening. */
  FollowUp: 'follow-up',
} as const;
export type CervicalMode = (typeof CervicalMode)[keyof typeof CervicalMode];

const HRHPV_LOINC = '82675-0';
const HRHPV_DISPLAY =
  'Human papilloma virus 16+18+31+33+35+39+45+51+52+56+58+59+66+68 DNA [Presence] in Cervix by NAA with probe detection';
const CYTOLOGY_LOINC = '10524-7';
const CYTOLOGY_DISPLAY = 'Microscopic observation [Identifier] in Cervix by Cyto stain';

/** ServiceRequest/DiagnosticReport code per mode. */
export const CERVICAL_ORDER_CODE: Readonly<Record<CervicalMode, CodeableConcept>> = {
  screening: concept(LOINC, HRHPV_LOINC, HRHPV_DISPLAY, 'BVO baarmoederhalskanker: hrHPV-test met reflexcytologie'),
  indication: concept(LOINC, HRHPV_LOINC, HRHPV_DISPLAY, 'Indicatie-uitstrijkje: hrHPV-test met reflexcytologie'),
  'co-test': concept(LOINC, HRHPV_LOINC, HRHPV_DISPLAY, 'hrHPV-test en cytologie (co-test)'),
  'follow-up': concept(LOINC, CYTOLOGY_LOINC, CYTOLOGY_DISPLAY, 'Controle-uitstrijkje na 6 maanden (cytologie)'),
};

export const HRHPV_CODE = concept(LOINC, HRHPV_LOINC, HRHPV_DISPLAY, 'hrHPV');
export const GENOTYPE_CODE = concept(
  LOINC,
  '77379-6',
  'Human papilloma virus 16 and 18 and 31+33+35+39+45+51+52+56+58+59+66+68 DNA [Interpretation] in Cervix',
  'HPV-genotypering',
);
export const CYTOLOGY_CODE = concept(LOINC, CYTOLOGY_LOINC, CYTOLOGY_DISPLAY, 'Cytologie (KOPAC-B)');
export const HPV_RESULT = { positive: RESULT_POSITIVE, negative: RESULT_NEGATIVE } as const;

export type GenotypeKey = 'hpv16' | 'hpv18' | 'other-hr';

export const GENOTYPES: Readonly<Record<GenotypeKey, { label: string; value: CodeableConcept }>> = {
  hpv16: { label: 'HPV 16', value: concept(HPV_GENOTYPE_SYSTEM, 'hpv16', 'HPV 16', 'HPV 16 positief') },
  hpv18: { label: 'HPV 18', value: concept(HPV_GENOTYPE_SYSTEM, 'hpv18', 'HPV 18', 'HPV 18 positief') },
  'other-hr': {
    label: 'overig hoog-risico type',
    value: concept(HPV_GENOTYPE_SYSTEM, 'other-hr', 'Other high-risk HPV', 'Overig hoog-risico HPV (niet 16/18)'),
  },
};

export type PapKey = 'pap0' | 'pap1' | 'pap2' | 'pap3a1' | 'pap3a2' | 'pap3b' | 'pap4' | 'pap5';

function pap(code: PapKey, label: string, meaning: string): { label: string; value: CodeableConcept } {
  return { label, value: concept(PAP_CLASS_SYSTEM, code, `${label} (${meaning})`, `${label} (${meaning})`) };
}

export const PAP_CLASSES: Readonly<Record<PapKey, { label: string; value: CodeableConcept }>> = {
  pap0: pap('pap0', 'Pap 0', 'onbeoordeelbaar'),
  pap1: pap('pap1', 'Pap 1', 'geen afwijkingen'),
  pap2: pap('pap2', 'Pap 2', 'lichte afwijkingen, ASC-US'),
  pap3a1: pap('pap3a1', 'Pap 3a1', 'lichte dysplasie, LSIL'),
  pap3a2: pap('pap3a2', 'Pap 3a2', 'matige dysplasie, HSIL'),
  pap3b: pap('pap3b', 'Pap 3b', 'ernstige dysplasie, HSIL'),
  pap4: pap('pap4', 'Pap 4', 'carcinoma in situ'),
  pap5: pap('pap5', 'Pap 5', 'verdenking invasief carcinoom'),
};

export type AdviceKey =
  'routine-5y' | 'routine-10y' | 'programme-exit' | 'no-follow-up' | 'repeat-6m' | 'repeat-sample' | 'refer-colposcopy';

export const ADVICE_CODES: Readonly<Record<AdviceKey, CodeableConcept[]>> = {
  'routine-5y': [concept(SCREENING_ADVICE_SYSTEM, 'routine-5y', 'Nieuwe uitnodiging over 5 jaar')],
  'routine-10y': [concept(SCREENING_ADVICE_SYSTEM, 'routine-10y', 'Nieuwe uitnodiging over 10 jaar')],
  'programme-exit': [concept(SCREENING_ADVICE_SYSTEM, 'programme-exit', 'Geen nieuwe uitnodiging (einde bevolkingsonderzoek)')],
  'no-follow-up': [concept(SCREENING_ADVICE_SYSTEM, 'no-follow-up', 'Geen vervolgonderzoek nodig')],
  'repeat-6m': [concept(SCREENING_ADVICE_SYSTEM, 'repeat-6m', 'Herhaling uitstrijkje over 6 maanden')],
  'repeat-sample': [concept(SCREENING_ADVICE_SYSTEM, 'repeat-sample', 'Nieuw uitstrijkje binnen 3 maanden')],
  'refer-colposcopy': [concept(SCREENING_ADVICE_SYSTEM, 'refer-colposcopy', 'Verwijzing gynaecoloog voor colposcopie')],
};

/** hrHPV prevalence falls steeply with age (roughly 16 % at 30 to 5 % at 60). */
function hpvPositiveRate(age: number): number {
  if (age < 35) return 0.16;
  if (age < 40) return 0.11;
  if (age < 45) return 0.085;
  if (age < 50) return 0.075;
  if (age < 55) return 0.065;
  if (age < 60) return 0.055;
  return 0.05;
}

const GENOTYPE_TABLE = new WeightedTable<GenotypeKey>([
  ['hpv16', 22],
  ['hpv18', 9],
  ['other-hr', 69],
]);

/** Cytology among hrHPV-positives; HPV 16/18 carry a clearly higher risk of high-grade lesions. */
const PAP_AFTER_OTHER = new WeightedTable<PapKey>([
  ['pap0', 1],
  ['pap1', 68],
  ['pap2', 14],
  ['pap3a1', 9],
  ['pap3a2', 4],
  ['pap3b', 3],
  ['pap4', 0.7],
  ['pap5', 0.3],
]);
const PAP_AFTER_16_18 = new WeightedTable<PapKey>([
  ['pap0', 1],
  ['pap1', 55],
  ['pap2', 13],
  ['pap3a1', 12],
  ['pap3a2', 8],
  ['pap3b', 8],
  ['pap4', 2.5],
  ['pap5', 0.5],
]);
/** Cytology when hrHPV is negative (co-test): almost always normal. */
const PAP_AFTER_NEGATIVE = new WeightedTable<PapKey>([
  ['pap0', 1],
  ['pap1', 95],
  ['pap2', 3],
  ['pap3a1', 1],
]);
/** Repeat smear six months on: most infections have cleared or lesions stayed low-grade. */
const PAP_AT_FOLLOW_UP = new WeightedTable<PapKey>([
  ['pap1', 80],
  ['pap2', 10],
  ['pap3a1', 6],
  ['pap3a2', 2.5],
  ['pap3b', 1.5],
]);

export interface CervicalOutcome {
  /** hrHPV result; null for a cytology-only follow-up smear. */
  hpvPositive: boolean | null;
  genotype: GenotypeKey | null;
  /** Cytology class; null when no cytology was done (hrHPV negative outside a co-test). */
  pap: PapKey | null;
  advice: AdviceKey;
  conclusion: string;
}

/** Draws the results of one cervical sample and the advice that follows from them. */
export function cervicalOutcome(mode: CervicalMode, age: number, prng: Prng): CervicalOutcome {
  if (mode === CervicalMode.FollowUp) {
    const pap = PAP_AT_FOLLOW_UP.pick(prng);
    const normal = pap === 'pap1';
    return {
      hpvPositive: null,
      genotype: null,
      pap,
      advice: normal ? 'routine-5y' : 'refer-colposcopy',
      conclusion: normal
        ? 'Controle-uitstrijkje zonder afwijkingen (Pap 1). U ontvangt over 5 jaar een nieuwe uitnodiging.'
        : `Controle-uitstrijkje met afwijkende cytologie (${PAP_CLASSES[pap].label}). Verwijzing naar gynaecoloog voor colposcopie.`,
    };
  }
  const positive = prng.chance(hpvPositiveRate(age));
  if (!positive) {
    const pap = mode === CervicalMode.CoTest ? PAP_AFTER_NEGATIVE.pick(prng) : null;
    return { hpvPositive: false, genotype: null, pap, ...negativeAdvice(mode, age, pap) };
  }
  const genotype = GENOTYPE_TABLE.pick(prng);
  const pap = (genotype === 'other-hr' ? PAP_AFTER_OTHER : PAP_AFTER_16_18).pick(prng);
  const type = GENOTYPES[genotype].label;
  const cyto = PAP_CLASSES[pap].label;
  if (pap === 'pap0') {
    return {
      hpvPositive: true,
      genotype,
      pap,
      advice: 'repeat-sample',
      conclusion: `hrHPV positief (${type}), cytologie niet te beoordelen (Pap 0). Nieuw uitstrijkje binnen 3 maanden.`,
    };
  }
  if (pap === 'pap1') {
    return {
      hpvPositive: true,
      genotype,
      pap,
      advice: 'repeat-6m',
      conclusion: `hrHPV positief (${type}), cytologie zonder afwijkingen (Pap 1). Herhaling uitstrijkje over 6 maanden.`,
    };
  }
  return {
    hpvPositive: true,
    genotype,
    pap,
    advice: 'refer-colposcopy',
    conclusion: `hrHPV positief (${type}) met afwijkende cytologie (${cyto}). Verwijzing naar gynaecoloog voor colposcopie.`,
  };
}

function negativeAdvice(mode: CervicalMode, age: number, pap: PapKey | null): { advice: AdviceKey; conclusion: string } {
  if (pap !== null && pap !== 'pap1') {
    // hrHPV-negative with abnormal or unreadable cytology: rare; repeat rather than refer.
    return {
      advice: pap === 'pap0' ? 'repeat-sample' : 'repeat-6m',
      conclusion:
        pap === 'pap0'
          ? 'hrHPV negatief, cytologie niet te beoordelen (Pap 0). Nieuw uitstrijkje binnen 3 maanden.'
          : `hrHPV negatief met lichte cytologische afwijkingen (${PAP_CLASSES[pap].label}). Herhaling uitstrijkje over 6 maanden.`,
    };
  }
  if (mode !== CervicalMode.Screening) {
    return {
      advice: 'no-follow-up',
      conclusion:
        pap === 'pap1'
          ? 'hrHPV negatief, cytologie zonder afwijkingen (Pap 1). Geen vervolgonderzoek nodig.'
          : 'hrHPV negatief. Geen afwijkingen; geen vervolgonderzoek nodig.',
    };
  }
  // Programme rules: after a negative test at 40 or 50 the next invitation follows in 10 years;
  // women who are negative at 60 leave the programme.
  if (age >= 60) {
    return {
      advice: 'programme-exit',
      conclusion: 'Geen afwijkingen (hrHPV negatief). U ontvangt geen nieuwe uitnodiging meer voor het bevolkingsonderzoek.',
    };
  }
  if (age >= 40) {
    return {
      advice: 'routine-10y',
      conclusion: 'Geen afwijkingen (hrHPV negatief). U ontvangt over 10 jaar een nieuwe uitnodiging.',
    };
  }
  return {
    advice: 'routine-5y',
    conclusion: 'Geen afwijkingen (hrHPV negatief). U ontvangt over 5 jaar een nieuwe uitnodiging.',
  };
}

import { concept, LOINC, UCUM, type CodeableConcept, type SpecimenKind } from './fhir-codes.js';
import type { Prng } from './prng.js';

/**
 * Clinical chemistry and haematology catalogue: LOINC codes, the SI units Dutch labs report in
 * (haemoglobin in mmol/L, HbA1c in mmol/mol), adult reference ranges, and value models that
 * depend on the patient's conditions so results look like a real outpatient population.
 */

export type Sex = 'female' | 'male';

/** Chronic conditions that shift a patient's values consistently across orders and tenants. */
export interface HealthState {
  diabetes: boolean;
  ckd: boolean;
  thyroid: 'hypo' | 'hyper' | null;
  anaemia: boolean;
  dyslipidaemia: boolean;
}

/** Draws conditions with rough Dutch adult prevalences, rising with age. */
export function drawHealthState(prng: Prng, age: number): HealthState {
  const old = age >= 60;
  const r = prng.next();
  return {
    diabetes: prng.chance(old ? 0.16 : age >= 45 ? 0.08 : 0.03),
    ckd: prng.chance(old ? 0.12 : 0.03),
    thyroid: r < 0.05 ? 'hypo' : r < 0.065 ? 'hyper' : null,
    anaemia: prng.chance(0.06),
    dyslipidaemia: prng.chance(old ? 0.3 : 0.15),
  };
}

interface RefLimits {
  /** [female, male]; null when the limit does not exist (e.g. no upper limit for HDL). */
  low: readonly [number, number] | null;
  high: readonly [number, number] | null;
}

interface NumericTestDef {
  loinc: string;
  display: string;
  text: string;
  unit: string;
  ucum: string;
  decimals: number;
  ref: RefLimits;
}

const DEFS = {
  hba1c: {
    loinc: '59261-8',
    display: 'Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol',
    text: 'HbA1c',
    unit: 'mmol/mol',
    ucum: 'mmol/mol',
    decimals: 0,
    ref: { low: [20, 20], high: [42, 42] },
  },
  glucose: {
    loinc: '14749-6',
    display: 'Glucose [Moles/volume] in Serum or Plasma',
    text: 'Glucose',
    unit: 'mmol/L',
    ucum: 'mmol/L',
    decimals: 1,
    ref: { low: [4.0, 4.0], high: [7.8, 7.8] },
  },
  creatinine: {
    loinc: '14682-9',
    display: 'Creatinine [Moles/volume] in Serum or Plasma',
    text: 'Kreatinine',
    unit: 'µmol/L',
    ucum: 'umol/L',
    decimals: 0,
    ref: { low: [49, 64], high: [90, 104] },
  },
  egfr: {
    loinc: '62238-1',
    display:
      'Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI)',
    text: 'eGFR (CKD-EPI)',
    unit: 'mL/min/1.73m²',
    ucum: 'mL/min/{1.73_m2}',
    decimals: 0,
    ref: { low: [60, 60], high: null },
  },
  potassium: {
    loinc: '2823-3',
    display: 'Potassium [Moles/volume] in Serum or Plasma',
    text: 'Kalium',
    unit: 'mmol/L',
    ucum: 'mmol/L',
    decimals: 1,
    ref: { low: [3.5, 3.5], high: [5.0, 5.0] },
  },
  sodium: {
    loinc: '2951-2',
    display: 'Sodium [Moles/volume] in Serum or Plasma',
    text: 'Natrium',
    unit: 'mmol/L',
    ucum: 'mmol/L',
    decimals: 0,
    ref: { low: [135, 135], high: [145, 145] },
  },
  haemoglobin: {
    loinc: '59260-0',
    display: 'Hemoglobin [Moles/volume] in Blood',
    text: 'Hemoglobine',
    unit: 'mmol/L',
    ucum: 'mmol/L',
    decimals: 1,
    ref: { low: [7.5, 8.5], high: [10.0, 11.0] },
  },
  leukocytes: {
    loinc: '6690-2',
    display: 'Leukocytes [#/volume] in Blood by Automated count',
    text: 'Leukocyten',
    unit: '10^9/L',
    ucum: '10*9/L',
    decimals: 1,
    ref: { low: [4.0, 4.0], high: [10.0, 10.0] },
  },
  platelets: {
    loinc: '777-3',
    display: 'Platelets [#/volume] in Blood by Automated count',
    text: 'Trombocyten',
    unit: '10^9/L',
    ucum: '10*9/L',
    decimals: 0,
    ref: { low: [150, 150], high: [400, 400] },
  },
  mcv: {
    loinc: '787-2',
    display: 'MCV [Entitic volume] by Automated count',
    text: 'MCV',
    unit: 'fL',
    ucum: 'fL',
    decimals: 0,
    ref: { low: [80, 80], high: [100, 100] },
  },
  cholesterol: {
    loinc: '14647-2',
    display: 'Cholesterol [Moles/volume] in Serum or Plasma',
    text: 'Cholesterol totaal',
    unit: 'mmol/L',
    ucum: 'mmol/L',
    decimals: 1,
    ref: { low: null, high: [6.5, 6.5] },
  },
  hdl: {
    loinc: '14646-4',
    display: 'Cholesterol in HDL [Moles/volume] in Serum or Plasma',
    text: 'HDL-cholesterol',
    unit: 'mmol/L',
    ucum: 'mmol/L',
    decimals: 2,
    ref: { low: [1.2, 1.0], high: null },
  },
  ldl: {
    loinc: '22748-8',
    display: 'Cholesterol in LDL [Moles/volume] in Serum or Plasma',
    text: 'LDL-cholesterol (berekend)',
    unit: 'mmol/L',
    ucum: 'mmol/L',
    decimals: 1,
    ref: { low: null, high: [3.0, 3.0] },
  },
  triglycerides: {
    loinc: '14927-8',
    display: 'Triglyceride [Moles/volume] in Serum or Plasma',
    text: 'Triglyceriden',
    unit: 'mmol/L',
    ucum: 'mmol/L',
    decimals: 1,
    ref: { low: null, high: [2.0, 2.0] },
  },
  tsh: {
    loinc: '3016-3',
    display: 'Thyrotropin [Units/volume] in Serum or Plasma',
    text: 'TSH',
    unit: 'mU/L',
    ucum: 'm[IU]/L',
    decimals: 2,
    ref: { low: [0.4, 0.4], high: [4.0, 4.0] },
  },
  ft4: {
    loinc: '14920-3',
    display: 'Thyroxine (T4) free [Moles/volume] in Serum or Plasma',
    text: 'Vrij T4',
    unit: 'pmol/L',
    ucum: 'pmol/L',
    decimals: 1,
    ref: { low: [10, 10], high: [23, 23] },
  },
  crp: {
    loinc: '1988-5',
    display: 'C reactive protein [Mass/volume] in Serum or Plasma',
    text: 'CRP',
    unit: 'mg/L',
    ucum: 'mg/L',
    decimals: 0,
    ref: { low: null, high: [10, 10] },
  },
  alt: {
    loinc: '1742-6',
    display: 'Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma',
    text: 'ALAT',
    unit: 'U/L',
    ucum: 'U/L',
    decimals: 0,
    ref: { low: null, high: [35, 45] },
  },
  ferritin: {
    loinc: '2276-4',
    display: 'Ferritin [Mass/volume] in Serum or Plasma',
    text: 'Ferritine',
    unit: 'µg/L',
    ucum: 'ug/L',
    decimals: 0,
    ref: { low: [15, 30], high: [150, 400] },
  },
} as const satisfies Record<string, NumericTestDef>;

export type TestKey = keyof typeof DEFS;

interface QuantityJson {
  value: number;
  unit: string;
  system: string;
  code: string;
}

type ReferenceRangeJson = { low?: QuantityJson; high?: QuantityJson }[];

/** A numeric test with its prebuilt (shared) FHIR fragments. */
export interface NumericTest {
  key: TestKey;
  code: CodeableConcept;
  text: string;
  unit: string;
  ucum: string;
  decimals: number;
  /** Limits and ready-made referenceRange arrays, index 0 = female, 1 = male. */
  low: readonly [number, number] | null;
  high: readonly [number, number] | null;
  referenceRange: readonly [ReferenceRangeJson, ReferenceRangeJson];
}

function buildTest(key: TestKey): NumericTest {
  const d: NumericTestDef = DEFS[key];
  const q = (value: number): QuantityJson => ({ value, unit: d.unit, system: UCUM, code: d.ucum });
  const range = (i: 0 | 1): ReferenceRangeJson => {
    const r: { low?: QuantityJson; high?: QuantityJson } = {};
    if (d.ref.low) r.low = q(d.ref.low[i]);
    if (d.ref.high) r.high = q(d.ref.high[i]);
    return [r];
  };
  return {
    key,
    code: concept(LOINC, d.loinc, d.display, d.text),
    text: d.text,
    unit: d.unit,
    ucum: d.ucum,
    decimals: d.decimals,
    low: d.ref.low,
    high: d.ref.high,
    referenceRange: [range(0), range(1)],
  };
}

/** All numeric tests by key. */
export const NUMERIC_TESTS: Readonly<Record<TestKey, NumericTest>> = Object.fromEntries(
  (Object.keys(DEFS) as TestKey[]).map((k) => [k, buildTest(k)]),
) as Record<TestKey, NumericTest>;

/** An order profile: what the requester ticks on the order form. */
export interface LabProfile {
  key: ProfileKey;
  /** ServiceRequest.code and DiagnosticReport.code. */
  code: CodeableConcept;
  specimen: SpecimenKind;
  tests: readonly TestKey[];
}

const PROFILE_DEFS = {
  hba1c: ['59261-8', 'Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol', 'HbA1c', 'blood', ['hba1c']],
  glucose: ['14749-6', 'Glucose [Moles/volume] in Serum or Plasma', 'Glucose', 'plasma', ['glucose']],
  creatinine: ['14682-9', 'Creatinine [Moles/volume] in Serum or Plasma', 'Kreatinine + eGFR', 'serum', ['creatinine', 'egfr']],
  renal: ['24362-6', 'Renal function 2000 panel - Serum or Plasma', 'Nierfunctie', 'serum', ['creatinine', 'egfr', 'potassium', 'sodium']],
  lipid: ['24331-1', 'Lipid 1996 panel - Serum or Plasma', 'Lipidenspectrum', 'serum', ['cholesterol', 'hdl', 'ldl', 'triglycerides']],
  thyroid: ['24348-5', 'Free T4 and TSH panel - Serum or Plasma', 'Schildklierfunctie', 'serum', ['tsh', 'ft4']],
  tsh: ['3016-3', 'Thyrotropin [Units/volume] in Serum or Plasma', 'TSH', 'serum', ['tsh']],
  cbc: ['58410-2', 'CBC panel - Blood by Automated count', 'Bloedbeeld', 'blood', ['haemoglobin', 'leukocytes', 'platelets', 'mcv']],
  haemoglobin: ['59260-0', 'Hemoglobin [Moles/volume] in Blood', 'Hemoglobine', 'blood', ['haemoglobin']],
  crp: ['1988-5', 'C reactive protein [Mass/volume] in Serum or Plasma', 'CRP', 'serum', ['crp']],
  alt: ['1742-6', 'Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma', 'ALAT', 'serum', ['alt']],
  ferritin: ['2276-4', 'Ferritin [Mass/volume] in Serum or Plasma', 'Ferritine', 'serum', ['ferritin']],
} as const satisfies Record<string, readonly [string, string, string, SpecimenKind, readonly TestKey[]]>;

export type ProfileKey = keyof typeof PROFILE_DEFS;

function buildProfile(key: ProfileKey): LabProfile {
  const [loinc, display, text, specimen, tests] = PROFILE_DEFS[key];
  return { key, code: concept(LOINC, loinc, display, text), specimen, tests };
}

/** All order profiles by key. */
export const LAB_PROFILES: Readonly<Record<ProfileKey, LabProfile>> = Object.fromEntries(
  (Object.keys(PROFILE_DEFS) as ProfileKey[]).map((k) => [k, buildProfile(k)]),
) as Record<ProfileKey, LabProfile>;

/** The profile a GP or specialist uses to monitor a condition. */
export function monitoringProfile(health: HealthState, prng: Prng): ProfileKey | null {
  const options: ProfileKey[] = [];
  if (health.diabetes) options.push('hba1c', 'hba1c', 'glucose');
  if (health.ckd) options.push('creatinine', 'renal');
  if (health.thyroid) options.push('tsh', 'thyroid');
  if (health.anaemia) options.push('haemoglobin', 'ferritin', 'cbc');
  if (health.dyslipidaemia) options.push('lipid');
  return options.length === 0 ? null : prng.pick(options);
}

/** One measured value with its interpretation. */
export interface Measurement {
  test: NumericTest;
  value: number;
  /** `<` or `>` when the value is outside the reportable range (CRP < 1, eGFR > 90). */
  comparator: '<' | '>' | null;
  flag: 'high' | 'low' | 'normal';
}

export interface MeasureContext {
  sex: Sex;
  age: number;
  health: HealthState;
  /** Acute illness at the time of this order (raises CRP, leukocytes). */
  inflamed: boolean;
}

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

function round(v: number, decimals: number): number {
  const f = decimals === 0 ? 1 : decimals === 1 ? 10 : 100;
  return Math.round(v * f) / f;
}

/** CKD-EPI (2009, without race factor) from creatinine in µmol/L. */
export function ckdEpi(creatinineUmol: number, age: number, sex: Sex): number {
  const scr = creatinineUmol / 88.4;
  const kappa = sex === 'female' ? 0.7 : 0.9;
  const alpha = sex === 'female' ? -0.329 : -0.411;
  const ratio = scr / kappa;
  const egfr = 141 * Math.min(ratio, 1) ** alpha * Math.max(ratio, 1) ** -1.209 * 0.993 ** age;
  return sex === 'female' ? egfr * 1.018 : egfr;
}

/** Raw (unrounded) value of one measured test; derived tests (eGFR, LDL) come from measureProfile. */
function draw(key: TestKey, ctx: MeasureContext, prng: Prng): number {
  const { sex, health, inflamed } = ctx;
  const female = sex === 'female';
  switch (key) {
    case 'hba1c':
      return health.diabetes ? clamp(prng.normal(56, 10), 40, 110) : clamp(prng.normal(36, 3.5), 26, 47);
    case 'glucose':
      return health.diabetes ? clamp(prng.normal(9, 2.5), 4.5, 22) : clamp(prng.normal(5.4, 0.7), 3.6, 7.9);
    case 'creatinine': {
      const base = female ? prng.normal(70, 10) : prng.normal(86, 12);
      return clamp(health.ckd ? base * prng.logNormal(1.9, 0.35) : base * (1 + Math.max(0, ctx.age - 60) * 0.004), 35, 900);
    }
    case 'potassium':
      return clamp(prng.normal(health.ckd ? 4.6 : 4.2, 0.35), 2.8, 6.8);
    case 'sodium':
      return clamp(prng.normal(140, 2.5), 124, 152);
    case 'haemoglobin': {
      const mean = (female ? 8.4 : 9.3) - (health.anaemia ? 1.6 : 0);
      return clamp(prng.normal(mean, 0.6), 4.5, 12);
    }
    case 'leukocytes':
      return clamp(prng.logNormal(inflamed ? 11 : 6.5, 0.25), 1.5, 35);
    case 'platelets':
      return clamp(prng.normal(inflamed ? 320 : 260, 55), 60, 700);
    case 'mcv':
      return clamp(prng.normal(health.anaemia ? 78 : 90, 4.5), 62, 112);
    case 'cholesterol':
      return clamp(prng.normal(health.dyslipidaemia ? 6.6 : 5.1, 0.8), 2.5, 11);
    case 'hdl':
      return clamp(prng.normal(female ? 1.6 : 1.25, 0.32), 0.5, 3.5);
    case 'triglycerides':
      return clamp(prng.logNormal(health.diabetes || health.dyslipidaemia ? 2.0 : 1.2, 0.4), 0.3, 9);
    case 'tsh':
      return health.thyroid === 'hypo'
        ? clamp(prng.logNormal(8, 0.5), 2, 80)
        : health.thyroid === 'hyper'
          ? clamp(prng.logNormal(0.05, 0.8), 0.01, 0.6)
          : clamp(prng.logNormal(1.6, 0.45), 0.2, 7);
    case 'ft4':
      return health.thyroid === 'hypo'
        ? clamp(prng.normal(10, 1.8), 4, 16)
        : health.thyroid === 'hyper'
          ? clamp(prng.normal(32, 6), 20, 60)
          : clamp(prng.normal(16, 2.3), 9, 25);
    case 'crp':
      return inflamed ? clamp(prng.logNormal(45, 0.8), 8, 350) : clamp(prng.logNormal(2, 0.9), 0.2, 30);
    case 'alt':
      return clamp(prng.logNormal(female ? 20 : 27, 0.4), 5, 400);
    case 'ferritin':
      return health.anaemia ? clamp(prng.logNormal(9, 0.5), 2, 60) : clamp(prng.logNormal(female ? 60 : 150, 0.7), 8, 1200);
    case 'egfr':
    case 'ldl':
      throw new RangeError(`${key} is derived, not drawn`);
  }
}

function measurement(key: TestKey, raw: number, sex: Sex): Measurement {
  const test = NUMERIC_TESTS[key];
  const i = sex === 'female' ? 0 : 1;
  let value = round(raw, test.decimals);
  let comparator: Measurement['comparator'] = null;
  // Dutch labs report eGFR above 90 and CRP below 1 as "> 90" / "< 1".
  if (key === 'egfr' && value > 90) {
    value = 90;
    comparator = '>';
  } else if (key === 'crp' && value < 1) {
    value = 1;
    comparator = '<';
  }
  const low = test.low?.[i];
  const high = test.high?.[i];
  const flag =
    comparator === '>' || comparator === '<'
      ? 'normal'
      : low !== undefined && value < low
        ? 'low'
        : high !== undefined && value > high
          ? 'high'
          : 'normal';
  return { test, value, comparator, flag };
}

/** Measures every test of a profile, deriving eGFR from creatinine and LDL (Friedewald) from the lipids. */
export function measureProfile(profile: LabProfile, ctx: MeasureContext, prng: Prng): Measurement[] {
  const raw = new Map<TestKey, number>();
  const get = (key: TestKey): number => {
    let v = raw.get(key);
    if (v === undefined) {
      if (key === 'egfr') v = ckdEpi(round(get('creatinine'), 0), ctx.age, ctx.sex);
      else if (key === 'ldl') v = clamp(get('cholesterol') - get('hdl') - get('triglycerides') / 2.2, 0.4, 9);
      else v = draw(key, ctx, prng);
      raw.set(key, v);
    }
    return v;
  };
  return profile.tests.map((key) => measurement(key, get(key), ctx.sex));
}

import {
  ADVICE_CODES,
  type AdviceKey,
  CERVICAL_ORDER_CODE,
  CervicalMode,
  CYTOLOGY_CODE,
  GENOTYPE_CODE,
  GENOTYPES,
  HPV_RESULT,
  HRHPV_CODE,
  PAP_CLASSES,
  cervicalOutcome,
} from './cervical-screening.js';
import { INTERPRETATION, RESULT_ABNORMAL, RESULT_NORMAL, SPECIMEN_TYPE } from './fhir-codes.js';
import { addMinutes, ageOn, dayOf, FIRST_CLINICAL_DAY, isoDate, nextWeekday, REFERENCE_DAY, type LocalTime } from './lab-calendar.js';
import type { OrderSpec, ResultSpec } from './lab-record-emitter.js';
import { LAB_PROFILES, measureProfile, monitoringProfile, type Measurement, type ProfileKey } from './lab-tests.js';
import type { SynthPerson } from './person-factory.js';
import { WeightedTable, type Prng } from './prng.js';
import { SYNTH_TENANTS, type SynthTenantId } from './tenants.js';

/**
 * Last day a sample is taken: four weeks before the reference date, so every report (cervical
 * cytology takes up to about three weeks) is issued by the time the synthetic data "is extracted".
 */
export const LAST_SAMPLE_DAY = REFERENCE_DAY - 28;

const SCREENING_REQUESTER = 'Screeningsorganisatie Bevolkingsonderzoek Baarmoederhalskanker (synthetic)';

/** Profiles each kind of requester typically orders when not monitoring a known condition. */
const PROFILE_MIX: Readonly<Record<Exclude<SynthTenantId, 'screening'>, WeightedTable<ProfileKey>>> = {
  'hospital-west': hospitalMix(),
  'hospital-south': hospitalMix(),
  'gp-network': new WeightedTable<ProfileKey>([
    ['hba1c', 14],
    ['glucose', 8],
    ['lipid', 12],
    ['creatinine', 10],
    ['tsh', 10],
    ['haemoglobin', 10],
    ['crp', 6],
    ['ferritin', 6],
    ['cbc', 5],
    ['alt', 4],
    ['renal', 4],
    ['thyroid', 3],
  ]),
  'private-clinic': new WeightedTable<ProfileKey>([
    ['lipid', 12],
    ['thyroid', 10],
    ['ferritin', 10],
    ['hba1c', 8],
    ['cbc', 8],
    ['alt', 6],
    ['crp', 4],
    ['tsh', 4],
    ['glucose', 3],
  ]),
};

function hospitalMix(): WeightedTable<ProfileKey> {
  return new WeightedTable<ProfileKey>([
    ['cbc', 15],
    ['renal', 15],
    ['crp', 12],
    ['lipid', 6],
    ['hba1c', 8],
    ['thyroid', 6],
    ['glucose', 8],
    ['haemoglobin', 6],
    ['creatinine', 8],
    ['alt', 6],
    ['ferritin', 5],
  ]);
}

/** Hospital department that typically orders a profile (ServiceRequest.requester). */
const DEPARTMENTS: Readonly<Record<ProfileKey, readonly string[]>> = {
  hba1c: ['Interne geneeskunde', 'Diabetespolikliniek'],
  glucose: ['Spoedeisende hulp', 'Interne geneeskunde'],
  creatinine: ['Nefrologie', 'Interne geneeskunde', 'Cardiologie'],
  renal: ['Nefrologie', 'Interne geneeskunde', 'Spoedeisende hulp'],
  lipid: ['Cardiologie', 'Vasculaire geneeskunde'],
  thyroid: ['Interne geneeskunde', 'Endocrinologie'],
  tsh: ['Interne geneeskunde', 'Endocrinologie'],
  cbc: ['Hematologie', 'Interne geneeskunde', 'Spoedeisende hulp'],
  haemoglobin: ['Interne geneeskunde', 'Maag-darm-leverziekten'],
  crp: ['Spoedeisende hulp', 'Longziekten', 'Reumatologie'],
  alt: ['Maag-darm-leverziekten', 'Interne geneeskunde'],
  ferritin: ['Hematologie', 'Maag-darm-leverziekten'],
};

/** Chance that an order of a female patient (25–70) is a cervical sample, per tenant. */
const CERVICAL_SHARE: Readonly<Record<Exclude<SynthTenantId, 'screening'>, number>> = {
  'hospital-west': 0.04,
  'hospital-south': 0.04,
  'gp-network': 0.08,
  'private-clinic': 0.25,
};

/** Chance of an acute illness (raised CRP/leukocytes) at the time of an order, per tenant. */
const INFLAMED_SHARE: Readonly<Record<Exclude<SynthTenantId, 'screening'>, number>> = {
  'hospital-west': 0.2,
  'hospital-south': 0.2,
  'gp-network': 0.1,
  'private-clinic': 0.05,
};

const ORDER_COUNT = new WeightedTable<number>([
  [1, 85],
  [2, 12],
  [3, 3],
]);

/** Share of women advised a repeat smear who actually come back for it within the window. */
const FOLLOW_UP_ATTENDANCE = 0.85;

const TENANT_NAME: ReadonlyMap<string, string> = new Map(SYNTH_TENANTS.map((t) => [t.id, t.name]));

/**
 * Decides what was ordered for a person under a tenant, when, and what came out. Pure function of
 * the generator state: no I/O, so it can be reasoned about (and tested) apart from the writers.
 */
export class OrderPlanner {
  constructor(private readonly prng: Prng) {}

  /** All orders of one Patient record, in chronological order. */
  plan(tenant: SynthTenantId, person: SynthPerson): OrderSpec[] {
    return tenant === 'screening' ? this.screening(person) : this.clinical(tenant, person);
  }

  private screening(person: SynthPerson): OrderSpec[] {
    const { prng } = this;
    // Sampled at or after the 30th birthday (the first invitation), inside the data window.
    const birthday30 = thirtiethBirthday(person.birthDay);
    const from = Math.max(FIRST_CLINICAL_DAY, birthday30);
    const day = nextWeekday(prng.between(Math.min(from, LAST_SAMPLE_DAY), LAST_SAMPLE_DAY));
    const first = this.cervicalOrder(CervicalMode.Screening, person, day, SCREENING_REQUESTER);
    const orders = [first.order];
    if (first.advice === 'repeat-6m' && prng.chance(FOLLOW_UP_ATTENDANCE)) {
      const repeatDay = nextWeekday(day + 182 + prng.between(-14, 28));
      if (repeatDay <= LAST_SAMPLE_DAY) {
        orders.push(this.cervicalOrder(CervicalMode.FollowUp, person, repeatDay, SCREENING_REQUESTER).order);
      }
    }
    return orders;
  }

  private clinical(tenant: Exclude<SynthTenantId, 'screening'>, person: SynthPerson): OrderSpec[] {
    const { prng } = this;
    const count = ORDER_COUNT.pick(prng);
    const days: number[] = [];
    for (let i = 0; i < count; i++) days.push(nextWeekday(prng.between(FIRST_CLINICAL_DAY, LAST_SAMPLE_DAY)));
    days.sort((a, b) => a - b);
    const orders: OrderSpec[] = [];
    for (const day of days) {
      const age = ageOn(person.birthDay, day);
      if (person.gender === 'female' && age >= 25 && age <= 70 && prng.chance(CERVICAL_SHARE[tenant])) {
        const mode = tenant === 'hospital-west' || tenant === 'hospital-south' ? CervicalMode.CoTest : CervicalMode.Indication;
        const requester = this.requester(tenant, person, mode === CervicalMode.CoTest ? 'Gynaecologie' : null);
        orders.push(this.cervicalOrder(mode, person, day, requester).order);
      } else {
        orders.push(this.labOrder(tenant, person, day, age));
      }
    }
    return orders;
  }

  private labOrder(tenant: Exclude<SynthTenantId, 'screening'>, person: SynthPerson, day: number, age: number): OrderSpec {
    const { prng } = this;
    const key = (prng.chance(0.5) ? monitoringProfile(person.health, prng) : null) ?? PROFILE_MIX[tenant].pick(prng);
    const profile = LAB_PROFILES[key];
    const measurements = measureProfile(
      profile,
      { sex: person.gender, age, health: person.health, inflamed: prng.chance(INFLAMED_SHARE[tenant]) },
      prng,
    );
    const hospital = tenant === 'hospital-west' || tenant === 'hospital-south';
    const collected: LocalTime = { day, minute: prng.between(450, 990) };
    // Hospital samples go to the lab by pneumatic tube; GP and clinic samples by courier.
    const received = addMinutes(collected, hospital ? prng.between(15, 90) : prng.between(90, 300));
    const issued = workingHours(addMinutes(received, prng.between(40, 240)), prng);
    const abnormal = measurements.filter((m) => m.flag !== 'normal');
    return {
      code: profile.code,
      requester: this.requester(tenant, person, hospital ? prng.pick(DEPARTMENTS[key]) : null),
      specimenType: SPECIMEN_TYPE[profile.specimen],
      collected,
      received,
      issued,
      results: measurements.map((m) => quantityResult(m, person.gender)),
      conclusion:
        abnormal.length === 0
          ? 'Alle uitslagen binnen de referentiewaarden.'
          : `Afwijkend: ${abnormal.map((m) => `${m.test.text} ${m.flag === 'high' ? 'verhoogd' : 'verlaagd'}`).join(', ')}.`,
      conclusionCode: abnormal.length === 0 ? [RESULT_NORMAL] : [RESULT_ABNORMAL],
    };
  }

  private cervicalOrder(mode: CervicalMode, person: SynthPerson, day: number, requester: string): { order: OrderSpec; advice: AdviceKey } {
    const { prng } = this;
    const outcome = cervicalOutcome(mode, ageOn(person.birthDay, day), prng);
    const results: ResultSpec[] = [];
    if (outcome.hpvPositive !== null) {
      results.push({ code: HRHPV_CODE, valueCodeableConcept: outcome.hpvPositive ? HPV_RESULT.positive : HPV_RESULT.negative });
    }
    if (outcome.genotype !== null) {
      results.push({ code: GENOTYPE_CODE, valueCodeableConcept: GENOTYPES[outcome.genotype].value });
    }
    if (outcome.pap !== null) {
      results.push({ code: CYTOLOGY_CODE, valueCodeableConcept: PAP_CLASSES[outcome.pap].value });
    }
    // Smears are taken at the GP practice and posted; hrHPV runs in batches, cytology takes longer.
    const collected: LocalTime = { day, minute: prng.between(480, 990) };
    const received: LocalTime = { day: nextWeekday(day + prng.between(1, 3)), minute: prng.between(420, 660) };
    const turnaround = outcome.pap === null ? prng.between(3, 8) : prng.between(6, 14);
    const issued: LocalTime = { day: nextWeekday(received.day + turnaround), minute: prng.between(540, 1020) };
    return {
      advice: outcome.advice,
      order: {
        code: CERVICAL_ORDER_CODE[mode],
        requester,
        specimenType: SPECIMEN_TYPE.cervix,
        collected,
        received,
        issued,
        results,
        conclusion: outcome.conclusion,
        conclusionCode: ADVICE_CODES[outcome.advice],
      },
    };
  }

  private requester(tenant: SynthTenantId, person: SynthPerson, department: string | null): string {
    if (tenant === 'gp-network') return person.generalPractitioner;
    const name = TENANT_NAME.get(tenant) ?? tenant;
    return department === null ? name : `${department}, ${name}`;
  }
}

/** Day number of the 30th birthday (29 February rolls to 1 March, as Date.UTC does). */
function thirtiethBirthday(birthDay: number): number {
  const iso = isoDate(birthDay);
  return dayOf(Number(iso.slice(0, 4)) + 30, Number(iso.slice(5, 7)), Number(iso.slice(8, 10)));
}

/** Reports validated after 21:00 are released the next morning. */
function workingHours(t: LocalTime, prng: Prng): LocalTime {
  return t.minute > 1260 || t.minute < 420 ? { day: t.day + (t.minute > 1260 ? 1 : 0), minute: prng.between(450, 570) } : t;
}

function quantityResult(m: Measurement, sex: SynthPerson['gender']): ResultSpec {
  const t = m.test;
  return {
    code: t.code,
    valueQuantity:
      m.comparator === null
        ? { value: m.value, unit: t.unit, system: 'http://unitsofmeasure.org', code: t.ucum }
        : { value: m.value, comparator: m.comparator, unit: t.unit, system: 'http://unitsofmeasure.org', code: t.ucum },
    interpretation: INTERPRETATION[m.flag],
    referenceRange: t.referenceRange[sex === 'female' ? 0 : 1],
  };
}

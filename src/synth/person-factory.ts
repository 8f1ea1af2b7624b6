import type { BsnSequence } from './bsn-sequence.js';
import { POSTCODE_SUFFIXES, type Region } from './dutch-places.js';
import type { Cohort, IdentityPools, PooledName } from './identity-pools.js';
import { dayOf, isoDate, REFERENCE_DAY, yearOf } from './lab-calendar.js';
import { drawHealthState, type HealthState, type Sex } from './lab-tests.js';
import { WeightedTable, type Prng } from './prng.js';

/** One synthetic resident: the identity shared by all of their Patient records. */
export interface SynthPerson {
  bsn: string;
  given: string[];
  family: string;
  gender: Sex;
  birthDay: number;
  birthDate: string;
  addressLine: string;
  postalCode: string;
  city: string;
  phone: string;
  email: string;
  generalPractitioner: string;
  insurer: string;
  health: HealthState;
}

export interface PersonConstraints {
  /** Eligible for cervical screening: female, aged 30–65 on the reference date. */
  screening: boolean;
  /** Home region of the tenant that mainly treats this person; null for the national programme. */
  region: Region | null;
  /** Share of persons living in `region` (the rest is spread nationally). */
  regionShare: number;
}

/**
 * Birth days that make someone 30–65 on the reference date (1 July 2025). The youngest are born by
 * 1 June 1995, so even they turn 30 — the first invitation — before the last sample day.
 */
const SCREENING_BIRTH_FIRST = dayOf(1959, 7, 2);
const SCREENING_BIRTH_LAST = dayOf(1995, 6, 1);

/** Age bands of adults seen by hospitals, GPs and clinics: older people are tested more often. */
const ADULT_AGE_BANDS = new WeightedTable<readonly [number, number]>([
  [[18, 29], 10],
  [[30, 39], 12],
  [[40, 49], 14],
  [[50, 59], 18],
  [[60, 69], 20],
  [[70, 79], 17],
  [[80, 92], 9],
]);

/** Persons whose names come from one of the migration origins (Turkish, Moroccan, Surinamese…). */
const MIGRATION_SHARE = 0.05;

/** Which given-name cohort a birth year draws from: [born before, mix]. */
const COHORT_MIX: ReadonlyArray<readonly [number, WeightedTable<Cohort>]> = [
  [
    1960,
    new WeightedTable<Cohort>([
      ['older', 85],
      ['middle', 10],
      ['modern', 5],
    ]),
  ],
  [
    1980,
    new WeightedTable<Cohort>([
      ['older', 30],
      ['middle', 60],
      ['modern', 10],
    ]),
  ],
  [
    1995,
    new WeightedTable<Cohort>([
      ['older', 5],
      ['middle', 55],
      ['modern', 40],
    ]),
  ],
  [
    Number.POSITIVE_INFINITY,
    new WeightedTable<Cohort>([
      ['middle', 25],
      ['modern', 75],
    ]),
  ],
];
const GP_AREAS = ['Centrum', 'Noord', 'Oost', 'Zuid', 'West'] as const;

/**
 * Assembles persons from the identity pools with the fast PRNG. All choices are drawn in a fixed
 * order, so a person depends only on the generator state when it is created.
 */
export class PersonFactory {
  constructor(
    private readonly prng: Prng,
    private readonly pools: IdentityPools,
    private readonly bsns: BsnSequence,
  ) {}

  create(c: PersonConstraints): SynthPerson {
    const { prng, pools } = this;
    const gender: Sex = c.screening || prng.chance(0.53) ? 'female' : 'male';
    const birthDay = c.screening ? prng.between(SCREENING_BIRTH_FIRST, SCREENING_BIRTH_LAST) : this.adultBirthDay();
    const birthYear = yearOf(birthDay);
    const { given, family } = this.name(gender, birthYear);
    const region = c.region !== null && prng.chance(c.regionShare) ? pools.placesByRegion.get(c.region) : undefined;
    const place = (region ?? pools.places).pick(prng);
    const postcode = prng.between(place.postcodeFrom, place.postcodeTo);
    const age = Math.floor((REFERENCE_DAY - birthDay) / 365.25);
    return {
      bsn: this.bsns.next(),
      given: given.map((g) => g.name),
      family: family.name,
      gender,
      birthDay,
      birthDate: isoDate(birthDay),
      addressLine: `${prng.pick(pools.streets)} ${this.houseNumber()}`,
      postalCode: `${postcode} ${prng.pick(POSTCODE_SUFFIXES)}`,
      city: place.city,
      phone: `+31 6 ${prng.between(10_000_000, 69_999_999)}`,
      email: this.email(given[0] ?? family, family, birthYear),
      generalPractitioner: prng.chance(0.8) ? prng.pick(pools.practices) : `Gezondheidscentrum ${place.city} ${prng.pick(GP_AREAS)}`,
      insurer: pools.insurers.pick(prng),
      health: drawHealthState(prng, age),
    };
  }

  private adultBirthDay(): number {
    const [from, to] = ADULT_AGE_BANDS.pick(this.prng);
    const age = this.prng.between(from, to);
    return REFERENCE_DAY - Math.round(age * 365.25) - this.prng.int(365);
  }

  private name(gender: Sex, birthYear: number): { given: PooledName[]; family: PooledName } {
    const { prng, pools } = this;
    if (prng.chance(MIGRATION_SHARE)) {
      const origin = pools.origins.pick(prng);
      return {
        given: [prng.pick(gender === 'female' ? origin.female : origin.male)],
        family: prng.pick(origin.family),
      };
    }
    // Faker's Dutch first names are recent baby names; older cohorts get the names of their time.
    const names = pools.givenNames[gender];
    const first = prng.pick(names[COHORT_MIX.find(([born]) => birthYear < born)?.[1].pick(prng) ?? 'modern']);
    const given = [first];
    // Official (BRP) names often include a second, traditional given name.
    if (prng.chance(0.35)) {
      const second = prng.pick(names.older);
      if (second.name !== first.name) given.push(second);
    }
    return { given, family: pools.family.pick(prng) };
  }

  private houseNumber(): string {
    const { prng } = this;
    const n = 1 + Math.floor(220 * prng.next() ** 2);
    const r = prng.next();
    if (r < 0.07) return `${n}${prng.pick(['a', 'b', 'c'])}`;
    if (r < 0.12) return `${n}-${prng.between(1, 3)}`;
    if (r < 0.14) return `${n} bis`;
    return String(n);
  }

  private email(given: PooledName, family: PooledName, birthYear: number): string {
    const { prng } = this;
    const g = given.slug;
    const f = family.slug;
    const domain = prng.pick(this.pools.mailDomains);
    const r = prng.next();
    let local: string;
    if (r < 0.4) local = `${g}.${f}`;
    else if (r < 0.55) local = `${g}${f}`;
    else if (r < 0.7) local = `${g.charAt(0)}.${f}`;
    else if (r < 0.85) local = `${g}.${f}${String(birthYear % 100).padStart(2, '0')}`;
    else if (r < 0.95) local = `${f}.${g}`;
    else local = `${g}${prng.between(1, 999)}`;
    return `${local}@${domain}`;
  }
}

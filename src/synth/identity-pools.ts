import { Faker, base, nl } from '@faker-js/faker';
import { DUTCH_PLACES, Region, type DutchPlace } from './dutch-places.js';
import {
  MIDDLE_FEMALE_GIVEN,
  MIDDLE_MALE_GIVEN,
  OLDER_FEMALE_GIVEN,
  OLDER_MALE_GIVEN,
  DE_BASES,
  FRISIAN_STEMS,
  INSURERS,
  LANDSCAPE_NOUNS,
  MAIL_DOMAINS,
  MIGRATION_ORIGINS,
  PATRONYM_STEMS,
  PLAIN_SURNAMES,
  PRACTICE_NAMES,
  STREET_HONOURS,
  STREET_QUALIFIERS,
  STREET_STEMS,
  STREET_SUFFIXES,
  TER_TEN_BASES,
  TOP_SURNAMES,
  type NameOrigin,
} from './dutch-names.js';
import type { Sex } from './lab-tests.js';
import { WeightedTable } from './prng.js';

/** A name and its ASCII slug for e-mail local parts (computed once, not per person). */
export interface PooledName {
  name: string;
  slug: string;
}

/**
 * Everything a synthetic identity is assembled from. Built once per run from a seeded faker so the
 * hot loop only indexes into arrays with the fast PRNG.
 */
export interface IdentityPools {
  /** Given names by birth cohort: faker's (mostly recent) Dutch names are the "modern" ones. */
  givenNames: Readonly<Record<Sex, Readonly<Record<Cohort, readonly PooledName[]>>>>;
  /** Dutch surnames, common ones weighted up, including forms with a tussenvoegsel. */
  family: WeightedTable<PooledName>;
  origins: WeightedTable<PooledOrigin>;
  streets: readonly string[];
  /** GP practices not tied to a city. */
  practices: readonly string[];
  insurers: WeightedTable<string>;
  mailDomains: readonly string[];
  /** Places by population, nationally and per region. */
  places: WeightedTable<DutchPlace>;
  placesByRegion: ReadonlyMap<Region, WeightedTable<DutchPlace>>;
}

export interface PooledOrigin {
  female: readonly PooledName[];
  male: readonly PooledName[];
  family: readonly PooledName[];
}

export type Cohort = 'older' | 'middle' | 'modern';

const TOPONYMIC_COUNT = 1800;
const HONOUR_STREET_COUNT = 150;
const PLACE_STREET_COUNT = 1500;
const PRACTICE_COUNT = 2500;

const FOLD: Readonly<Record<string, string>> = { ı: 'i', ł: 'l', ø: 'o', ß: 'ss', æ: 'ae', đ: 'd' };

/** Lower-case ASCII letters only: "van der Berg" → "vanderberg", "Şahin" → "sahin". */
export function slugify(name: string): string {
  return name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[ıłøßæđ]/g, (c) => FOLD[c] ?? '')
    .replace(/[^a-z]/g, '');
}

function pooled(names: readonly string[]): PooledName[] {
  return names.map((name) => ({ name, slug: slugify(name) }));
}

/** Distinct values, first occurrence wins (keeps the order, and so the output, deterministic). */
function unique(names: readonly string[]): string[] {
  return [...new Set(names)];
}

function surnames(faker: Faker): WeightedTable<PooledName> {
  // Three tiers of a Zipf-like frequency curve: the real top names, faker's list of common Dutch
  // names (alphabetical, so weighted evenly), and a long tail of generated names.
  const head = unique(TOP_SURNAMES);
  const headSet = new Set(head);
  const common = unique(faker.definitions.person?.last_name?.generic ?? []).filter((n) => !headSet.has(n));
  const commonSet = new Set(common);
  const placeStems = faker.definitions.location?.city_prefix ?? [];
  const generated: string[] = [];
  for (const place of faker.helpers.arrayElements(placeStems, Math.min(TOPONYMIC_COUNT, placeStems.length))) {
    if (/^[A-Z][a-zâêëïöü]+$/.test(place)) generated.push(`van ${place}`);
  }
  for (const noun of LANDSCAPE_NOUNS) {
    generated.push(`van de ${noun}`, `van der ${noun}`, `van den ${noun}`);
  }
  for (const stem of TER_TEN_BASES) generated.push(`ter ${stem}`, `ten ${stem}`);
  for (const stem of DE_BASES) generated.push(`de ${stem}`);
  for (const stem of FRISIAN_STEMS) generated.push(`${stem}stra`, `${stem}ma`);
  for (const stem of PATRONYM_STEMS) generated.push(`${stem}sen`, `${stem}s`, `${stem}se`);
  generated.push(...PLAIN_SURNAMES);
  const tail = faker.helpers.shuffle(unique(generated).filter((n) => !headSet.has(n) && !commonSet.has(n)));
  const entries: Array<readonly [PooledName, number]> = [];
  // Relative weights tuned so that de Jong covers ~0.6 % of persons, a name from faker's list
  // ~0.1 % and a tail name 0.1–0.02 %, roughly the shape of the real Dutch distribution.
  head.forEach((name, rank) => entries.push([{ name, slug: slugify(name) }, 2.5 / (1 + rank / 6)]));
  common.forEach((name) => entries.push([{ name, slug: slugify(name) }, 0.5]));
  tail.forEach((name, rank) => entries.push([{ name, slug: slugify(name) }, 0.35 / (1 + rank / 500)]));
  return new WeightedTable(entries);
}

function streets(faker: Faker, familyNames: readonly string[], placeStems: readonly string[]): string[] {
  const suffixes = STREET_SUFFIXES.map(([value, weight]) => ({ value, weight }));
  const out: string[] = [];
  for (const stem of STREET_STEMS) {
    // Every stem occurs with several suffixes, as in real towns (Eikenlaan, Eikenhof).
    const count = faker.number.int({ min: 2, max: 4 });
    for (let i = 0; i < count; i++) {
      const name = stem + faker.helpers.weightedArrayElement(suffixes);
      out.push(name);
      // Old town centres have "Korte Kerkstraat" next to "Lange Kerkstraat".
      if (faker.number.int({ min: 0, max: 99 }) < 30) out.push(`${faker.helpers.arrayElement(STREET_QUALIFIERS)} ${name}`);
    }
  }
  // Streets named after villages elsewhere in the country ("Waspikstraat", "Velplaan").
  const placeSuffixes = suffixes.filter((s) => ['straat', 'laan', 'weg', 'hof', 'plein'].includes(s.value));
  for (const place of faker.helpers.arrayElements(placeStems, Math.min(PLACE_STREET_COUNT, placeStems.length))) {
    if (/^[A-Z][a-zâêëïöü]+$/.test(place)) out.push(place + faker.helpers.weightedArrayElement(placeSuffixes));
  }
  // Streets named after a local worthy: "Burgemeester Van der Veenlaan". The tussenvoegsel is
  // capitalised when it follows a title, per Dutch spelling rules.
  for (const family of faker.helpers.arrayElements(familyNames, HONOUR_STREET_COUNT)) {
    const title = faker.helpers.arrayElement(STREET_HONOURS);
    const capitalised = family.charAt(0).toUpperCase() + family.slice(1);
    out.push(`${title} ${capitalised}${faker.helpers.arrayElement(['straat', 'laan', 'weg', 'plein'])}`);
  }
  return unique(out);
}

function practices(faker: Faker, familyNames: readonly string[]): string[] {
  const out: string[] = [];
  const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
  for (let i = 0; i < PRACTICE_COUNT; i++) {
    const roll = faker.number.int({ min: 0, max: 99 });
    const a = faker.helpers.arrayElement(familyNames);
    if (roll < 55) out.push(`Huisartsenpraktijk ${cap(a)}`);
    else if (roll < 80) out.push(`Huisartsen ${cap(a)} & ${cap(faker.helpers.arrayElement(familyNames))}`);
    else out.push(`Huisartsenpraktijk ${faker.helpers.arrayElement(PRACTICE_NAMES)}`);
  }
  return unique(out);
}

/**
 * Builds the identity pools for a seed. Deterministic for a given seed and faker version (faker
 * is pinned in package.json; a faker upgrade may change generated output).
 */
export function buildIdentityPools(seed: number): IdentityPools {
  const faker = new Faker({ locale: [nl, base] });
  faker.seed(seed);
  const firstNames = faker.definitions.person?.first_name;
  const family = surnames(faker);
  // A flat list for composing street and practice names (weights do not matter there).
  const familyNames = unique([
    ...TOP_SURNAMES,
    ...(faker.definitions.person?.last_name?.generic ?? []),
    ...PLAIN_SURNAMES,
    ...DE_BASES.map((b) => `de ${b}`),
    ...LANDSCAPE_NOUNS.map((n) => `van der ${n}`),
  ]);
  const placesByRegion = new Map<Region, WeightedTable<DutchPlace>>();
  for (const region of Object.values(Region)) {
    placesByRegion.set(region, new WeightedTable(DUTCH_PLACES.filter((p) => p.region === region).map((p) => [p, p.weight] as const)));
  }
  return {
    givenNames: {
      female: {
        older: pooled(OLDER_FEMALE_GIVEN),
        middle: pooled(MIDDLE_FEMALE_GIVEN),
        modern: pooled(unique(firstNames?.female ?? MIDDLE_FEMALE_GIVEN)),
      },
      male: {
        older: pooled(OLDER_MALE_GIVEN),
        middle: pooled(MIDDLE_MALE_GIVEN),
        modern: pooled(unique(firstNames?.male ?? MIDDLE_MALE_GIVEN)),
      },
    },
    family,
    origins: new WeightedTable(
      MIGRATION_ORIGINS.map(
        (o: NameOrigin) => [{ female: pooled(o.female), male: pooled(o.male), family: pooled(o.family) }, o.weight] as const,
      ),
    ),
    streets: streets(faker, familyNames, faker.definitions.location?.city_prefix ?? []),
    practices: practices(faker, familyNames),
    insurers: new WeightedTable(INSURERS),
    mailDomains: MAIL_DOMAINS,
    places: new WeightedTable(DUTCH_PLACES.map((p) => [p, p.weight] as const)),
    placesByRegion,
  };
}

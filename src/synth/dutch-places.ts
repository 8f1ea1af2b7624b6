/**
 * Dutch municipalities with the four-digit postcode range they occupy, so a synthetic address has
 * a postcode that plausibly belongs to its city. Ranges are approximate (a few numbers inside a
 * range may not exist); weights are rough populations in thousands, so big cities dominate the
 * way they do in real patient populations.
 */

/** Coarse region; tenants recruit most of their patients from their own region. */
export const Region = {
  West: 'west',
  Mid: 'mid',
  East: 'east',
  North: 'north',
  South: 'south',
} as const;
export type Region = (typeof Region)[keyof typeof Region];

export interface DutchPlace {
  city: string;
  postcodeFrom: number;
  postcodeTo: number;
  region: Region;
  weight: number;
}

type Row = readonly [city: string, from: number, to: number, region: Region, weight: number];

const ROWS: readonly Row[] = [
  ['Amsterdam', 1011, 1109, 'west', 930],
  ['Rotterdam', 3011, 3089, 'west', 655],
  ["'s-Gravenhage", 2491, 2599, 'west', 560],
  ['Haarlem', 2011, 2037, 'west', 165],
  ['Zaandam', 1501, 1509, 'west', 80],
  ['Amstelveen', 1181, 1189, 'west', 92],
  ['Hoofddorp', 2131, 2136, 'west', 80],
  ['Alkmaar', 1811, 1825, 'west', 110],
  ['Hilversum', 1211, 1223, 'west', 92],
  ['Purmerend', 1441, 1448, 'west', 93],
  ['Hoorn', 1621, 1628, 'west', 74],
  ['Den Helder', 1781, 1789, 'west', 56],
  ['Leiden', 2311, 2334, 'west', 127],
  ['Delft', 2611, 2629, 'west', 105],
  ['Zoetermeer', 2711, 2729, 'west', 126],
  ['Dordrecht', 3311, 3329, 'west', 120],
  ['Schiedam', 3111, 3125, 'west', 80],
  ['Vlaardingen', 3131, 3138, 'west', 75],
  ['Gouda', 2801, 2809, 'west', 75],
  ['Alphen aan den Rijn', 2401, 2409, 'west', 115],
  ['Rijswijk', 2281, 2289, 'west', 57],
  ['Voorburg', 2271, 2275, 'west', 40],
  ['Capelle aan den IJssel', 2901, 2909, 'west', 67],
  ['Spijkenisse', 3201, 3208, 'west', 73],
  ['Naaldwijk', 2671, 2672, 'west', 20],
  ['Katwijk', 2221, 2225, 'west', 66],
  ['Utrecht', 3511, 3585, 'mid', 360],
  ['Amersfoort', 3811, 3829, 'mid', 160],
  ['Nieuwegein', 3431, 3439, 'mid', 64],
  ['Zeist', 3701, 3709, 'mid', 65],
  ['Veenendaal', 3901, 3907, 'mid', 67],
  ['Houten', 3991, 3997, 'mid', 50],
  ['IJsselstein', 3401, 3405, 'mid', 34],
  ['Woerden', 3441, 3448, 'mid', 52],
  ['Almere', 1311, 1363, 'mid', 220],
  ['Lelystad', 8211, 8245, 'mid', 80],
  ['Ede', 6711, 6718, 'mid', 120],
  ['Apeldoorn', 7311, 7339, 'east', 165],
  ['Arnhem', 6811, 6846, 'east', 165],
  ['Nijmegen', 6511, 6546, 'east', 180],
  ['Enschede', 7511, 7548, 'east', 160],
  ['Zwolle', 8011, 8043, 'east', 130],
  ['Deventer', 7411, 7429, 'east', 102],
  ['Hengelo', 7550, 7559, 'east', 81],
  ['Almelo', 7601, 7609, 'east', 73],
  ['Doetinchem', 7001, 7009, 'east', 58],
  ['Harderwijk', 3841, 3849, 'east', 48],
  ['Groningen', 9711, 9747, 'north', 235],
  ['Leeuwarden', 8911, 8939, 'north', 125],
  ['Emmen', 7811, 7828, 'north', 108],
  ['Assen', 9401, 9409, 'north', 69],
  ['Heerenveen', 8441, 8449, 'north', 51],
  ['Drachten', 9200, 9204, 'north', 45],
  ['Sneek', 8601, 8605, 'north', 34],
  ['Hoogeveen', 7901, 7908, 'north', 56],
  ['Eindhoven', 5611, 5658, 'south', 240],
  ['Tilburg', 5011, 5049, 'south', 225],
  ['Breda', 4811, 4839, 'south', 185],
  ["'s-Hertogenbosch", 5211, 5247, 'south', 160],
  ['Helmond', 5701, 5709, 'south', 93],
  ['Oss', 5341, 5349, 'south', 93],
  ['Roosendaal', 4701, 4709, 'south', 77],
  ['Bergen op Zoom', 4611, 4625, 'south', 68],
  ['Veldhoven', 5501, 5509, 'south', 46],
  ['Waalwijk', 5141, 5146, 'south', 49],
  ['Maastricht', 6211, 6229, 'south', 121],
  ['Venlo', 5911, 5928, 'south', 102],
  ['Heerlen', 6411, 6422, 'south', 87],
  ['Sittard', 6131, 6137, 'south', 47],
  ['Roermond', 6041, 6046, 'south', 59],
  ['Middelburg', 4331, 4339, 'south', 49],
  ['Vlissingen', 4381, 4389, 'south', 45],
  ['Goes', 4461, 4465, 'south', 38],
];

/** All places, in a fixed order (the order matters for determinism). */
export const DUTCH_PLACES: readonly DutchPlace[] = ROWS.map(([city, postcodeFrom, postcodeTo, region, weight]) => ({
  city,
  postcodeFrom,
  postcodeTo,
  region,
  weight,
}));

/**
 * Letters used in the two-letter postcode suffix: F, I, O, Q, U and Y are never issued, nor are the
 * combinations SA, SD and SS.
 */
const POSTCODE_LETTERS = 'ABCDEGHJKLMNPRSTVWXZ';
const FORBIDDEN_SUFFIXES: ReadonlySet<string> = new Set(['SA', 'SD', 'SS']);

/** Every allowed two-letter postcode suffix (about 400). */
export const POSTCODE_SUFFIXES: readonly string[] = (() => {
  const out: string[] = [];
  for (const a of POSTCODE_LETTERS) {
    for (const b of POSTCODE_LETTERS) {
      const s = a + b;
      if (!FORBIDDEN_SUFFIXES.has(s)) out.push(s);
    }
  }
  return out;
})();

/**
 * Which words of an unnamed record (a log line, a CSV without header) may be a family name: a
 * capitalised word (Jansen, JANSEN, Öztürk) that is not lab or log vocabulary and not a street
 * name, or a name particle (van, de) before one. When a record has no capitalised word at all
 * (everything in lower case) every word may be one. This keeps a dated record from spending its
 * key budget on "info", "get", "positief" or "Kerkstraat".
 */
const P1 = 0x01000193;

/** The hash the name-date keys compute per word: polynomial over the lower-case letters. */
export function wordHash(word: string): number {
  let h = 0;
  for (let i = 0; i < word.length; i++) h = (Math.imul(h, P1) + (word.charCodeAt(i) | 0x20)) | 0;
  return h;
}

const NOT_NAMES = [
  // lab results
  'hrhpv', 'hpv', 'cytologie', 'cytology', 'pap', 'uitslag', 'uitslagen', 'result', 'results', 'resultaat', 'positief',
  'negatief', 'positive', 'negative', 'observation', 'obx', 'pid', 'msh', 'obr', 'conclusie', 'afwijkend', 'normaal',
  // logs and records
  'info', 'warn', 'warning', 'error', 'debug', 'trace', 'get', 'post', 'put', 'delete', 'patch', 'http', 'https', 'request',
  'response', 'user', 'status', 'bytes', 'patient', 'patienten', 'bsn', 'naam', 'name', 'geb', 'geboren', 'geboortedatum',
  'datum', 'date', 'born', 'dob', 'lookup', 'identifier', 'id', 'www', 'com', 'nl', 'org', 'example', 'mail', 'email',
  'tel', 'telefoon', 'adres', 'address', 'postcode', 'woonplaats', 'straat', 'mevrouw', 'meneer', 'mevr', 'dhr', 'mw',
  'true', 'false', 'null',
  // months and days (not "Jan": a given name, and a family name too)
  'januari', 'februari', 'maart', 'april', 'mei', 'juni', 'juli', 'augustus', 'september', 'oktober', 'november', 'december',
  'maandag', 'dinsdag', 'woensdag', 'donderdag', 'vrijdag', 'zaterdag', 'zondag',
]; // prettier-ignore
export const NOT_A_NAME: ReadonlySet<number> = new Set(NOT_NAMES.map(wordHash));

const STREET_SUFFIXES = ['straat', 'laan', 'weg', 'plein', 'gracht', 'kade', 'singel', 'dreef', 'steeg', 'hof', 'pad'].map((s) =>
  Buffer.from(s, 'latin1'),
);

/** A street name: a word ending in a street suffix after at least 3 more letters (Kerkstraat, Dorpsweg). */
export function isStreetName(buf: Uint8Array, s: number, e: number): boolean {
  for (const suffix of STREET_SUFFIXES) {
    const from = e - suffix.length;
    if (from < s + 3) continue;
    let same = true;
    for (let k = 0; k < suffix.length && same; k++) same = ((buf[from + k] as number) | 0x20) === suffix[k];
    if (same) return true;
  }
  return false;
}

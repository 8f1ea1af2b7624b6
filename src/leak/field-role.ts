/**
 * What a named field (CSV header, SQL column, JSON key, XML element or attribute) holds, as far as
 * leak matching cares: a BSN (an 8-digit value there lost its leading zero), a birth date (the date
 * to pair with a name), a family name or a whole name (the words to pair with it), a given name
 * (never a family name), or something else (a date there is, say, the collection date).
 */
export const Role = {
  /** Unnamed (plain text, a CSV without header): anything may be anything. */
  None: 0,
  Bsn: 1,
  Birth: 2,
  Family: 3,
  Given: 4,
  Other: 5,
  /** A whole name ("naam": "Jan de Vries"): the family name is some of its words. */
  FullName: 6,
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/** A field whose words may be (or be part of) the family name. */
export function isNameRole(role: number): boolean {
  return role === Role.Family || role === Role.FullName;
}

const BSN = ['bsn', 'burgerservicenummer', 'sofinummer', 'sofinr', 'socialsecuritynumber', 'citizenservicenumber', 'nationalid'];
const BSN_EXACT = ['ssn', 'sofi'];
const BIRTH = ['geboortedatum', 'gebdatum', 'gebdat', 'geboren', 'birth', 'dob', 'born'];
const GIVEN = ['voornaam', 'voornamen', 'roepnaam', 'voorletter', 'given', 'firstname', 'forename', 'initial'];
const FAMILY = ['achternaam', 'geslachtsnaam', 'familienaam', 'family', 'surname', 'lastname', 'tussenvoegsel', 'voorvoegsel'];
/** "…naam"/"…name" fields that are not a person's name. */
const NOT_A_PERSON = ['user', 'file', 'host', 'straat', 'street', 'org', 'praktijk', 'practice', 'huisarts', 'arts', 'doctor', 'lab'];
const NOT_A_PERSON_2 = ['instelling', 'display', 'city', 'plaats', 'product', 'test', 'table', 'column', 'schema', 'type', 'code'];
const NAME = ['naam', 'name'];
/** English "…name" words that name a person ("afname", "opname" — Dutch: collection, admission — do not). */
const NAME_PREFIXES = ['full', 'patient', 'person', 'client', 'complete', 'legal', 'birth'];

/** A word of the name is "naam"/"name", ends in "naam" (patientnaam, geboortenaam) or is fullName, patient_name … */
function isPersonName(raw: string): boolean {
  const words = raw
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z]+/)
    .filter((w) => w !== '');
  return words.some((w) => NAME.includes(w) || w.endsWith('naam') || (w.endsWith('name') && NAME_PREFIXES.includes(w.slice(0, -4))));
}

function has(name: string, parts: readonly string[]): boolean {
  for (const p of parts) if (name.includes(p)) return true;
  return false;
}

/** Role of a field name (any case, any punctuation: "Geboorte_datum", "birthDate", "PATIENT-BSN"). */
export function fieldRole(raw: string): Role {
  const name = raw.toLowerCase().replace(/[^a-z]/g, '');
  if (name === '') return Role.None;
  if (has(name, BSN) || BSN_EXACT.includes(name)) return Role.Bsn;
  // "geboortenaam"/"birthName" is the family name at birth, not a date.
  if (has(name, BIRTH) && !has(name, NAME)) return Role.Birth;
  if (has(name, GIVEN)) return Role.Given;
  if (has(name, FAMILY)) return Role.Family;
  if (isPersonName(raw) && !has(name, NOT_A_PERSON) && !has(name, NOT_A_PERSON_2)) return Role.FullName;
  return Role.Other;
}

const CACHE_SLOTS = 1024;

/**
 * fieldRole of a name given as bytes, memoised by the bytes themselves: JSON and XML repeat the
 * same few keys in every record, and building a string per key would cost more than the scan.
 */
export class RoleCache {
  private readonly keys: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(CACHE_SLOTS);
  private readonly roles = new Uint8Array(CACHE_SLOTS);

  roleOf(buf: Uint8Array, s: number, e: number): Role {
    const len = e - s;
    if (len <= 0) return Role.None;
    let h = len * 31 + (buf[s] as number);
    h = h * 31 + (buf[e - 1] as number);
    h = h * 31 + (buf[s + (len >> 1)] as number);
    const slot = h & (CACHE_SLOTS - 1);
    const k = this.keys[slot];
    if (k !== undefined && k.length === len) {
      let same = true;
      for (let i = 0; i < len; i++)
        if (k[i] !== buf[s + i]) {
          same = false;
          break;
        }
      if (same) return this.roles[slot] as Role;
    }
    const role = fieldRole(Buffer.from(buf.buffer, buf.byteOffset + s, len).toString('utf8'));
    this.keys[slot] = buf.slice(s, e);
    this.roles[slot] = role;
    return role;
  }
}

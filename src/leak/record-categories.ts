import { bsnAt } from './bsn-digits.js';
import { formattedBsnAt } from './formatted-bsn.js';
import { DataCategory } from './scan-types.js';

/**
 * The data categories in one record, by content. Run only on records with a hit (the hot loop
 * never pays for it), and without building a string per word (words are hashed):
 * - names: a capitalised word (Xxx…) that is not lab vocabulary — conservative: a city counts too;
 * - addresses: a Dutch postcode (1234 AB) or a street word (…straat, …weg, …laan) before a number;
 * - contact: an e-mail address or a Dutch phone number (06…, 020 …, +31 …, 0031 …);
 * - results: lab-result vocabulary (hrHPV, cytologie, PAP, uitslag, positief, Observation, OBX …);
 * - national id: an 11-proof-valid BSN, plain or grouped.
 * Birth dates are added by the caller, which knows whether a date sat in a birth-date field.
 */
const RESULT_WORDS = [
  'hrhpv', 'hpv', 'cytologie', 'cytology', 'pap', 'uitslag', 'uitslagen', 'result', 'results', 'resultaat', 'positief',
  'negatief', 'positive', 'negative', 'observation', 'obx', 'diagnosticreport', 'conclusie', 'afwijkend', 'cin', 'hsil',
  'lsil', 'ascus', 'kopac',
]; // prettier-ignore
const NOT_NAMES = ['patient', 'bundle', 'entry', 'resource', 'identifier', 'value', 'system', 'null', 'true', 'false'];
const STREET_WORDS = ['straat', 'street', 'road', 'lane', 'avenue', 'weg', 'laan', 'plein'];
const STREET_SUFFIXES = ['straat', 'weg', 'laan', 'plein', 'gracht', 'kade', 'singel', 'dijk', 'dreef', 'hof', 'markt', 'pad', 'steeg'];

function hashWord(w: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 0x01000193);
  return h;
}
const RESULT_HASHES = new Set(RESULT_WORDS.map(hashWord));
const NOT_NAME_HASHES = new Set(NOT_NAMES.map(hashWord));
const STREET_HASHES = new Set(STREET_WORDS.map(hashWord));
const SUFFIXES = STREET_SUFFIXES.map((s) => Buffer.from(s, 'latin1'));

function isUpper(b: number): boolean {
  return b >= 65 && b <= 90;
}
function isLower(b: number): boolean {
  return b >= 97 && b <= 122;
}
function isLetter(b: number): boolean {
  return isUpper(b) || isLower(b) || b >= 0x80;
}
function isDigit(b: number): boolean {
  return b >= 48 && b <= 57;
}

export function recordCategories(buf: Uint8Array, s: number, e: number): number {
  let mask = 0;
  let i = s;
  while (i < e) {
    const b = buf[i] as number;
    if (isLetter(b)) {
      const start = i;
      let h = 0x811c9dc5;
      while (i < e) {
        const c = buf[i] as number;
        if (!isLetter(c)) break;
        h = Math.imul(h ^ (isUpper(c) ? c | 0x20 : c), 0x01000193);
        i++;
      }
      mask |= wordCategories(buf, start, i, e, h);
      continue;
    }
    if (isDigit(b)) {
      const start = i;
      while (i < e && isDigit(buf[i] as number)) i++;
      if (start > s && isDigit(buf[start - 1] as number)) continue;
      mask |= numberCategories(buf, start, i, e, s);
      continue;
    }
    if (b === 0x40 /* @ */ && isEmailAt(buf, i, s, e)) mask |= DataCategory.Contact;
    i++;
  }
  return mask;
}

function wordCategories(buf: Uint8Array, start: number, end: number, limit: number, h: number): number {
  const len = end - start;
  if (len < 2) return 0;
  let mask = 0;
  if (RESULT_HASHES.has(h)) mask |= DataCategory.Results;
  else if (len >= 3 && isUpper(buf[start] as number) && isLower(buf[start + 1] as number) && !NOT_NAME_HASHES.has(h))
    mask |= DataCategory.Names;
  if (end + 1 < limit && buf[end] === 0x20 && isDigit(buf[end + 1] as number) && isStreetWord(buf, start, end, h))
    mask |= DataCategory.Addresses;
  return mask;
}

function isStreetWord(buf: Uint8Array, start: number, end: number, h: number): boolean {
  if (STREET_HASHES.has(h)) return true;
  for (const suffix of SUFFIXES) {
    const from = end - suffix.length;
    if (from <= start + 1) continue;
    let same = true;
    for (let k = 0; k < suffix.length && same; k++) same = ((buf[from + k] as number) | 0x20) === suffix[k];
    if (same) return true;
  }
  return false;
}

function numberCategories(buf: Uint8Array, start: number, end: number, limit: number, recordStart: number): number {
  const len = end - start;
  let mask = 0;
  if (len === 9 && bsnAt(buf, start) >= 0) mask |= DataCategory.NationalId;
  if ((len === 3 || len === 4) && formattedBsnAt(buf, start, len, limit) >= 0) mask |= DataCategory.NationalId;
  if (len === 4 && isPostcodeTail(buf, end, limit)) mask |= DataCategory.Addresses;
  if (isPhoneAt(buf, start, limit, recordStart)) mask |= DataCategory.Contact;
  return mask;
}

/** "AB" or " AB" after four digits, not followed by another letter. */
function isPostcodeTail(buf: Uint8Array, at: number, limit: number): boolean {
  let i = at;
  if (i < limit && buf[i] === 0x20) i++;
  if (i + 2 > limit || !isUpper(buf[i] as number) || !isUpper(buf[i + 1] as number)) return false;
  return i + 2 === limit || !isLetter(buf[i + 2] as number);
}

/** Digit groups separated by single "-" or " ", as a Dutch phone number: 0 + 9 digits, +31 + 9, 0031 + 9. */
function isPhoneAt(buf: Uint8Array, start: number, limit: number, recordStart: number): boolean {
  let digits = 0;
  let i = start;
  for (let groups = 0; groups < 5; groups++) {
    while (i < limit && isDigit(buf[i] as number)) {
      digits++;
      i++;
    }
    if (i + 1 < limit && (buf[i] === 0x2d || buf[i] === 0x20) && isDigit(buf[i + 1] as number)) i++;
    else break;
  }
  if (i < limit && isDigit(buf[i] as number)) return false;
  const first = buf[start];
  const plus = start > recordStart && buf[start - 1] === 0x2b;
  if (plus) return digits === 11 && first === 0x33 && buf[start + 1] === 0x31;
  if (digits === 13) return first === 0x30 && buf[start + 1] === 0x30 && buf[start + 2] === 0x33 && buf[start + 3] === 0x31;
  return digits === 10 && first === 0x30 && buf[start + 1] !== 0x30;
}

/** A local part before "@" and a dotted domain after it. */
function isEmailAt(buf: Uint8Array, at: number, s: number, e: number): boolean {
  if (at === s || !isWordByte(buf[at - 1] as number)) return false;
  let i = at + 1;
  let dot = false;
  while (i < e) {
    const b = buf[i] as number;
    if (b === 0x2e) dot = true;
    else if (!isWordByte(b) && b !== 0x2d) break;
    i++;
  }
  return dot && i > at + 3 && buf[i - 1] !== 0x2e;
}

function isWordByte(b: number): boolean {
  return isLetter(b) || isDigit(b) || b === 0x5f || b === 0x2e || b === 0x2b;
}

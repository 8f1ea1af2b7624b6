import { normaliseFamilyName } from '../crypto/blind-index.js';
import { isStreetName, NOT_A_NAME } from './generic-name-words.js';
import type { KeyOccurrences } from './key-occurrences.js';
import { chooseDates, type RecordDates } from './record-dates.js';

/**
 * Name + birth date candidates of one record, as blind-index keys "family|yyyy-mm-dd" (the format
 * of nameBirthDateKey in crypto/blind-index.ts), normalised like normaliseFamilyName.
 *
 * - A family-name field (achternaam, surname, FHIR family, HL7 PID-5.1) gives its whole value
 *   ("van der Berg" → vanderberg) and the value without its leading particles (berg: a leak that
 *   writes the prefix apart); several family fields (a tussenvoegsel column, then achternaam) also
 *   give their concatenation.
 * - A whole-name field ("naam": "Jan de Vries") and, where no field is named, the whole record
 *   give every combination of up to 3 adjacent words ("de Vries", "Smit-Jansen"), nearest to the
 *   date first: which word is the family name is not known.
 * At most MAX_KEYS_PER_RECORD keys per record: a log line full of words cannot flood the matcher.
 *
 * A key is kept as two hashes of its characters, the date and the bytes it was read from
 * (key-occurrences.ts): a key seen before is found in the worker's table without building its
 * string (most are: a dump repeats its patients).
 */
export const MAX_KEYS_PER_RECORD = 32;
const MAX_DATES = 4;
const MAX_TOKENS = 64;
const MAX_WORDS = 3;
const MAX_FIELDS = 16;
/**
 * Two polynomial hashes (mod 2^32, odd multipliers) per word: a name of several words hashes from
 * its words' hashes, H(ab) = H(a)·P^|b| + H(b), so each byte is hashed once however many
 * combinations it is part of. Both are finished with a mixer; the key table keeps both.
 */
const P1 = 0x01000193;
const P2 = 0x5bd1e995;

function fmix(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return x ^ (x >>> 16);
}

/** Words that are never a family name on their own, nor its last word (but start one: "de Vries"). */
const PARTICLES = new Set(
  ['van', 'de', 'der', 'den', 'het', 't', 'ter', 'ten', 'te', 'op', 'in', 'la', 'le', 'du', 'da', 'von', 'zu', 'uit', 'vd', 'v'].map(pack),
);

function pack(word: string): number {
  let p = 0;
  for (let i = 0; i < word.length; i++) p = (p << 8) | word.charCodeAt(i);
  return p;
}

/** Bytes allowed between two words of one name: "de Vries", "Smit-Jansen", "d'Ancona", "'t Hart". */
function isNameGap(b: number): boolean {
  return b === 0x20 || b === 0x2d || b === 0x27 || b === 0x2e;
}

export class NameDateKeys {
  private readonly tokStart = new Int32Array(MAX_TOKENS);
  private readonly tokEnd = new Int32Array(MAX_TOKENS);
  /** Token i may be joined with token i-1 into one name. */
  private readonly joins = new Uint8Array(MAX_TOKENS);
  /** Token is plain ASCII (its normal form is its bytes in lower case). */
  private readonly ascii = new Uint8Array(MAX_TOKENS);
  private readonly particle = new Uint8Array(MAX_TOKENS);
  /** Token may be (part of) a family name (generic-name-words.ts; always, in a name field). */
  private readonly eligible = new Uint8Array(MAX_TOKENS);
  /** Per token: its two hashes, P1 and P2 to the power of its length, its normal form's length. */
  private readonly h1 = new Int32Array(MAX_TOKENS);
  private readonly h2 = new Int32Array(MAX_TOKENS);
  private readonly pow1 = new Int32Array(MAX_TOKENS);
  private readonly pow2 = new Int32Array(MAX_TOKENS);
  private readonly chars = new Int32Array(MAX_TOKENS);
  /** First token of each name field, and the token count after the last field. */
  private readonly fieldFirst = new Int32Array(MAX_FIELDS + 1);
  /** Normal form of non-ASCII tokens, built on first use. */
  private readonly norm: (string | undefined)[] = [];
  private count = 0;
  private buf: Buffer = Buffer.alloc(0);
  private readonly chosen = new Int32Array(MAX_DATES);
  private readonly order = new Int32Array(MAX_TOKENS);
  private readonly dist = new Int32Array(MAX_TOKENS);
  // The output of the record being built.
  private out: KeyOccurrences | null = null;
  private first = 0;

  /** Appends the keys of this record to `out`; returns how many. */
  build(buf: Buffer, r: RecordDates, out: KeyOccurrences): number {
    const dates = chooseDates(r, this.chosen, MAX_DATES);
    if (dates === 0) return 0;
    this.count = 0;
    this.buf = buf;
    this.out = out;
    this.first = out.length;
    const fields = Math.min(r.familyCount, MAX_FIELDS);
    if (fields > 0)
      for (let f = 0; f < fields; f++) {
        this.fieldFirst[f] = this.count;
        this.tokenise(buf, r.family[2 * f] as number, r.family[2 * f + 1] as number, true);
      }
    else {
      this.tokenise(buf, r.start, r.end, false);
      this.markEligible(buf);
    }
    this.fieldFirst[fields] = this.count;
    if (this.count === 0) return 0;
    const budget = Math.floor(MAX_KEYS_PER_RECORD / dates);
    for (let d = 0; d < dates; d++) {
      const di = this.chosen[d] as number;
      const date = r.dates[di] as number;
      const line = r.dateLine[di] as number;
      if (fields === 0) {
        this.orderByDistance(r.datePos[di] as number);
        this.nearest(0, this.count, date, line, budget);
        continue;
      }
      let n = 0;
      for (let f = 0; f < fields; f++) {
        const a = this.fieldFirst[f] as number;
        const b = this.fieldFirst[f + 1] as number;
        n += r.fullName[f] === 1 ? this.fullName(a, b, date, line) : this.whole(a, b, date, line);
      }
      if (fields > 1 && n < budget) this.whole(0, this.count, date, line);
    }
    return out.length - this.first;
  }

  /** Generic records: which words may be a family name (see generic-name-words.ts). */
  private markEligible(buf: Buffer): void {
    let capitalised = 0;
    for (let k = 0; k < this.count; k++) {
      const first = buf[this.tokStart[k] as number] as number;
      const caps = (first >= 65 && first <= 90) || first >= 0x80;
      const len = (this.tokEnd[k] as number) - (this.tokStart[k] as number);
      const second = len > 1 ? (buf[(this.tokStart[k] as number) + 1] as number) : 0;
      // "AB" (a postcode's letters) and other two-letter capitals are no names.
      const ok =
        caps &&
        !(len <= 2 && second >= 65 && second <= 90) &&
        !NOT_A_NAME.has(this.h1[k] as number) &&
        !isStreetName(buf, this.tokStart[k] as number, this.tokEnd[k] as number);
      this.eligible[k] = ok ? 1 : (this.particle[k] as number);
      if (caps) capitalised++;
    }
    if (capitalised === 0)
      for (let k = 0; k < this.count; k++) this.eligible[k] = NOT_A_NAME.has(this.h1[k] as number) ? (this.particle[k] as number) : 1;
  }

  private tokenise(buf: Buffer, s: number, e: number, fields: boolean): void {
    let i = s;
    let firstOfField = true;
    while (i < e && this.count < MAX_TOKENS) {
      let b = buf[i] as number;
      if (!((b >= 97 && b <= 122) || (b >= 65 && b <= 90) || b >= 0x80)) {
        i++;
        continue;
      }
      const start = i;
      let ascii = 1;
      let packed = 0;
      let h1 = 0;
      let h2 = 0;
      let p1 = 1;
      let p2 = 1;
      while (i < e) {
        b = buf[i] as number;
        if (b >= 0x80) ascii = 0;
        else if (!((b >= 97 && b <= 122) || (b >= 65 && b <= 90))) break;
        const c = b | 0x20;
        packed = (packed << 8) | c;
        h1 = (Math.imul(h1, P1) + c) | 0;
        h2 = (Math.imul(h2, P2) + c) | 0;
        p1 = Math.imul(p1, P1);
        p2 = Math.imul(p2, P2);
        i++;
      }
      const k = this.count++;
      this.tokStart[k] = start;
      this.tokEnd[k] = i;
      this.ascii[k] = ascii;
      this.norm[k] = undefined;
      if (ascii === 1) {
        this.chars[k] = i - start;
        this.particle[k] = i - start <= 3 && PARTICLES.has(packed) ? 1 : 0;
      } else {
        // Non-ASCII: hash the normal form (normaliseFamilyName folds "é" to "e", "ß" to "ss").
        const n = this.normOf(k);
        h1 = h2 = 0;
        p1 = p2 = 1;
        for (let c = 0; c < n.length; c++) {
          const ch = n.charCodeAt(c);
          h1 = (Math.imul(h1, P1) + ch) | 0;
          h2 = (Math.imul(h2, P2) + ch) | 0;
          p1 = Math.imul(p1, P1);
          p2 = Math.imul(p2, P2);
        }
        this.chars[k] = n.length;
        this.particle[k] = 0;
      }
      this.h1[k] = h1;
      this.h2[k] = h2;
      this.pow1[k] = p1;
      this.pow2[k] = p2;
      let join = false;
      if (k > 0 && fields && firstOfField) join = true;
      else if (k > 0) {
        const prevEnd = this.tokEnd[k - 1] as number;
        join = start - prevEnd <= 2;
        for (let g = prevEnd; join && g < start; g++) if (!isNameGap(buf[g] as number)) join = false;
      }
      this.joins[k] = join ? 1 : 0;
      this.eligible[k] = 1;
      firstOfField = false;
    }
  }

  /** Tokens a..b as one family name, and without their leading particles. */
  private whole(a: number, b: number, date: number, line: number): number {
    let n = this.emit(a, b - a, date, line);
    let p = a;
    while (p < b - 1 && this.particle[p] === 1) p++;
    if (p > a) n += this.emit(p, b - p, date, line);
    return n;
  }

  private orderByDistance(pos: number): void {
    for (let i = 0; i < this.count; i++) {
      const s = this.tokStart[i] as number;
      this.dist[i] = s >= pos ? s - pos : pos - (this.tokEnd[i] as number);
      this.order[i] = i;
    }
    // Insertion sort: a record has few words.
    for (let i = 1; i < this.count; i++) {
      const v = this.order[i] as number;
      const dv = this.dist[v] as number;
      let j = i - 1;
      while (j >= 0 && (this.dist[this.order[j] as number] as number) > dv) {
        this.order[j + 1] = this.order[j] as number;
        j--;
      }
      this.order[j + 1] = v;
    }
  }

  /**
   * A whole name (tokens a..b): the family name is its last words ("Annelies van Dam"), or the
   * words before a comma ("van Dam, Annelies"): the combinations of up to 3 words ending there.
   */
  private fullName(a: number, b: number, date: number, line: number): number {
    const n = this.tail(a, b - 1, date, line);
    for (let k = a + 1; k < b; k++)
      for (let g = this.tokEnd[k - 1] as number; g < (this.tokStart[k] as number); g++)
        if (this.buf[g] === 0x2c) return n + this.tail(a, k - 1, date, line);
    return n;
  }

  private tail(a: number, last: number, date: number, line: number): number {
    let n = 0;
    for (let len = 1; len <= MAX_WORDS && last - len + 1 >= a; len++)
      if (this.joinable(last - len + 1, len)) n += this.emit(last - len + 1, len, date, line);
    return n;
  }

  /** Combinations of up to 3 adjacent, joinable words among tokens a..b, in `order`; at most `budget`. */
  private nearest(a: number, b: number, date: number, line: number, budget: number): number {
    let n = 0;
    for (let o = 0; o < b - a && n < budget; o++) {
      const i = this.order[o] as number;
      for (let len = 1; len <= MAX_WORDS && n < budget; len++) {
        if (i + len <= b && this.joinable(i, len)) n += this.emit(i, len, date, line);
        // Nearest-first: also the combinations that end at this word.
        if (len > 1 && i - len + 1 >= a && n < budget && this.joinable(i - len + 1, len)) n += this.emit(i - len + 1, len, date, line);
      }
    }
    return n;
  }

  private joinable(i: number, len: number): boolean {
    if (this.eligible[i] === 0) return false;
    for (let k = i + 1; k < i + len; k++) if (this.joins[k] === 0 || this.eligible[k] === 0) return false;
    return true;
  }

  /** Enters the name made of `len` words from word i with `date`; 1 if it is a new key of this record. */
  private emit(i: number, len: number, date: number, line: number): number {
    if (len <= 0 || this.particle[i + len - 1] === 1) return 0;
    let h1 = 0;
    let h2 = 0;
    let chars = 0;
    for (let k = i; k < i + len; k++) {
      h1 = (Math.imul(h1, this.pow1[k] as number) + (this.h1[k] as number)) | 0;
      h2 = (Math.imul(h2, this.pow2[k] as number) + (this.h2[k] as number)) | 0;
      chars += this.chars[k] as number;
    }
    if (chars < 2) return 0;
    h1 = fmix(h1 ^ chars);
    h2 = fmix((h2 + Math.imul(chars, 0x27d4eb2f)) | 0);
    const out = this.out as KeyOccurrences;
    if (out.has(this.first, h1, h2, date)) return 0;
    out.push(h1, h2, date, this.tokStart[i] as number, this.tokEnd[i + len - 1] as number, line);
    return 1;
  }

  private normOf(k: number): string {
    let n = this.norm[k];
    if (n === undefined) this.norm[k] = n = normaliseFamilyName(this.buf.toString('utf8', this.tokStart[k], this.tokEnd[k]));
    return n;
  }
}

/**
 * Dates in leaked bytes: dd-mm-yyyy, d-m-yyyy, dd/mm/yyyy, yyyy-mm-dd (and yyyy/mm/dd), and the
 * compact yyyymmdd where the field says it is a date (HL7 PID-7, a birth-date column). Dates are
 * returned packed as yyyy·10000 + mm·100 + dd and validated against the calendar, so "31-02-1980"
 * or a "2023-13-45" version string is not a date.
 */

const DASH = 0x2d;
const SLASH = 0x2f;

/** Years a birth date (or any date worth pairing with a name) can have. */
const MIN_YEAR = 1850;
const MAX_YEAR = 2150;

/** End offset of the last date dateAt matched (valid only right after it returned ≥ 0). */
export let dateEnd = 0;

function digitsAt(buf: Uint8Array, from: number, limit: number): number {
  let i = from;
  while (i < limit) {
    const b = buf[i] as number;
    if (b < 48 || b > 57) break;
    i++;
  }
  return i - from;
}

function num(buf: Uint8Array, from: number, len: number): number {
  let v = 0;
  for (let i = from; i < from + len; i++) v = v * 10 + (buf[i] as number) - 48;
  return v;
}

/** True when y-m-d is a real calendar day in the accepted year range. */
export function isCalendarDate(y: number, m: number, d: number): boolean {
  if (y < MIN_YEAR || y > MAX_YEAR || m < 1 || m > 12 || d < 1) return false;
  if (m === 2) return d <= ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28);
  return d <= (m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31);
}

/**
 * A separated date whose first digit run is buf[s..s+firstLen) (1, 2 or 4 digits) followed by "-"
 * or "/". Returns the packed date or -1; on success dateEnd is the offset after it.
 */
export function dateAt(buf: Uint8Array, s: number, firstLen: number, limit: number): number {
  const sep = buf[s + firstLen];
  if (sep !== DASH && sep !== SLASH) return -1;
  const a = s + firstLen + 1;
  const aLen = digitsAt(buf, a, limit);
  if (aLen < 1 || aLen > 2 || a + aLen >= limit || buf[a + aLen] !== sep) return -1;
  const b = a + aLen + 1;
  const bLen = digitsAt(buf, b, limit);
  let y: number, m: number, d: number;
  if (firstLen === 4) {
    if (bLen < 1 || bLen > 2) return -1;
    y = num(buf, s, 4);
    m = num(buf, a, aLen);
    d = num(buf, b, bLen);
  } else {
    if (bLen !== 4) return -1;
    d = num(buf, s, firstLen);
    m = num(buf, a, aLen);
    y = num(buf, b, 4);
  }
  if (!isCalendarDate(y, m, d)) return -1;
  dateEnd = b + bLen;
  return y * 10000 + m * 100 + d;
}

/** yyyymmdd at buf[s..s+8) (digits): the packed date or -1. */
export function compactDateAt(buf: Uint8Array, s: number): number {
  const y = num(buf, s, 4);
  const m = num(buf, s + 4, 2);
  const d = num(buf, s + 6, 2);
  return isCalendarDate(y, m, d) ? y * 10000 + m * 100 + d : -1;
}

const DATE_STRINGS = new Map<number, string>();

/** "yyyy-mm-dd" of a packed date (memoised: a dump repeats the same birth dates endlessly). */
export function isoDate(packed: number): string {
  let s = DATE_STRINGS.get(packed);
  if (s === undefined) {
    const y = Math.floor(packed / 10000);
    const m = Math.floor(packed / 100) % 100;
    const d = packed % 100;
    s = `${y}-${m < 10 ? '0' : ''}${m}-${d < 10 ? '0' : ''}${d}`;
    if (DATE_STRINGS.size > 100_000) DATE_STRINGS.clear();
    DATE_STRINGS.set(packed, s);
  }
  return s;
}

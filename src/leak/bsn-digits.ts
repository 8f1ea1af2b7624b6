/**
 * The BSN 11-proof (see domain/bsn.ts isValidBsn) on ASCII digit bytes, without building a string:
 * the scanner's hot loop calls these for every 9-digit run, so they return the number (which fits
 * a small integer: < 2^30) or -1.
 */

/** buf[s..s+9) are digits (the caller checked). The BSN as a number when it passes the 11-proof, else -1. */
export function bsnAt(buf: Uint8Array, s: number): number {
  let sum = 0;
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const d = (buf[s + i] as number) - 48;
    sum += d * (9 - i);
    value = value * 10 + d;
  }
  const last = (buf[s + 8] as number) - 48;
  sum -= last;
  value = value * 10 + last;
  return sum % 11 === 0 && value !== 0 ? value : -1;
}

/** buf[s..s+8) are digits of a BSN that lost its leading zero: the number when "0" + digits passes the 11-proof, else -1. */
export function bsnLostZeroAt(buf: Uint8Array, s: number): number {
  let sum = 0;
  let value = 0;
  for (let i = 0; i < 7; i++) {
    const d = (buf[s + i] as number) - 48;
    sum += d * (8 - i);
    value = value * 10 + d;
  }
  const last = (buf[s + 7] as number) - 48;
  sum -= last;
  value = value * 10 + last;
  return sum % 11 === 0 && value !== 0 ? value : -1;
}

/** The 11-proof on a number of at most 9 digits (leading zeros implied). */
export function isElevenProof(value: number): boolean {
  if (value <= 0 || value > 999_999_999) return false;
  let v = value;
  let sum = -(v % 10);
  v = Math.floor(v / 10);
  for (let w = 2; w <= 9; w++) {
    sum += (v % 10) * w;
    v = Math.floor(v / 10);
  }
  return sum % 11 === 0;
}

/** The 9-digit string of a BSN number (zero-padded). */
export function bsnString(value: number): string {
  return String(value).padStart(9, '0');
}

/**
 * Dutch citizen service number (BSN): 9 digits passing the "11-proof"
 * (9·d1 + 8·d2 + … + 2·d8 − 1·d9 ≡ 0 mod 11). Older numbers may be written with 8 digits and a
 * lost leading zero, or with dots/spaces as separators.
 */

/** Strips separators (dots, spaces, hyphens) and restores one lost leading zero. Returns null if not 8–9 digits. */
export function normaliseBsn(raw: string): string | null {
  const digits = raw.replace(/[\s.-]/g, '');
  if (!/^\d{8,9}$/.test(digits)) return null;
  return digits.length === 8 ? `0${digits}` : digits;
}

/** True when `bsn` is exactly 9 digits, not all zero, and passes the 11-proof. */
export function isValidBsn(bsn: string): boolean {
  if (bsn.length !== 9) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) {
    const d = bsn.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    sum += i === 8 ? -d : d * (9 - i);
  }
  return sum % 11 === 0 && bsn !== '000000000';
}

/** Masks all but the last three digits, for displays that must not reveal the number (e.g. `******782`). */
export function maskBsn(bsn: string): string {
  return `******${bsn.slice(-3)}`;
}

/** The FHIR NamingSystem for the BSN. */
export const BSN_SYSTEM = 'http://fhir.nl/fhir/NamingSystem/bsn';

import { createHmac } from 'node:crypto';

/**
 * Keyed blind indexes: HMAC-SHA-256 under a per-tenant index key (never the encryption key),
 * truncated to 16 bytes. Only ~10^8 valid BSNs exist, so an unkeyed hash would be reversed by
 * enumeration in seconds; the key lives wrapped by the KeyProvider like a KEK. 128 bits keep
 * accidental collisions out of reach while not storing the full PRF output.
 */
export const BLIND_INDEX_BYTES = 16;

export function blindIndex(key: Buffer, domain: 'bsn' | 'name-birthdate', normalised: string): Buffer {
  return createHmac('sha256', key).update(`${domain}:${normalised}`, 'utf8').digest().subarray(0, BLIND_INDEX_BYTES);
}

/**
 * Family-name normalisation shared by ingest, lookup and leak matching: Unicode NFKD, diacritics
 * removed, lower case, only letters kept ("van der Berg", "Van-der Berg" and "vanderberg" meet).
 */
// Letters that NFKD does not decompose into a base letter plus a mark.
const FOLD: Readonly<Record<string, string>> = { ø: 'o', æ: 'ae', œ: 'oe', ß: 'ss', ł: 'l', đ: 'd', ð: 'd', þ: 'th', ı: 'i' };

export function normaliseFamilyName(family: string): string {
  return family
    .toLowerCase()
    .replace(/[øæœßłđðþı]/g, (c) => FOLD[c] ?? c)
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z]/g, '');
}

export function nameBirthDateKey(family: string, birthDate: string): string {
  return `${normaliseFamilyName(family)}|${birthDate}`;
}

/** Keyed MAC of a resource's canonical bytes: lets re-ingest recognise identical content without decrypting. */
export function contentMac(key: Buffer, bytes: Buffer): Buffer {
  return createHmac('sha256', key).update('content:').update(bytes).digest().subarray(0, BLIND_INDEX_BYTES);
}

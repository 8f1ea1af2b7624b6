import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { bsnFreeId } from '../domain/validate-resource.js';

/**
 * API keys for system integrations: `lvk_<id>_<secret>`. The id is the row's key (public, in
 * logs and the audit log); the 256-bit secret is shown once and only its SHA-256 is stored. A
 * fast hash is enough for a random 256-bit secret (no dictionary to slow down); the comparison is
 * constant-time.
 */
const FORMAT = /^lvk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export function newApiKey(): { id: string; secret: string; key: string; secretHash: Buffer } {
  // The id is logged and audited, where BSN-like text is refused.
  const id = bsnFreeId(() => randomBytes(8).toString('hex'));
  const secret = randomBytes(32).toString('base64url');
  return { id, secret, key: `lvk_${id}_${secret}`, secretHash: hashSecret(secret) };
}

export function looksLikeApiKey(text: string): boolean {
  return text.startsWith('lvk_');
}

/** Splits a presented key; null when it is not one. */
export function parseApiKey(text: string): { id: string; secret: string } | null {
  const m = FORMAT.exec(text);
  return m ? { id: m[1] as string, secret: m[2] as string } : null;
}

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export function secretMatches(secret: string, storedHash: Buffer): boolean {
  const h = hashSecret(secret);
  return h.length === storedHash.length && timingSafeEqual(h, storedHash);
}

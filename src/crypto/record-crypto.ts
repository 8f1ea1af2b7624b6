import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * The native per-record calls (native/record_crypto.c, built by `npm ci` through node-gyp): AES-256-GCM
 * sealing and the content HMAC on the OpenSSL inside Node, one N-API call each. node:crypto costs
 * ~10 µs per GCM seal and ~7 µs per HMAC on this machine, almost all of it building the Cipher or
 * Hmac object; the native calls cost 0.7–1.4 µs and 1–2 µs for 300–1,000 bytes. The bytes are
 * identical (tests check both directions), so when the addon is not built (`npm ci
 * --ignore-scripts`) or LABVAULT_NATIVE_CRYPTO=0 turns it off, node:crypto does the same work,
 * slower. `recordCryptoBackend` says which one runs; the ingest bench reports it.
 */
export interface RecordCrypto {
  /** out = 0x01 ‖ iv ‖ AES-256-GCM(key, iv, aad, plaintext) ‖ tag; out is plaintext.length + 29 bytes. */
  sealInto(out: Uint8Array, key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, iv: Uint8Array): void;
  /** out (16 bytes) = HMAC-SHA256(key, prefix ‖ bytes), first 16 bytes. */
  contentMacInto(out: Uint8Array, key: Uint8Array, prefix: Uint8Array, bytes: Uint8Array): void;
}

export type RecordCryptoBackend = 'native' | 'node:crypto';

const ADDON = fileURLToPath(new URL('../../build/Release/record_crypto.node', import.meta.url));

function load(): RecordCrypto | null {
  if (process.env.LABVAULT_NATIVE_CRYPTO === '0') return null;
  try {
    return createRequire(import.meta.url)(ADDON) as RecordCrypto;
  } catch (cause) {
    // Not built: node:crypto computes the same bytes. A build that exists but fails to load is a
    // broken install, not a choice, so it is not hidden.
    if ((cause as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return null;
    throw cause;
  }
}

/** The addon, or null where node:crypto does the work. */
export const recordCrypto: RecordCrypto | null = load();

export function recordCryptoBackend(): RecordCryptoBackend {
  return recordCrypto ? 'native' : 'node:crypto';
}

import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * The native per-record calls (native/record_crypto.c, built by `npm ci` through node-gyp): AES-256-GCM
 * sealing and the content HMAC on the OpenSSL inside Node, one N-API call each. node:crypto costs
 * ~10 µs per GCM seal and ~5–7 µs per HMAC on this machine, almost all of it building the Cipher or
 * Hmac object; the native calls cost ~1.5–2 µs each for 300–1,000 bytes (including overwriting the
 * key material they derived before returning). The bytes are identical: the addon is checked
 * against node:crypto when it loads, and one that disagrees is an error, not a fallback. Where it
 * is not built (`npm ci --ignore-scripts`) or LABVAULT_NATIVE_CRYPTO=0 turns it off, node:crypto
 * does the same work, slower. `recordCryptoBackend` says which one runs; the ingest bench reports it.
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
  // Anything but 0 leaves it on; loadConfig refuses values other than 0 and 1 with a clear error.
  if (process.env.LABVAULT_NATIVE_CRYPTO === '0') return null;
  let addon: RecordCrypto;
  try {
    addon = createRequire(import.meta.url)(ADDON) as RecordCrypto;
  } catch (cause) {
    // Not built: node:crypto computes the same bytes. A build that exists but fails to load is a
    // broken install, not a choice, so it is not hidden.
    if ((cause as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return null;
    throw cause;
  }
  selfCheck(addon);
  return addon;
}

/** One seal and one MAC of random inputs compared with node:crypto, each key used twice (the second time changed). */
function selfCheck(addon: RecordCrypto): void {
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const aad = randomBytes(40);
  const plaintext = randomBytes(257);
  const prefix = Buffer.from('self-check:');
  for (let round = 0; round < 2; round++) {
    const out = Buffer.alloc(plaintext.length + 29);
    addon.sealInto(out, key, plaintext, aad, iv);
    const c = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
    c.setAAD(aad);
    const expected = Buffer.concat([Buffer.from([1]), iv, c.update(plaintext), c.final(), c.getAuthTag()]);
    const mac = Buffer.alloc(16);
    addon.contentMacInto(mac, key, prefix, plaintext);
    const expectedMac = createHmac('sha256', key).update(prefix).update(plaintext).digest().subarray(0, 16);
    if (!out.equals(expected) || !mac.equals(expectedMac)) {
      throw new Error('native record crypto disagrees with node:crypto: rebuild it (npm run build:native) or set LABVAULT_NATIVE_CRYPTO=0');
    }
    key[0] = (key[0] as number) ^ 1;
  }
  key.fill(0);
}

/** The addon, or null where node:crypto does the work. */
export const recordCrypto: RecordCrypto | null = load();

export function recordCryptoBackend(): RecordCryptoBackend {
  return recordCrypto ? 'native' : 'node:crypto';
}

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptionFailed } from '../domain/errors.js';
import { recordCrypto } from './record-crypto.js';

/**
 * AES-256-GCM envelope used for every record section and every wrapped key below the master key.
 * Layout: 1 byte format version ‖ 12-byte IV ‖ ciphertext ‖ 16-byte tag. The AAD is never stored:
 * the caller rebuilds it from where the ciphertext sits (tenant/type/id/version/section), so a
 * ciphertext moved to another row fails authentication.
 */
const FORMAT_V1 = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const OVERHEAD = 1 + IV_BYTES + TAG_BYTES;

/** Encrypts `plaintext` under a 32-byte key with `aad` bound. A fresh random IV per call. */
export function seal(key: Buffer, plaintext: Buffer, aad: Buffer, iv: Buffer = randomBytes(IV_BYTES)): Buffer {
  return sealInto(Buffer.allocUnsafe(plaintext.length + OVERHEAD), key, plaintext, aad, iv);
}

/** `seal` into `out`, which must be exactly `sealedLength(plaintext.length)` bytes (a caller's arena). */
export function sealInto(out: Buffer, key: Buffer, plaintext: Buffer, aad: Buffer, iv: Buffer): Buffer {
  if (out.length !== plaintext.length + OVERHEAD || iv.length !== IV_BYTES) throw new RangeError('envelope size mismatch');
  if (recordCrypto) {
    recordCrypto.sealInto(out, key, plaintext, aad, iv);
    return out;
  }
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  out[0] = FORMAT_V1;
  iv.copy(out, 1);
  let n = 1 + IV_BYTES;
  n += cipher.update(plaintext).copy(out, n);
  n += cipher.final().copy(out, n);
  cipher.getAuthTag().copy(out, n);
  return out;
}

/** Bytes of the envelope of a plaintext of `plaintextLength` bytes. */
export function sealedLength(plaintextLength: number): number {
  return plaintextLength + OVERHEAD;
}

/** Decrypts a `seal` envelope; any mismatch (key, AAD, tampering, truncation) → DecryptionFailed. */
export function open(key: Buffer, envelope: Buffer, aad: Buffer): Buffer {
  if (envelope.length < OVERHEAD || envelope[0] !== FORMAT_V1 || key.length !== 32) {
    throw new DecryptionFailed();
  }
  try {
    const iv = envelope.subarray(1, 1 + IV_BYTES);
    const tag = envelope.subarray(envelope.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const body = decipher.update(envelope.subarray(1 + IV_BYTES, envelope.length - TAG_BYTES));
    const fin = decipher.final();
    return fin.length === 0 ? body : Buffer.concat([body, fin]);
  } catch (cause) {
    throw new DecryptionFailed({ cause });
  }
}

/** Bytes of IV needed by `seal`; exposed so batch callers can draw randomness once per batch. */
export const ENVELOPE_IV_BYTES = IV_BYTES;

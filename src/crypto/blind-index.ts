import { createCipheriv, createHmac, hkdfSync } from 'node:crypto';
import { recordCrypto } from './record-crypto.js';

/**
 * Keyed blind indexes, version 2: a PRF under a per-tenant index key (never the encryption key),
 * 16 bytes. Only ~10^8 valid BSNs exist, so an unkeyed hash would be reversed by enumeration in
 * seconds; the key lives wrapped by the KeyProvider like a KEK.
 *
 * The PRF is AES-256 CBC-MAC over a fixed-length message per domain — one block for a BSN, four
 * for a family name with its birth date — under a key derived from the index key (HKDF), so that
 * it can be computed for thousands of values in a handful of cipher calls (`blindIndexBatch`):
 * a leak scan meets millions of candidate numbers, and one HMAC call per candidate costs ~10×
 * more in Node than a batched block cipher. CBC-MAC is a PRF for messages of one fixed length,
 * which each domain has (a domain byte and the length open the first block).
 */
export const BLIND_INDEX_BYTES = 16;
export type BlindIndexDomain = 'bsn' | 'name-birthdate';

const BLOCKS: Readonly<Record<BlindIndexDomain, number>> = { bsn: 1, 'name-birthdate': 4 };
const DOMAIN_BYTE: Readonly<Record<BlindIndexDomain, number>> = { bsn: 1, 'name-birthdate': 2 };
const prfKeys = new WeakMap<Buffer, Buffer>();

/** The AES key the PRF runs under (HKDF of the index key): what a native implementation of it is given. */
export function blindIndexPrfKey(indexKey: Buffer): Buffer {
  let k = prfKeys.get(indexKey);
  if (!k) prfKeys.set(indexKey, (k = Buffer.from(hkdfSync('sha256', indexKey, Buffer.alloc(0), 'labvault blind index v2', 32))));
  return k;
}

/** The fixed-length message of a value: domain byte, length byte, UTF-8 (cut at the domain's room), zeros. */
function writeMessage(out: Buffer, at: number, domain: BlindIndexDomain, normalised: string): void {
  const size = BLOCKS[domain] * 16;
  out.fill(0, at, at + size);
  out[at] = DOMAIN_BYTE[domain];
  const n = out.write(normalised, at + 2, size - 2, 'utf8');
  out[at + 1] = n;
}

/** Blind indexes of many values of one domain: 16 bytes each, concatenated in input order. */
export function blindIndexBatch(key: Buffer, domain: BlindIndexDomain, values: readonly string[]): Buffer {
  return blindIndexOfMessages(key, domain, blindIndexMessages(domain, values), values.length);
}

/**
 * The fixed-length messages of many values, to be MACed under several keys (a leak scan matches
 * each batch of candidates against every tenant): built once, not once per key.
 */
export function blindIndexMessages(domain: BlindIndexDomain, values: readonly string[]): Buffer {
  const size = BLOCKS[domain] * 16;
  // Its own memory (not the shared pool): aligned for blindIndexOfMessages' word-wise XOR.
  const msg = Buffer.allocUnsafeSlow(values.length * size);
  values.forEach((v, i) => writeMessage(msg, i * size, domain, v));
  return msg;
}

/** Blind indexes of `n` messages made by blindIndexMessages for `domain`. */
export function blindIndexOfMessages(key: Buffer, domain: BlindIndexDomain, msg: Buffer, n: number): Buffer {
  return blindIndexUnderPrfKey(blindIndexPrfKey(key), domain, msg, n);
}

/** blindIndexOfMessages under the PRF key itself (blindIndexPrfKey). */
export function blindIndexUnderPrfKey(k: Buffer, domain: BlindIndexDomain, msg: Buffer, n: number): Buffer {
  const blocks = BLOCKS[domain];
  if (n === 0) return Buffer.alloc(0);
  // CBC-MAC for all messages at once: block j of every message, XORed with its chain, in one ECB call.
  if (blocks === 1) return ecb(k, msg.length === n * 16 ? msg : msg.subarray(0, n * 16));
  let chain: Buffer | null = null;
  // XORed a 32-bit word at a time where all three buffers allow it (a leak scan's new candidates come here).
  const x = Buffer.allocUnsafeSlow(n * 16);
  for (let j = 0; j < blocks; j++) {
    if (chain === null) for (let i = 0; i < n; i++) msg.copy(x, i * 16, i * blocks * 16 + j * 16, i * blocks * 16 + j * 16 + 16);
    else if (aligned(msg) && aligned(chain)) xorWords(words(x), words(msg), words(chain), n, blocks, j);
    else
      for (let i = 0; i < n; i++) {
        const src = i * blocks * 16 + j * 16;
        const dst = i * 16;
        for (let b = 0; b < 16; b++) x[dst + b] = (msg[src + b] as number) ^ (chain[dst + b] as number);
      }
    chain = ecb(k, x);
  }
  return chain ?? Buffer.alloc(0);
}

const aligned = (b: Buffer): boolean => b.byteOffset % 4 === 0 && b.length % 4 === 0;
const words = (b: Buffer): Int32Array => new Int32Array(b.buffer, b.byteOffset, b.length / 4);

/** x[i] = block j of message i XOR chain[i], for n messages of `blocks` blocks, in 32-bit words. */
function xorWords(x: Int32Array, msg: Int32Array, chain: Int32Array, n: number, blocks: number, j: number): void {
  for (let i = 0; i < n; i++) {
    const src = (i * blocks + j) * 4;
    const dst = i * 4;
    x[dst] = (msg[src] as number) ^ (chain[dst] as number);
    x[dst + 1] = (msg[src + 1] as number) ^ (chain[dst + 1] as number);
    x[dst + 2] = (msg[src + 2] as number) ^ (chain[dst + 2] as number);
    x[dst + 3] = (msg[src + 3] as number) ^ (chain[dst + 3] as number);
  }
}

function ecb(k: Buffer, blocks: Buffer): Buffer {
  const c = createCipheriv('aes-256-ecb', k, null).setAutoPadding(false);
  const out = c.update(blocks);
  c.final();
  return out;
}

export function blindIndex(key: Buffer, domain: BlindIndexDomain, normalised: string): Buffer {
  return blindIndexBatch(key, domain, [normalised]);
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

const CONTENT_PREFIX = Buffer.from('content:', 'utf8');

/** Keyed MAC of a resource's canonical bytes: lets re-ingest recognise identical content without decrypting. */
export function contentMac(key: Buffer, bytes: Buffer): Buffer {
  if (recordCrypto) {
    const out = Buffer.allocUnsafe(BLIND_INDEX_BYTES);
    recordCrypto.contentMacInto(out, key, CONTENT_PREFIX, bytes);
    return out;
  }
  return createHmac('sha256', key).update(CONTENT_PREFIX).update(bytes).digest().subarray(0, BLIND_INDEX_BYTES);
}

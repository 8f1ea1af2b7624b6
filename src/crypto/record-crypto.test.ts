import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { Section, recordAad } from './aad.js';
import { contentMac } from './blind-index.js';
import { open, seal } from './envelope.js';
import { recordCrypto, recordCryptoBackend } from './record-crypto.js';

/** The envelope as node:crypto builds it: the reference the native call must equal byte for byte. */
function referenceSeal(key: Buffer, plaintext: Buffer, aad: Buffer, iv: Buffer): Buffer {
  const c = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  c.setAAD(aad);
  return Buffer.concat([Buffer.from([1]), iv, c.update(plaintext), c.final(), c.getAuthTag()]);
}
const referenceMac = (key: Buffer, bytes: Buffer): Buffer =>
  createHmac('sha256', key).update('content:').update(bytes).digest().subarray(0, 16);

const native = recordCrypto;
const SIZES = [0, 1, 15, 16, 17, 300, 1000, 70_000];

describe('native record crypto', () => {
  it('is what CI runs (npm ci builds it), so a broken build cannot pass unnoticed', () => {
    if (process.env.CI === 'true') expect(recordCryptoBackend()).toBe('native');
    expect(recordCryptoBackend()).toBe(native ? 'native' : 'node:crypto');
  });

  describe.runIf(native !== null)('against node:crypto', () => {
    const n = native!;
    it.each(SIZES)('seals %i bytes exactly as node:crypto does, and node:crypto opens it', (size) => {
      const key = randomBytes(32);
      const iv = randomBytes(12);
      const pt = randomBytes(size);
      const aad = recordAad('screening', 'Observation', `obs-${size}`, 1, Section.Body);
      const out = Buffer.alloc(size + 29);
      n.sealInto(out, key, pt, aad, iv);
      expect(out.equals(referenceSeal(key, pt, aad, iv))).toBe(true);
      expect(open(key, out, aad).equals(pt)).toBe(true);
    });

    it('never reuses a key it held before: switching keys, and a key buffer changed in place', () => {
      const a = randomBytes(32);
      const b = randomBytes(32);
      const iv = randomBytes(12);
      const pt = Buffer.from('{"resourceType":"Patient"}');
      const aad = Buffer.from('aad');
      const out = Buffer.alloc(pt.length + 29);
      for (const key of [a, b, a, a, b]) {
        n.sealInto(out, key, pt, aad, iv);
        expect(out.equals(referenceSeal(key, pt, aad, iv))).toBe(true);
      }
      const reused = Buffer.from(a);
      n.sealInto(out, reused, pt, aad, iv);
      reused[0] = (reused[0] as number) ^ 1;
      n.sealInto(out, reused, pt, aad, iv);
      expect(out.equals(referenceSeal(reused, pt, aad, iv))).toBe(true);
      expect(() => open(a, out, aad)).toThrow();
    });

    it('MACs exactly as HMAC-SHA256 of node:crypto, across key switches and key lengths', () => {
      const keys = [randomBytes(32), randomBytes(32), randomBytes(16), randomBytes(64), randomBytes(100)];
      const out = Buffer.alloc(16);
      for (const key of [...keys, ...keys.reverse(), keys[0]!]) {
        for (const size of [0, 1, 64, 1000]) {
          const bytes = randomBytes(size);
          n.contentMacInto(out, key, Buffer.from('content:'), bytes);
          expect(out.equals(referenceMac(key, bytes))).toBe(true);
        }
      }
      const reused = Buffer.from(keys[0]!);
      n.contentMacInto(out, reused, Buffer.from('content:'), Buffer.from('x'));
      reused[5] = (reused[5] as number) ^ 0x80;
      n.contentMacInto(out, reused, Buffer.from('content:'), Buffer.from('x'));
      expect(out.equals(referenceMac(reused, Buffer.from('x')))).toBe(true);
    });

    it('refuses wrong sizes, non-byte arguments and an envelope over its own input, writing nothing usable', () => {
      const key = randomBytes(32);
      const iv = randomBytes(12);
      const pt = randomBytes(40);
      const aad = Buffer.from('aad');
      expect(() => n.sealInto(Buffer.alloc(69), key.subarray(0, 31), pt, aad, iv)).toThrow(/size mismatch/);
      expect(() => n.sealInto(Buffer.alloc(69), key, pt, aad, iv.subarray(0, 11))).toThrow(/size mismatch/);
      expect(() => n.sealInto(Buffer.alloc(68), key, pt, aad, iv)).toThrow(/size mismatch/);
      expect(() => n.sealInto(Buffer.alloc(69), 'key' as unknown as Buffer, pt, aad, iv)).toThrow(/key must be a Uint8Array/);
      expect(() => n.sealInto(Buffer.alloc(69), key, new Uint16Array(20) as unknown as Buffer, aad, iv)).toThrow(/plaintext/);
      const shared = Buffer.alloc(40 + 69);
      expect(() => n.sealInto(shared.subarray(20, 89), key, shared.subarray(0, 40), aad, iv)).toThrow(/overlap/);
      expect(() => n.contentMacInto(Buffer.alloc(15), key, Buffer.from('content:'), pt)).toThrow(/size mismatch/);
      expect(() => n.contentMacInto(Buffer.alloc(16), Buffer.alloc(0), Buffer.from('content:'), pt)).toThrow(/size mismatch/);
    });
  });

  it('gives the same envelope and MAC through the public functions whichever backend runs', () => {
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const pt = Buffer.from('{"resourceType":"Observation","status":"final"}');
    const aad = recordAad('gp-utrecht', 'Observation', 'o-9', 1, Section.Body);
    expect(seal(key, pt, aad, iv).equals(referenceSeal(key, pt, aad, iv))).toBe(true);
    expect(contentMac(key, pt).equals(referenceMac(key, pt))).toBe(true);
  });

  it('LABVAULT_NATIVE_CRYPTO=0 turns the addon off: node:crypto does the work', async () => {
    vi.resetModules();
    vi.stubEnv('LABVAULT_NATIVE_CRYPTO', '0');
    try {
      const m = await import('./record-crypto.js');
      expect(m.recordCrypto).toBeNull();
      expect(m.recordCryptoBackend()).toBe('node:crypto');
    } finally {
      vi.unstubAllEnvs();
      vi.resetModules();
    }
  });
});

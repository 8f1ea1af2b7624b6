import { execFileSync } from 'node:child_process';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
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
const PREFIX = Buffer.from('content:');
const referenceMac = (key: Buffer, bytes: Buffer): Buffer =>
  createHmac('sha256', key).update(PREFIX).update(bytes).digest().subarray(0, 16);

const ADDON = fileURLToPath(new URL('../../build/Release/record_crypto.node', import.meta.url));
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

    it('seals a run of records under one key with fresh IVs, AADs and sizes as node:crypto does', () => {
      const key = randomBytes(32);
      for (let i = 0; i < 300; i++) {
        const iv = randomBytes(12);
        const pt = randomBytes(i * 7);
        const aad = recordAad('screening', 'Observation', `o-${i}`, 1, Section.Body);
        const out = Buffer.alloc(pt.length + 29);
        n.sealInto(out, key, pt, aad, iv);
        expect(out.equals(referenceSeal(key, pt, aad, iv))).toBe(true);
      }
    });

    it('uses the key it is given each time: switching keys, and a key buffer changed in place', () => {
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

    it('MACs exactly as HMAC-SHA256 of node:crypto, across key switches, key lengths and a key changed in place', () => {
      const keys = [randomBytes(32), randomBytes(32), randomBytes(16), randomBytes(64), randomBytes(100)];
      const out = Buffer.alloc(16);
      for (const key of [...keys, ...[...keys].reverse(), keys[0]!, keys[0]!]) {
        for (const size of [0, 1, 64, 1000]) {
          const bytes = randomBytes(size);
          n.contentMacInto(out, key, PREFIX, bytes);
          expect(out.equals(referenceMac(key, bytes))).toBe(true);
        }
      }
      const reused = Buffer.from(keys[0]!);
      expect(reused.length).toBe(32);
      n.contentMacInto(out, reused, PREFIX, Buffer.from('x'));
      reused[5] = (reused[5] as number) ^ 0x80;
      n.contentMacInto(out, reused, PREFIX, Buffer.from('x'));
      expect(out.equals(referenceMac(reused, Buffer.from('x')))).toBe(true);
    });

    it('refuses wrong sizes, non-byte arguments and an envelope over its own input, writing nothing, and works after', () => {
      const key = randomBytes(32);
      const iv = randomBytes(12);
      const pt = randomBytes(40);
      const aad = Buffer.from('aad');
      const out = Buffer.alloc(69);
      expect(() => n.sealInto(out, key.subarray(0, 31), pt, aad, iv)).toThrow(/size mismatch/);
      expect(() => n.sealInto(out, key, pt, aad, iv.subarray(0, 11))).toThrow(/size mismatch/);
      expect(() => n.sealInto(Buffer.alloc(68), key, pt, aad, iv)).toThrow(/size mismatch/);
      expect(() => n.sealInto(out, 'key' as unknown as Buffer, pt, aad, iv)).toThrow(/key must be a Uint8Array/);
      expect(() => n.sealInto(out, key, new Uint16Array(20) as unknown as Buffer, aad, iv)).toThrow(/plaintext/);
      expect(() => (n.sealInto as (...a: unknown[]) => void)(out, key, pt, aad)).toThrow(/5 arguments/);
      expect(out.every((b) => b === 0)).toBe(true);
      const shared = Buffer.alloc(40 + 69);
      expect(() => n.sealInto(shared.subarray(20, 89), key, shared.subarray(0, 40), aad, iv)).toThrow(/overlap/);
      expect(shared.every((b) => b === 0)).toBe(true);
      const mac = Buffer.alloc(16);
      expect(() => n.contentMacInto(Buffer.alloc(15), key, PREFIX, pt)).toThrow(/size mismatch/);
      expect(() => n.contentMacInto(mac, Buffer.alloc(0), PREFIX, pt)).toThrow(/size mismatch/);
      expect(mac.every((b) => b === 0)).toBe(true);
      n.sealInto(out, key, pt, aad, iv);
      expect(out.equals(referenceSeal(key, pt, aad, iv))).toBe(true);
      n.contentMacInto(mac, key, PREFIX, pt);
      expect(mac.equals(referenceMac(key, pt))).toBe(true);
    });

    it('works in worker threads alongside the main thread, each with its own contexts', async () => {
      const code = `
        const { parentPort, workerData } = require('node:worker_threads');
        const n = require(workerData.addon);
        const { key, iv, aad, pt } = workerData;
        const outs = [];
        for (let i = 0; i < 200; i++) {
          const out = Buffer.alloc(pt.length + 29);
          n.sealInto(out, key, pt, aad, iv);
          const mac = Buffer.alloc(16);
          n.contentMacInto(mac, key, Buffer.from('content:'), pt);
          if (i === 199) outs.push(out, mac);
        }
        parentPort.postMessage(outs);`;
      const inputs = Array.from({ length: 4 }, () => ({
        key: randomBytes(32),
        iv: randomBytes(12),
        aad: randomBytes(30),
        pt: randomBytes(500),
      }));
      const results = await Promise.all(
        inputs.map(
          (input) =>
            new Promise<Uint8Array[]>((resolve, reject) => {
              const w = new Worker(code, { eval: true, workerData: { addon: ADDON, ...input } });
              w.once('message', (m: Uint8Array[]) => {
                resolve(m);
                void w.terminate();
              });
              w.once('error', reject);
            }),
        ),
      );
      // The main thread keeps sealing meanwhile, with its own key.
      const k = randomBytes(32);
      const o = Buffer.alloc(29 + 10);
      n.sealInto(o, k, Buffer.alloc(10), Buffer.alloc(0), Buffer.alloc(12));
      expect(o.equals(referenceSeal(k, Buffer.alloc(10), Buffer.alloc(0), Buffer.alloc(12)))).toBe(true);
      results.forEach(([out, mac], i) => {
        const { key, iv, aad, pt } = inputs[i]!;
        expect(Buffer.from(out!).equals(referenceSeal(key, pt, aad, iv))).toBe(true);
        expect(Buffer.from(mac!).equals(referenceMac(key, pt))).toBe(true);
      });
    });

    it('keeps no copy of a key after the call: a zeroed key is found nowhere in the process memory', () => {
      // A child with the addon seals and MACs under a key derived from a seed, zeroes the key and
      // scans its own writable memory for it; the needle it searches with is made only then.
      const script = `
        const fs = require('fs'), c = require('crypto'), n = require(${JSON.stringify(ADDON)});
        const seed = c.randomBytes(32);
        (() => {
          // Off the V8 heap, as keys here are: V8 copies a small on-heap array when native code asks for its bytes.
          const key = Buffer.alloc(4096).subarray(0, 32); seed.copy(key); key[0] ^= 0x5a;
          const pt = Buffer.from('{"resourceType":"Patient","id":"p1"}');
          n.sealInto(Buffer.alloc(pt.length + 29), key, pt, Buffer.from('aad'), c.randomBytes(12));
          n.contentMacInto(Buffer.alloc(16), key, Buffer.from('content:'), pt);
          key.fill(0);
        })();
        global.gc(); global.gc();
        const needle = Buffer.alloc(32); seed.copy(needle); needle[0] ^= 0x5a;
        const fd = fs.openSync('/proc/self/mem', 'r');
        let hits = 0;
        for (const l of fs.readFileSync('/proc/self/maps', 'utf8').split('\\n')) {
          const m = /^([0-9a-f]+)-([0-9a-f]+) rw.p /.exec(l);
          if (!m) continue;
          const a = parseInt(m[1], 16), b = parseInt(m[2], 16);
          if (b - a > 1 << 30) continue;
          const buf = Buffer.alloc(b - a);
          try { fs.readSync(fd, buf, 0, buf.length, a); } catch { continue; }
          // Counts the needle itself too, and any copy this scan makes; the control run below counts those alike.
          for (let i = buf.indexOf(needle); i !== -1; i = buf.indexOf(needle, i + 1)) hits++;
          buf.fill(0);
        }
        process.stdout.write(String(hits));`;
      const hits = (script: string): number => Number(execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' }));
      // The same scan where the key never reached the addon: what it counts is the needle and the scan's own copies.
      const control = script.replace(/n\.sealInto\([^;]*;\s*n\.contentMacInto\([^;]*;/, '');
      expect(control).not.toBe(script);
      expect(hits(script)).toBe(hits(control));
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

  it('LABVAULT_NATIVE_CRYPTO=0 turns the addon off: node:crypto computes the same envelope and MAC', async () => {
    vi.resetModules();
    vi.stubEnv('LABVAULT_NATIVE_CRYPTO', '0');
    try {
      const m = await import('./record-crypto.js');
      expect(m.recordCrypto).toBeNull();
      expect(m.recordCryptoBackend()).toBe('node:crypto');
      const env = await import('./envelope.js');
      const bi = await import('./blind-index.js');
      const key = randomBytes(32);
      const iv = randomBytes(12);
      const pt = randomBytes(333);
      const aad = Buffer.from('tenant|type|id');
      expect(env.seal(key, pt, aad, iv).equals(referenceSeal(key, pt, aad, iv))).toBe(true);
      expect(env.open(key, env.seal(key, pt, aad, iv), aad).equals(pt)).toBe(true);
      expect(bi.contentMac(key, pt).equals(referenceMac(key, pt))).toBe(true);
    } finally {
      vi.unstubAllEnvs();
      vi.resetModules();
    }
  });
});

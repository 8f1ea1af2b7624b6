import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BLIND_INDEX_BYTES,
  blindIndex,
  blindIndexBatch,
  blindIndexMessages,
  blindIndexOfMessages,
  nameBirthDateKey,
  normaliseFamilyName,
} from './blind-index.js';

describe('blind index', () => {
  const key = randomBytes(32);

  it('is deterministic per key and truncated', () => {
    const a = blindIndex(key, 'bsn', '123456782');
    expect(a.length).toBe(BLIND_INDEX_BYTES);
    expect(blindIndex(key, 'bsn', '123456782').equals(a)).toBe(true);
  });

  it('differs under another key (tenants cannot correlate) and across domains', () => {
    expect(blindIndex(randomBytes(32), 'bsn', '123456782').equals(blindIndex(key, 'bsn', '123456782'))).toBe(false);
    expect(blindIndex(key, 'name-birthdate', '123456782').equals(blindIndex(key, 'bsn', '123456782'))).toBe(false);
  });

  it('does not contain the plaintext', () => {
    expect(blindIndex(key, 'bsn', '123456782').toString('latin1')).not.toContain('123456782');
  });

  it('is AES-256 CBC-MAC of the fixed-length message, batch or not (checked against the CBC mode itself)', () => {
    const k = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'labvault blind index v2', 32));
    const cbcMac = (msg: Buffer): Buffer =>
      createCipheriv('aes-256-cbc', k, Buffer.alloc(16)).setAutoPadding(false).update(msg).subarray(-16);
    const message = (domain: number, blocks: number, v: string): Buffer => {
      const m = Buffer.alloc(blocks * 16);
      m[0] = domain;
      m[1] = m.write(v, 2, 'utf8');
      return m;
    };
    const names = ['vanderberg|1980-01-02', 'devries|1975-12-31', 'x'.repeat(80)];
    const batch = blindIndexBatch(key, 'name-birthdate', names);
    names.forEach((v, i) => {
      expect(batch.subarray(i * 16, i * 16 + 16).equals(cbcMac(message(2, 4, v)))).toBe(true);
      expect(blindIndex(key, 'name-birthdate', v).equals(batch.subarray(i * 16, i * 16 + 16))).toBe(true);
    });
    const bsns = Array.from({ length: 1000 }, (_, i) => String(100000000 + i * 7919));
    const b = blindIndexBatch(key, 'bsn', bsns);
    expect(b.length).toBe(16 * 1000);
    expect(b.subarray(16 * 500, 16 * 501).equals(cbcMac(message(1, 1, bsns[500] as string)))).toBe(true);
    expect(new Set(Array.from({ length: 1000 }, (_, i) => b.subarray(i * 16, i * 16 + 16).toString('hex'))).size).toBe(1000);
    expect(blindIndexBatch(key, 'bsn', []).length).toBe(0);
  });

  it('gives the same indexes from messages at any alignment (the XOR runs word-wise only when aligned)', () => {
    const names = ['vanderberg|1980-01-02', 'devries|1975-12-31', 'jansen|2001-07-04'];
    const msg = blindIndexMessages('name-birthdate', names);
    const shifted = Buffer.alloc(msg.length + 1).subarray(1);
    msg.copy(shifted);
    expect(shifted.byteOffset % 4).not.toBe(0);
    const a = blindIndexOfMessages(key, 'name-birthdate', msg, names.length);
    expect(blindIndexOfMessages(key, 'name-birthdate', shifted, names.length).equals(a)).toBe(true);
    expect(a.equals(blindIndexBatch(key, 'name-birthdate', names))).toBe(true);
  });

  it('separates names that share their first block', () => {
    const a = blindIndex(key, 'name-birthdate', 'abcdefghijklmn|1980-01-01');
    expect(a.equals(blindIndex(key, 'name-birthdate', 'abcdefghijklmn|1980-01-02'))).toBe(false);
  });

  it('normalises family names so spelling variants meet', () => {
    expect(normaliseFamilyName('van der Berg')).toBe('vanderberg');
    expect(normaliseFamilyName('Van-der Bérg')).toBe('vanderberg');
    expect(nameBirthDateKey("D'Souza", '1980-01-02')).toBe('dsouza|1980-01-02');
    expect(normaliseFamilyName('Søren-Łukasz Weiß')).toBe('sorenlukaszweiss');
  });
});

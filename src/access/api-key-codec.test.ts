import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { containsBsnLike } from '../domain/validate-resource.js';
import { hashSecret, looksLikeApiKey, newApiKey, parseApiKey, secretMatches } from './api-key-codec.js';

describe('API key codec', () => {
  it('makes lvk_<16 hex>_<43 base64url> keys whose stored form is the SHA-256 of the secret only', () => {
    const k = newApiKey();
    expect(k.key).toMatch(/^lvk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(k.key).toBe(`lvk_${k.id}_${k.secret}`);
    expect(Buffer.from(k.secret, 'base64url')).toHaveLength(32);
    expect(k.secretHash.equals(createHash('sha256').update(k.secret, 'utf8').digest())).toBe(true);
    expect(k.secretHash.includes(Buffer.from(k.secret))).toBe(false);
    expect(k.secretHash.includes(Buffer.from(k.secret, 'base64url'))).toBe(false);
  });

  it('parses what it makes', () => {
    const k = newApiKey();
    expect(looksLikeApiKey(k.key)).toBe(true);
    expect(parseApiKey(k.key)).toEqual({ id: k.id, secret: k.secret });
    expect(secretMatches(k.secret, k.secretHash)).toBe(true);
  });

  it('ids and secrets are unique, and no id looks like a BSN (it is logged and audited)', () => {
    const ids = new Set<string>();
    const secrets = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const k = newApiKey();
      ids.add(k.id);
      secrets.add(k.secret);
      expect(containsBsnLike(k.id), k.id).toBe(false);
    }
    expect(ids.size).toBe(3000);
    expect(secrets.size).toBe(3000);
  });

  it('refuses anything not exactly in the format', () => {
    const k = newApiKey();
    const bad = [
      '',
      'lvk_',
      `lvk_${k.id}`,
      `lvk_${k.id}_`,
      `lvk_${k.id}_${k.secret.slice(1)}`,
      `lvk_${k.id}_${k.secret}A`,
      `lvk_${k.id.toUpperCase().replace(/[0-9]/g, 'A')}_${k.secret}`,
      `lvk_${k.id.slice(1)}_${k.secret}`,
      `lvk_${k.id}0_${k.secret}`,
      `LVK_${k.id}_${k.secret}`,
      ` ${k.key}`,
      `${k.key} `,
      `${k.key}\n`,
      `lvk_${k.id}_${k.secret.slice(0, 42)}=`,
      `lvk_${k.id}_${k.secret.slice(0, 42)}+`,
      `lvk_${k.id}_${k.secret.slice(0, 42)}/`,
      `lvk_${'g'.repeat(16)}_${k.secret}`,
      k.secret,
    ];
    for (const b of bad) expect(parseApiKey(b), JSON.stringify(b)).toBeNull();
    expect(looksLikeApiKey('eyJhbGciOi.x.y')).toBe(false);
    expect(looksLikeApiKey('lvk_anything')).toBe(true);
  });

  it('secretMatches: only the right secret, and never throws on a hash of the wrong length', () => {
    const k = newApiKey();
    const other = newApiKey();
    expect(secretMatches(other.secret, k.secretHash)).toBe(false);
    expect(secretMatches(k.secret, other.secretHash)).toBe(false);
    expect(secretMatches(`${k.secret}x`, k.secretHash)).toBe(false);
    expect(secretMatches('', k.secretHash)).toBe(false);
    expect(secretMatches(k.secret, Buffer.alloc(0))).toBe(false);
    expect(secretMatches(k.secret, k.secretHash.subarray(0, 16))).toBe(false);
    expect(secretMatches(k.secret, Buffer.alloc(32))).toBe(false);
    // The hash of the secret is not itself a secret that matches.
    expect(secretMatches(k.secretHash.toString('base64url'), k.secretHash)).toBe(false);
    expect(hashSecret(k.secret).equals(k.secretHash)).toBe(true);
  });
});

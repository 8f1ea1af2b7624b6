import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CompactEncrypt, calculateJwkThumbprint, compactDecrypt } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError, InvalidInput } from '../domain/errors.js';
import { RECOVERY_ALG, readRecoveryPrivateKey, readRecoveryPublicKey, writeRecoveryKeyPair } from './recovery-key.js';

describe('recovery keys', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lv-recovery-key-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const jwkFile = async (name: string, jwk: unknown): Promise<string> => {
    const f = path.join(dir, name);
    await writeFile(f, JSON.stringify(jwk));
    return f;
  };

  it('generates an X25519 pair: private 0600 with d, public without, same kid; the halves work together', async () => {
    const priv = path.join(dir, 'r.private.jwk');
    const pub = path.join(dir, 'r.public.jwk');
    const { kid } = await writeRecoveryKeyPair(priv, pub);
    expect((await stat(priv)).mode & 0o777).toBe(0o600);
    const privJwk = JSON.parse(await readFile(priv, 'utf8')) as Record<string, string>;
    const pubJwk = JSON.parse(await readFile(pub, 'utf8')) as Record<string, string>;
    expect(privJwk).toMatchObject({ kty: 'OKP', crv: 'X25519', kid, alg: RECOVERY_ALG });
    expect(typeof privJwk.d).toBe('string');
    expect(pubJwk).not.toHaveProperty('d');
    expect(pubJwk.x).toBe(privJwk.x);
    expect(kid).toBe(await calculateJwkThumbprint({ kty: 'OKP', crv: 'X25519', x: pubJwk.x }));
    const encryptTo = await readRecoveryPublicKey(pub);
    const decryptWith = await readRecoveryPrivateKey(priv);
    expect(decryptWith.kid).toBe(kid);
    expect(encryptTo.kid).toBe(kid);
    const jwe = await new CompactEncrypt(Buffer.from('hello'))
      .setProtectedHeader({ alg: RECOVERY_ALG, enc: 'A256GCM' })
      .encrypt(encryptTo.key);
    expect(Buffer.from((await compactDecrypt(jwe, decryptWith.key)).plaintext).toString()).toBe('hello');
  });

  it('never overwrites: an existing private or public file stops it and is left as it was, with no half pair left behind', async () => {
    const priv = path.join(dir, 'p.jwk');
    const pub = path.join(dir, 'q.jwk');
    await writeFile(pub, 'precious');
    await expect(writeRecoveryKeyPair(priv, pub)).rejects.toBeInstanceOf(InvalidInput);
    expect(await readFile(pub, 'utf8')).toBe('precious');
    // The private file it had written first is gone again.
    await expect(stat(priv)).rejects.toThrow();
    await writeFile(priv, 'also precious');
    await expect(writeRecoveryKeyPair(priv, path.join(dir, 'new.jwk'))).rejects.toThrow(/already exists/);
    expect(await readFile(priv, 'utf8')).toBe('also precious');
    await expect(stat(path.join(dir, 'new.jwk'))).rejects.toThrow();
    await expect(writeRecoveryKeyPair(priv, priv)).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('accepts a P-256 public key; refuses private keys, other curves and types, and non-JWK files, never quoting them', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const p256 = await readRecoveryPublicKey(await jwkFile('p256.jwk', ec.publicKey.export({ format: 'jwk' })));
    expect(p256.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const x = generateKeyPairSync('x25519').privateKey.export({ format: 'jwk' });
    const asPublic = readRecoveryPublicKey(await jwkFile('x-private.jwk', x));
    await expect(asPublic).rejects.toBeInstanceOf(ConfigurationError);
    await expect(asPublic).rejects.toThrow(/holds a private key/);
    expect(((await asPublic.catch((e: unknown) => e)) as Error).message).not.toContain(String(x.d));

    const refused = [
      generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' }),
      generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }),
      generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }),
      { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ' },
      { kty: 'OKP', crv: 'X25519', x: 'too-short' },
    ];
    for (const [i, jwk] of refused.entries()) {
      await expect(readRecoveryPublicKey(await jwkFile(`bad-${i}.jwk`, jwk))).rejects.toBeInstanceOf(ConfigurationError);
    }
    const garbage = path.join(dir, 'garbage.jwk');
    await writeFile(garbage, 'SECRET-LOOKING-TEXT not json');
    const e = (await readRecoveryPublicKey(garbage).catch((err: Error) => err)) as Error;
    expect(e).toBeInstanceOf(ConfigurationError);
    expect(e.message).toContain(garbage);
    expect(e.message).not.toContain('SECRET-LOOKING-TEXT');
    expect(e.message.split('\n')).toHaveLength(1);
    await expect(readRecoveryPublicKey(path.join(dir, 'missing.jwk'))).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('refuses a public key where the private half is needed', async () => {
    const pub = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' });
    await expect(readRecoveryPrivateKey(await jwkFile('pub.jwk', pub))).rejects.toThrow(/holds no private key/);
  });
});

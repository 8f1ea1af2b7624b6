import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError, DecryptionFailed, KeyUnavailable } from '../domain/errors.js';
import { KEYRING_FILE, LocalKeyring, parseKeyring } from './local-keyring.js';

/** node:crypto public key from a raw 32-byte Ed25519 key (RFC 8410 SPKI prefix). */
const ed25519Spki = (raw: Buffer) =>
  createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });

describe('LocalKeyring', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lv-keyring-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the keyring with mode 0600, once', async () => {
    expect(await LocalKeyring.create(dir)).toBe(true);
    expect(await LocalKeyring.create(dir)).toBe(false);
    expect((await stat(path.join(dir, KEYRING_FILE))).mode & 0o777).toBe(0o600);
  });

  it('holds an Ed25519 audit signing key; a keyring from before the audit log gets one, staying 0600', async () => {
    const file = path.join(dir, KEYRING_FILE);
    await LocalKeyring.create(dir);
    const old = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    delete old.auditKey;
    await writeFile(file, JSON.stringify(old), { mode: 0o600 });
    const k = await LocalKeyring.open(dir);
    const signer = await k.auditSigner();
    const sig = await signer.sign(Buffer.from('note'));
    const pub = createPublicKey({
      key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), signer.publicKey]),
      format: 'der',
      type: 'spki',
    });
    expect(verify(null, Buffer.from('note'), pub, sig)).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const reopened = await (await LocalKeyring.open(dir)).auditSigner();
    // two processes upgrading at once end up with one key
    await writeFile(file, JSON.stringify(old), { mode: 0o600 });
    const [a, b] = await Promise.all([LocalKeyring.open(dir), LocalKeyring.open(dir)]);
    expect((await a.auditSigner()).publicKey).toEqual((await b.auditSigner()).publicKey);
    expect(reopened.publicKey).toEqual(signer.publicKey);
    await k.close();
    await expect(k.auditSigner()).rejects.toBeInstanceOf(KeyUnavailable);
  });

  it('holds a separate Ed25519 token signing key that verifies, survives reopening and stops on close', async () => {
    await LocalKeyring.create(dir);
    const k = await LocalKeyring.open(dir);
    const token = await k.tokenSigner();
    const audit = await k.auditSigner();
    expect(token.publicKey).toHaveLength(32);
    expect(token.publicKey).not.toEqual(audit.publicKey);
    const message = Buffer.from('{"sub":"alice","exp":1}');
    const sig = await token.sign(message);
    expect(sig).toHaveLength(64);
    expect(verify(null, message, ed25519Spki(token.publicKey), sig)).toBe(true);
    expect(verify(null, Buffer.from('{"sub":"mallory","exp":1}'), ed25519Spki(token.publicKey), sig)).toBe(false);
    // A token signature is no audit signature and vice versa.
    expect(verify(null, message, ed25519Spki(audit.publicKey), sig)).toBe(false);
    expect(verify(null, message, ed25519Spki(token.publicKey), await audit.sign(message))).toBe(false);
    await k.close();
    await expect(k.tokenSigner()).rejects.toBeInstanceOf(KeyUnavailable);
    await expect(token.sign(message)).rejects.toBeInstanceOf(KeyUnavailable);
    const again = await LocalKeyring.open(dir);
    expect((await again.tokenSigner()).publicKey).toEqual(token.publicKey);
    expect((await again.auditSigner()).publicKey).toEqual(audit.publicKey);
    await again.close();
  });

  it('adds a token key to a keyring from before the token issuer, keeping its audit key and mode 0600', async () => {
    const file = path.join(dir, KEYRING_FILE);
    await LocalKeyring.create(dir);
    const before = await LocalKeyring.open(dir);
    const auditKey = (await before.auditSigner()).publicKey;
    await before.close();
    const old = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    delete old.tokenKey;
    await writeFile(file, JSON.stringify(old), { mode: 0o600 });

    // Two processes upgrading at once end up with one token key.
    const [a, b] = await Promise.all([LocalKeyring.open(dir), LocalKeyring.open(dir)]);
    const token = await a.tokenSigner();
    expect((await b.tokenSigner()).publicKey).toEqual(token.publicKey);
    expect((await a.auditSigner()).publicKey).toEqual(auditKey);
    expect(token.publicKey).not.toEqual(auditKey);
    const upgraded = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(upgraded).toMatchObject({ masterKeyId: old.masterKeyId, masterKey: old.masterKey, auditKey: old.auditKey });
    expect(typeof upgraded.tokenKey).toBe('string');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // The master key is untouched: what the old keyring wrapped still unwraps.
    const wrapped = await a.wrap(Buffer.from('kek'), 'ctx');
    const reopened = await LocalKeyring.open(dir);
    expect((await reopened.tokenSigner()).publicKey).toEqual(token.publicKey);
    expect((await reopened.unwrap(wrapped, 'ctx')).toString()).toBe('kek');
    await Promise.all([a.close(), b.close(), reopened.close()]);
  });

  it('gives a keyring from before the audit log both signing keys, distinct', async () => {
    const file = path.join(dir, KEYRING_FILE);
    await LocalKeyring.create(dir);
    const old = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    delete old.auditKey;
    delete old.tokenKey;
    await writeFile(file, JSON.stringify(old), { mode: 0o600 });
    const k = await LocalKeyring.open(dir);
    const upgraded = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(typeof upgraded.auditKey).toBe('string');
    expect(typeof upgraded.tokenKey).toBe('string');
    expect(upgraded.auditKey).not.toBe(upgraded.tokenKey);
    expect((await k.tokenSigner()).publicKey).not.toEqual((await k.auditSigner()).publicKey);
    await k.close();
  });

  it('says why when the upgrade cannot take the lock (a stale lock file), leaving the keyring as it was', async () => {
    const file = path.join(dir, KEYRING_FILE);
    await LocalKeyring.create(dir);
    const old = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    delete old.tokenKey;
    await writeFile(file, JSON.stringify(old), { mode: 0o600 });
    await writeFile(`${file}.lock`, '', { mode: 0o600 });
    const error = await LocalKeyring.open(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/cannot add the missing signing keys/);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(old);
  });

  it('refuses a keyring whose token key is not Ed25519', async () => {
    const file = path.join(dir, KEYRING_FILE);
    await LocalKeyring.create(dir);
    const body = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    body.tokenKey = generateKeyPairSync('x25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    await writeFile(file, JSON.stringify(body), { mode: 0o600 });
    await expect(LocalKeyring.open(dir)).rejects.toBeInstanceOf(ConfigurationError);
    body.tokenKey = 'not a key';
    await writeFile(file, JSON.stringify(body), { mode: 0o600 });
    await expect(LocalKeyring.open(dir)).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('wraps and unwraps with the context bound', async () => {
    await LocalKeyring.create(dir);
    const k = await LocalKeyring.open(dir);
    const wrapped = await k.wrap(Buffer.from('kek material'), 'kek|a|1');
    expect((await k.unwrap(wrapped, 'kek|a|1')).toString()).toBe('kek material');
    await expect(k.unwrap(wrapped, 'kek|b|1')).rejects.toBeInstanceOf(DecryptionFailed);
    await k.close();
  });

  it.each([0o640, 0o604, 0o644, 0o660])('refuses to start when the keyring has mode %o', async (mode) => {
    await LocalKeyring.create(dir);
    await chmod(path.join(dir, KEYRING_FILE), mode);
    await expect(LocalKeyring.open(dir)).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('a different keyring (wrong master key) cannot unwrap', async () => {
    await LocalKeyring.create(dir);
    const a = await LocalKeyring.open(dir);
    const wrapped = await a.wrap(Buffer.from('x'), 'ctx');
    const other = await mkdtemp(path.join(os.tmpdir(), 'lv-keyring-'));
    await LocalKeyring.create(other);
    const b = await LocalKeyring.open(other);
    await expect(b.unwrap(wrapped, 'ctx')).rejects.toBeInstanceOf(DecryptionFailed);
    await rm(other, { recursive: true, force: true });
  });

  it('reports a missing keyring clearly', async () => {
    await expect(LocalKeyring.open(dir)).rejects.toBeInstanceOf(KeyUnavailable);
  });

  it('parseKeyring accepts what open accepts and refuses the rest without quoting the bytes', async () => {
    await LocalKeyring.create(dir);
    const bytes = await readFile(path.join(dir, KEYRING_FILE));
    const body = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    const parsed = parseKeyring(bytes, 'k');
    expect(parsed.masterKeyId).toBe(body.masterKeyId);
    expect(parsed.masterKey.toString('base64')).toBe(body.masterKey);
    expect(parsed.signingKeys).toEqual({ auditKey: body.auditKey, tokenKey: body.tokenKey });
    // From before the signing keys: valid, the keys are added on open.
    const { auditKey: _a, tokenKey: _t, ...old } = body;
    expect(parseKeyring(Buffer.from(JSON.stringify(old)), 'k').signingKeys).toBeUndefined();
    const bad = [
      Buffer.from('{"masterKey":"'),
      Buffer.from('null'),
      Buffer.from('[1]'),
      Buffer.from(JSON.stringify({ ...body, format: 2 })),
      Buffer.from(JSON.stringify({ ...body, masterKey: Buffer.alloc(16).toString('base64') })),
      Buffer.from(JSON.stringify({ ...body, masterKeyId: 7 })),
      Buffer.from(JSON.stringify({ ...body, auditKey: 'bm90IGEga2V5' })),
      Buffer.from(JSON.stringify({ ...body, tokenKey: 5 })),
      Buffer.from(
        JSON.stringify({
          ...body,
          tokenKey: generateKeyPairSync('x25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
        }),
      ),
    ];
    for (const b of bad) {
      const e = (() => {
        try {
          parseKeyring(b, 'k');
        } catch (err) {
          return err as Error;
        }
        throw new Error(`accepted ${b.toString()}`);
      })();
      expect(e).toBeInstanceOf(ConfigurationError);
      expect(e.message).toBe('keyring k is malformed');
    }
  });
});

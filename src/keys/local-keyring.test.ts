import { createPublicKey, verify } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError, DecryptionFailed, KeyUnavailable } from '../domain/errors.js';
import { KEYRING_FILE, LocalKeyring } from './local-keyring.js';

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
});

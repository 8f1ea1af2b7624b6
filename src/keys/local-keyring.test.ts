import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
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

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Conflict, ConfigurationError, DecryptionFailed, InvalidInput } from '../domain/errors.js';
import { exportKeyring, importKeyring } from './keyring-recovery.js';
import { KEYRING_FILE, LocalKeyring } from './local-keyring.js';
import { writeRecoveryKeyPair } from './recovery-key.js';

describe('keyring export and import', () => {
  let dir: string;
  let source: string;
  let keyring: Buffer;
  let pub: string;
  let priv: string;
  let kid: string;
  const now = new Date('2025-03-04T05:06:07.089Z');

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lv-keyring-recovery-'));
    source = path.join(dir, 'source');
    await mkdir(source, { mode: 0o700 });
    await LocalKeyring.create(source);
    keyring = await readFile(path.join(source, KEYRING_FILE));
    pub = path.join(dir, 'recovery.public.jwk');
    priv = path.join(dir, 'recovery.private.jwk');
    ({ kid } = await writeRecoveryKeyPair(priv, pub));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const masterKeyOf = (bytes: Buffer) => (JSON.parse(bytes.toString('utf8')) as { masterKey: string; masterKeyId: string }).masterKey;
  const masterKeyIdOf = (bytes: Buffer) => (JSON.parse(bytes.toString('utf8')) as { masterKeyId: string }).masterKeyId;
  const exportTo = async (name = 'keyring.jwe') => exportKeyring({ dataDir: source, recoveryKeyFile: pub, out: path.join(dir, name), now });

  it('exports a 0600 JWE whose header names the keyring, holding none of its bytes in the clear', async () => {
    const out = path.join(dir, 'keyring.jwe');
    const r = await exportTo();
    const text = await readFile(out, 'utf8');
    expect(r).toEqual({ out, kind: 'local', master_key_id: masterKeyIdOf(keyring), bytes: Buffer.byteLength(text) });
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect(decodeProtectedHeader(text.trim())).toMatchObject({
      alg: 'ECDH-ES+A256KW',
      enc: 'A256GCM',
      kid,
      kind: 'labvault-keyring',
      master_key_id: masterKeyIdOf(keyring),
      created: now.toISOString(),
      keyring_format: 1,
    });
    const bytes = await readFile(out);
    expect(bytes.indexOf(keyring)).toBe(-1);
    expect(bytes.indexOf(Buffer.from(masterKeyOf(keyring)))).toBe(-1);
    expect(bytes.indexOf(Buffer.from(masterKeyOf(keyring), 'base64'))).toBe(-1);
    expect(text).not.toContain(Buffer.from(masterKeyOf(keyring), 'base64').toString('base64url'));
  });

  it('never overwrites an existing output file, and refuses a private key as the recovery key', async () => {
    const out = path.join(dir, 'taken.jwe');
    await writeFile(out, 'earlier export');
    await expect(exportTo('taken.jwe')).rejects.toBeInstanceOf(InvalidInput);
    await expect(exportTo('taken.jwe')).rejects.toThrow(/already exists/);
    expect(await readFile(out, 'utf8')).toBe('earlier export');
    await expect(exportKeyring({ dataDir: source, recoveryKeyFile: priv, out: path.join(dir, 'x.jwe') })).rejects.toThrow(/private key/);
    await expect(stat(path.join(dir, 'x.jwe'))).rejects.toThrow();
  });

  it('refuses to export a keyring that LocalKeyring would refuse (group-readable, missing)', async () => {
    await chmod(path.join(source, KEYRING_FILE), 0o640);
    await expect(exportTo()).rejects.toBeInstanceOf(ConfigurationError);
    await expect(exportKeyring({ dataDir: path.join(dir, 'nowhere'), recoveryKeyFile: pub, out: path.join(dir, 'y.jwe') })).rejects.toThrow(
      /no keyring/,
    );
    expect((await readdir(dir)).filter((f) => f.endsWith('.jwe'))).toEqual([]);
  });

  it('imports into a new data dir (0700, keyring 0600, same bytes) and the keyring opens', async () => {
    await exportTo();
    const target = path.join(dir, 'restored', 'data');
    const r = await importKeyring({ dataDir: target, file: path.join(dir, 'keyring.jwe'), recoveryPrivateKeyFile: priv, now });
    expect(r).toEqual({ imported: true, data_dir: target, master_key_id: masterKeyIdOf(keyring), replaced: 'none', moved_aside: null });
    expect((await stat(target)).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(target, KEYRING_FILE))).mode & 0o777).toBe(0o600);
    expect((await readFile(path.join(target, KEYRING_FILE))).equals(keyring)).toBe(true);
    expect(await readdir(target)).toEqual([KEYRING_FILE]);
    const opened = await LocalKeyring.open(target);
    const original = await LocalKeyring.open(source);
    const wrapped = await original.wrap(Buffer.from('a tenant KEK'), 'ctx');
    expect((await opened.unwrap(wrapped, 'ctx')).toString()).toBe('a tenant KEK');
    await opened.close();
    await original.close();
  });

  it('an identical keyring is a no-op; an unreadable one is moved aside; a valid different one needs --force', async () => {
    await exportTo();
    const file = path.join(dir, 'keyring.jwe');
    const keyringFile = path.join(source, KEYRING_FILE);
    const identical = await importKeyring({ dataDir: source, file, recoveryPrivateKeyFile: priv, now });
    expect(identical.replaced).toBe('identical');
    expect(await readdir(source)).toEqual([KEYRING_FILE]);

    // Ransomware: the keyring replaced by random bytes.
    const garbage = randomBytes(300);
    await writeFile(keyringFile, garbage);
    const corrupt = await importKeyring({ dataDir: source, file, recoveryPrivateKeyFile: priv, now });
    const aside = `${keyringFile}.corrupt-2025-03-04T05-06-07-089Z`;
    expect(corrupt).toMatchObject({ replaced: 'corrupt', moved_aside: aside });
    expect((await readFile(aside)).equals(garbage)).toBe(true);
    expect((await readFile(keyringFile)).equals(keyring)).toBe(true);

    // A keyring that parses (valid JSON) but is not a keyring counts as corrupt too.
    await rm(aside);
    await writeFile(keyringFile, JSON.stringify({ format: 1, masterKeyId: 'local:x', masterKey: 'short' }));
    expect((await importKeyring({ dataDir: source, file, recoveryPrivateKeyFile: priv, now })).replaced).toBe('corrupt');
    await rm(aside);

    // Another valid keyring: refused without --force, left untouched.
    const other = path.join(dir, 'other');
    await mkdir(other);
    await LocalKeyring.create(other);
    const otherBytes = await readFile(path.join(other, KEYRING_FILE));
    await writeFile(keyringFile, otherBytes);
    const refused = importKeyring({ dataDir: source, file, recoveryPrivateKeyFile: priv, now });
    await expect(refused).rejects.toBeInstanceOf(Conflict);
    await expect(refused).rejects.toThrow(/--force/);
    expect((await readFile(keyringFile)).equals(otherBytes)).toBe(true);
    expect(await readdir(source)).toEqual([KEYRING_FILE]);
    const forced = await importKeyring({ dataDir: source, file, recoveryPrivateKeyFile: priv, force: true, now });
    expect(forced).toMatchObject({ replaced: 'forced', moved_aside: `${keyringFile}.replaced-2025-03-04T05-06-07-089Z` });
    expect((await readFile(keyringFile)).equals(keyring)).toBe(true);
    expect((await readFile(forced.moved_aside ?? '')).equals(otherBytes)).toBe(true);
  });

  it('a wrong recovery key or an altered export is refused and nothing is written', async () => {
    await exportTo();
    const file = path.join(dir, 'keyring.jwe');
    const target = path.join(dir, 'target');
    await mkdir(target);
    const garbage = randomBytes(100);
    await writeFile(path.join(target, KEYRING_FILE), garbage);

    const otherPriv = path.join(dir, 'other.private.jwk');
    await writeRecoveryKeyPair(otherPriv, path.join(dir, 'other.public.jwk'));
    const wrong = importKeyring({ dataDir: target, file, recoveryPrivateKeyFile: otherPriv });
    await expect(wrong).rejects.toBeInstanceOf(InvalidInput);
    await expect(wrong).rejects.toThrow(new RegExp(`wrong recovery key: .* ${kid}`));

    // A wrong key whose kid the header does not name (the header carries none): decryption fails.
    const jwe = (await readFile(file, 'utf8')).trim();
    const [h, ...rest] = jwe.split('.');
    const header = JSON.parse(Buffer.from(h ?? '', 'base64url').toString()) as Record<string, unknown>;
    delete header.kid;
    const noKid = path.join(dir, 'no-kid.jwe');
    await writeFile(noKid, [Buffer.from(JSON.stringify(header)).toString('base64url'), ...rest].join('.'));
    await expect(importKeyring({ dataDir: target, file: noKid, recoveryPrivateKeyFile: otherPriv })).rejects.toBeInstanceOf(
      DecryptionFailed,
    );
    // ... and the right key refuses it too: the header is authenticated.
    await expect(importKeyring({ dataDir: target, file: noKid, recoveryPrivateKeyFile: priv })).rejects.toBeInstanceOf(DecryptionFailed);

    // One ciphertext character changed.
    const parts = jwe.split('.');
    const ct = parts[3] ?? '';
    parts[3] = (ct[0] === 'A' ? 'B' : 'A') + ct.slice(1);
    const tampered = path.join(dir, 'tampered.jwe');
    await writeFile(tampered, parts.join('.'));
    await expect(importKeyring({ dataDir: target, file: tampered, recoveryPrivateKeyFile: priv })).rejects.toBeInstanceOf(DecryptionFailed);

    const notExport = path.join(dir, 'not.jwe');
    await writeFile(notExport, 'hello');
    await expect(importKeyring({ dataDir: target, file: notExport, recoveryPrivateKeyFile: priv })).rejects.toThrow(
      /not a labvault keyring export/,
    );

    expect(await readdir(target)).toEqual([KEYRING_FILE]);
    expect((await readFile(path.join(target, KEYRING_FILE))).equals(garbage)).toBe(true);
    await expect(stat(path.join(dir, 'fresh'))).rejects.toThrow();
    await expect(importKeyring({ dataDir: path.join(dir, 'fresh'), file, recoveryPrivateKeyFile: otherPriv })).rejects.toThrow();
    await expect(stat(path.join(dir, 'fresh'))).rejects.toThrow();
  });

  it('works with a P-256 recovery key too', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ecPub = path.join(dir, 'ec.public.jwk');
    const ecPriv = path.join(dir, 'ec.private.jwk');
    await writeFile(ecPub, JSON.stringify(ec.publicKey.export({ format: 'jwk' })));
    await writeFile(ecPriv, JSON.stringify(ec.privateKey.export({ format: 'jwk' })));
    const out = path.join(dir, 'ec.jwe');
    await exportKeyring({ dataDir: source, recoveryKeyFile: ecPub, out });
    const target = path.join(dir, 'ec-target');
    const r = await importKeyring({ dataDir: target, file: out, recoveryPrivateKeyFile: ecPriv });
    expect(r.replaced).toBe('none');
    expect((await readFile(path.join(target, KEYRING_FILE))).equals(keyring)).toBe(true);
  });
});

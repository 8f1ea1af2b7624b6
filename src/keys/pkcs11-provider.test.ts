import { createCipheriv, createDecipheriv, createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import pkcs11js from 'pkcs11js';
import type { Handle, PKCS11 } from 'pkcs11js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError, DecryptionFailed, KeyUnavailable } from '../domain/errors.js';
import { Pkcs11KeyProvider } from './pkcs11-provider.js';
import type { Pkcs11KeyProviderOptions } from './pkcs11-provider.js';
import { createSoftHsmToken } from './softhsm-fixture.js';
import type { SoftHsmToken } from './softhsm-fixture.js';

// SoftHSM reads SOFTHSM2_CONF once per C_Initialize and its state is process-global, so the whole
// file shares one token; providers are closed after every test so the library is re-initialised.
let token: SoftHsmToken;
const opened: Pkcs11KeyProvider[] = [];

beforeAll(async () => {
  token = await createSoftHsmToken({ label: 'labvault-unit' });
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((p) => p.close()));
});

afterAll(async () => {
  await token.cleanup();
});

async function open(overrides: Partial<Pkcs11KeyProviderOptions> = {}): Promise<Pkcs11KeyProvider> {
  const provider = await Pkcs11KeyProvider.open({
    modulePath: token.modulePath,
    tokenLabel: token.tokenLabel,
    pin: token.pin,
    keyLabel: 'master',
    createIfMissing: true,
    ...overrides,
  });
  opened.push(provider);
  return provider;
}

/**
 * Runs `fn` on a session of our own, outside the provider, logged in as user. Undoes exactly what
 * it did: while a provider is open the library is already initialised and the token logged in.
 */
function withRawSession<T>(fn: (lib: PKCS11, session: Handle) => T): T {
  const lib = new pkcs11js.PKCS11();
  lib.load(token.modulePath);
  let initialised = false;
  let loggedIn = false;
  try {
    lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    initialised = true;
  } catch (err) {
    if ((err as { code?: number }).code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw err;
  }
  const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === token.tokenLabel);
  if (slot === undefined) throw new Error('test token not found');
  const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  try {
    try {
      lib.C_Login(session, pkcs11js.CKU_USER, token.pin);
      loggedIn = true;
    } catch (err) {
      if ((err as { code?: number }).code !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) throw err;
    }
    return fn(lib, session);
  } finally {
    if (loggedIn) lib.C_Logout(session);
    lib.C_CloseSession(session);
    if (initialised) lib.C_Finalize();
    lib.close();
  }
}

/** node:crypto public key from a raw 32-byte Ed25519 key (RFC 8410 SPKI prefix). */
function ed25519Spki(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
}

function findKey(lib: PKCS11, session: Handle, label: string): Handle {
  lib.C_FindObjectsInit(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_LABEL, value: label },
  ]);
  const key = lib.C_FindObjects(session);
  lib.C_FindObjectsFinal(session);
  if (key === null) throw new Error(`key ${label} not found`);
  return key;
}

describe('Pkcs11KeyProvider', () => {
  it('round-trips key material of several sizes in the documented format', async () => {
    const provider = await open();
    expect(provider.kind).toBe('pkcs11');
    for (const size of [1, 16, 32, 64, 1000]) {
      const material = randomBytes(size);
      const wrapped = await provider.wrap(material, 'kek|screening|2');
      expect(wrapped.length).toBe(1 + 12 + size + 16);
      expect(wrapped[0]).toBe(0x01);
      // A 1-byte secret occurs in 29 random bytes by chance; only longer ones say something.
      if (size >= 16) expect(wrapped.includes(material)).toBe(false);
      expect(await provider.unwrap(wrapped, 'kek|screening|2')).toEqual(material);
    }
  });

  it('uses a fresh IV for every wrap', async () => {
    const provider = await open();
    const material = randomBytes(32);
    const a = await provider.wrap(material, 'ctx');
    const b = await provider.wrap(material, 'ctx');
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
    expect(a.equals(b)).toBe(false);
  });

  it('rejects unwrap under another context with DecryptionFailed', async () => {
    const provider = await open();
    const wrapped = await provider.wrap(randomBytes(32), 'kek|screening|2');
    await expect(provider.unwrap(wrapped, 'kek|screening|3')).rejects.toBeInstanceOf(DecryptionFailed);
    await expect(provider.unwrap(wrapped, '')).rejects.toBeInstanceOf(DecryptionFailed);
  });

  it('rejects a flipped byte anywhere (version, IV, ciphertext, tag) with DecryptionFailed', async () => {
    const provider = await open();
    const wrapped = await provider.wrap(randomBytes(32), 'ctx');
    for (const index of [0, 1, 12, 13, 30, wrapped.length - 16, wrapped.length - 1]) {
      const tampered = Buffer.from(wrapped);
      tampered[index] = (tampered[index] ?? 0) ^ 0x01;
      await expect(provider.unwrap(tampered, 'ctx')).rejects.toBeInstanceOf(DecryptionFailed);
    }
    // The session is still usable after all those failed decryptions.
    expect(await provider.unwrap(wrapped, 'ctx')).toHaveLength(32);
  });

  it('rejects truncated or empty input with DecryptionFailed', async () => {
    const provider = await open();
    const wrapped = await provider.wrap(randomBytes(32), 'ctx');
    for (const input of [Buffer.alloc(0), wrapped.subarray(0, 1), wrapped.subarray(0, 29), wrapped.subarray(0, 40)]) {
      await expect(provider.unwrap(input, 'ctx')).rejects.toBeInstanceOf(DecryptionFailed);
    }
  });

  it('finds the same key on a second open: data wrapped in one session unwraps in the next', async () => {
    const first = await open();
    const material = randomBytes(32);
    const wrapped = await first.wrap(material, 'ctx');
    const id = first.masterKeyId;
    await first.close();

    const second = await open({ createIfMissing: false });
    expect(second.masterKeyId).toBe(id);
    expect(id).toMatch(/^pkcs11:token=labvault-unit;object=master;id=(%[0-9a-f]{2}){16}$/);
    expect(await second.unwrap(wrapped, 'ctx')).toEqual(material);
  });

  it('a different key on the same token cannot unwrap: DecryptionFailed', async () => {
    const master = await open();
    const other = await open({ keyLabel: 'other-master' });
    expect(other.masterKeyId).not.toBe(master.masterKeyId);
    const wrapped = await master.wrap(randomBytes(32), 'ctx');
    await expect(other.unwrap(wrapped, 'ctx')).rejects.toBeInstanceOf(DecryptionFailed);
  });

  it('throws KeyUnavailable when the key is missing and createIfMissing is false', async () => {
    const error = await open({ keyLabel: 'never-created', createIfMissing: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyUnavailable);
    expect((error as Error).message).toContain('never-created');
  });

  it('throws KeyUnavailable for a wrong PIN, without the PIN in message or cause', async () => {
    const wrongPin = `wrong-${randomBytes(6).toString('hex')}`;
    const error = await open({ pin: wrongPin }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyUnavailable);
    expect((error as Error).message).toMatch(/PIN incorrect/);
    const rendered = inspect(error, { depth: 10 }) + String(error);
    expect(rendered).not.toContain(wrongPin);
    expect(rendered).not.toContain(token.pin);
  });

  it('still checks the PIN when the token is already logged in by another provider', async () => {
    const provider = await open();
    const wrongPin = `wrong-${randomBytes(6).toString('hex')}`;
    // A bare C_Login would answer CKR_USER_ALREADY_LOGGED_IN without looking at the PIN.
    const error = await open({ pin: wrongPin }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyUnavailable);
    expect(inspect(error, { depth: 10 })).not.toContain(wrongPin);
    // The failed open released what it took: the first provider still works.
    const wrapped = await provider.wrap(randomBytes(32), 'ctx');
    expect(await provider.unwrap(wrapped, 'ctx')).toHaveLength(32);
  });

  it('throws KeyUnavailable for a missing token and ConfigurationError for a missing module', async () => {
    await expect(open({ tokenLabel: 'no-such-token' })).rejects.toBeInstanceOf(KeyUnavailable);
    const error = await open({ modulePath: '/nonexistent/libpkcs11.so' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).not.toContain(token.pin);
  });

  it('generates a non-extractable master key whose CKA_VALUE cannot be read', async () => {
    await open({ keyLabel: 'sealed' });
    withRawSession((lib, session) => {
      const key = findKey(lib, session, 'sealed');
      expect(() => lib.C_GetAttributeValue(session, key, [{ type: pkcs11js.CKA_VALUE }])).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
      const attrs = lib.C_GetAttributeValue(session, key, [
        { type: pkcs11js.CKA_SENSITIVE },
        { type: pkcs11js.CKA_EXTRACTABLE },
        { type: pkcs11js.CKA_TOKEN },
        { type: pkcs11js.CKA_PRIVATE },
        { type: pkcs11js.CKA_WRAP },
        { type: pkcs11js.CKA_UNWRAP },
        { type: pkcs11js.CKA_ENCRYPT },
        { type: pkcs11js.CKA_DECRYPT },
      ]);
      expect(attrs.map((a) => a.value[0])).toEqual([1, 0, 1, 1, 0, 0, 1, 1]);
    });
  });

  it('signs audit checkpoints with an Ed25519 key generated in the token: sensitive, non-extractable, stable across sessions', async () => {
    const first = await open({ keyLabel: 'auditor' });
    const signer = await first.auditSigner();
    const message = Buffer.from('labvault.test/log\n1\nAAAA\n');
    const signature = await signer.sign(message);
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), signer.publicKey]);
    const pub = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    expect(verify(null, message, pub, signature)).toBe(true);
    expect(verify(null, Buffer.from('labvault.test/log\n2\nAAAA\n'), pub, signature)).toBe(false);
    await first.close();
    const again = await (await open({ keyLabel: 'auditor' })).auditSigner();
    expect(again.publicKey).toEqual(signer.publicKey);
    withRawSession((lib, session) => {
      lib.C_FindObjectsInit(session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
        { type: pkcs11js.CKA_LABEL, value: 'auditor-audit' },
      ]);
      const key = lib.C_FindObjects(session);
      lib.C_FindObjectsFinal(session);
      expect(key).not.toBeNull();
      const attrs = lib.C_GetAttributeValue(session, key!, [
        { type: pkcs11js.CKA_SENSITIVE },
        { type: pkcs11js.CKA_EXTRACTABLE },
        { type: pkcs11js.CKA_TOKEN },
      ]);
      expect(attrs.map((a) => a.value[0])).toEqual([1, 0, 1]);
      expect(() => lib.C_GetAttributeValue(session, key!, [{ type: pkcs11js.CKA_VALUE }])).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
    });
  });

  it('signs access tokens with a second Ed25519 key pair `<label>-token`, separate from the audit key and stable across sessions', async () => {
    const first = await open({ keyLabel: 'issuer' });
    const token = await first.tokenSigner();
    const audit = await first.auditSigner();
    expect(token.publicKey).toHaveLength(32);
    expect(token.publicKey).not.toEqual(audit.publicKey);
    const message = Buffer.from('{"sub":"alice","exp":1}');
    const signature = await token.sign(message);
    expect(signature).toHaveLength(64);
    expect(verify(null, message, ed25519Spki(token.publicKey), signature)).toBe(true);
    expect(verify(null, Buffer.from('{"sub":"mallory","exp":1}'), ed25519Spki(token.publicKey), signature)).toBe(false);
    // A token signature is no audit signature and vice versa.
    expect(verify(null, message, ed25519Spki(audit.publicKey), signature)).toBe(false);
    expect(verify(null, message, ed25519Spki(token.publicKey), await audit.sign(message))).toBe(false);
    await first.close();
    await expect(token.sign(message)).rejects.toBeInstanceOf(KeyUnavailable);
    await expect(first.tokenSigner()).rejects.toBeInstanceOf(KeyUnavailable);

    const again = await open({ keyLabel: 'issuer', createIfMissing: false });
    expect((await again.tokenSigner()).publicKey).toEqual(token.publicKey);
    expect((await again.auditSigner()).publicKey).toEqual(audit.publicKey);
    withRawSession((lib, session) => {
      lib.C_FindObjectsInit(session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
        { type: pkcs11js.CKA_LABEL, value: 'issuer-token' },
      ]);
      const keys = lib.C_FindObjects(session, 2);
      lib.C_FindObjectsFinal(session);
      expect(keys).toHaveLength(1);
      const attrs = lib.C_GetAttributeValue(session, keys[0]!, [
        { type: pkcs11js.CKA_SENSITIVE },
        { type: pkcs11js.CKA_EXTRACTABLE },
        { type: pkcs11js.CKA_TOKEN },
        { type: pkcs11js.CKA_SIGN },
      ]);
      expect(attrs.map((a) => a.value[0])).toEqual([1, 0, 1, 1]);
      expect(() => lib.C_GetAttributeValue(session, keys[0]!, [{ type: pkcs11js.CKA_VALUE }])).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
    });
  });

  it('serialises concurrent token signing, audit signing and wrapping on one session', async () => {
    const provider = await open({ keyLabel: 'busy' });
    const [token, audit] = await Promise.all([provider.tokenSigner(), provider.auditSigner()]);
    const messages = Array.from({ length: 50 }, (_, i) => Buffer.from(`message ${i}`));
    const [tokenSigs, auditSigs, unwrapped] = await Promise.all([
      Promise.all(messages.map((m) => token.sign(m))),
      Promise.all(messages.map((m) => audit.sign(m))),
      Promise.all(messages.map(async (m) => provider.unwrap(await provider.wrap(m, 'ctx'), 'ctx'))),
    ]);
    messages.forEach((m, i) => {
      expect(verify(null, m, ed25519Spki(token.publicKey), tokenSigs[i]!)).toBe(true);
      expect(verify(null, m, ed25519Spki(audit.publicKey), auditSigs[i]!)).toBe(true);
      expect(unwrapped[i]).toEqual(m);
    });
  });

  it('produces standard AES-256-GCM (checked with node:crypto against an imported known key)', async () => {
    // A deliberately extractable key with a known value, only so the format can be verified.
    const known = randomBytes(32);
    await open(); // shares its login with the raw session
    withRawSession((lib, session) => {
      lib.C_CreateObject(session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_LABEL, value: 'known' },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_ENCRYPT, value: true },
        { type: pkcs11js.CKA_DECRYPT, value: true },
        { type: pkcs11js.CKA_VALUE, value: known },
      ]);
    });
    const provider = await open({ keyLabel: 'known', createIfMissing: false });
    expect(provider.masterKeyId).toBe('pkcs11:token=labvault-unit;object=known');

    const material = randomBytes(32);
    const wrapped = await provider.wrap(material, 'kek|lab|1');
    const decipher = createDecipheriv('aes-256-gcm', known, wrapped.subarray(1, 13));
    decipher.setAAD(Buffer.from('kek|lab|1'));
    decipher.setAuthTag(wrapped.subarray(wrapped.length - 16));
    expect(Buffer.concat([decipher.update(wrapped.subarray(13, wrapped.length - 16)), decipher.final()])).toEqual(material);

    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', known, iv).setAAD(Buffer.from('kek|lab|1'));
    const sealed = Buffer.concat([cipher.update(material), cipher.final(), cipher.getAuthTag()]);
    expect(await provider.unwrap(Buffer.concat([Buffer.of(1), iv, sealed]), 'kek|lab|1')).toEqual(material);
  });

  it('serialises 200 concurrent wrap/unwrap calls on one session', async () => {
    const provider = await open();
    const inputs = Array.from({ length: 200 }, (_, i) => ({ material: randomBytes(32), context: `kek|t${i}|1` }));
    const results = await Promise.all(
      inputs.map(async ({ material, context }) => provider.unwrap(await provider.wrap(material, context), context)),
    );
    results.forEach((result, i) => expect(result).toEqual(inputs[i]?.material));
  });

  it('keeps a second provider on the same token working when the first closes', async () => {
    const a = await open();
    const b = await open();
    const wrapped = await a.wrap(randomBytes(32), 'ctx');
    await a.close();
    expect(await b.unwrap(wrapped, 'ctx')).toHaveLength(32);
  });

  it('close() is idempotent, waits for in-flight calls, and later calls fail with KeyUnavailable', async () => {
    const provider = await open();
    const pending = provider.wrap(randomBytes(32), 'ctx');
    await Promise.all([provider.close(), provider.close()]);
    await expect(pending).resolves.toHaveLength(1 + 12 + 32 + 16);
    await provider.close();
    await expect(provider.wrap(randomBytes(32), 'ctx')).rejects.toBeInstanceOf(KeyUnavailable);
    await expect(provider.unwrap(await pending, 'ctx')).rejects.toBeInstanceOf(KeyUnavailable);
  });
});

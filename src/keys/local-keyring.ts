import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { seal, open } from '../crypto/envelope.js';
import { ConfigurationError, KeyUnavailable } from '../domain/errors.js';
import type { Ed25519Signer, KeyProvider } from '../ports/key-provider.js';

/**
 * Master key in a keyring file in the data directory (mode 0600). The embedded default for one
 * machine; production uses the PKCS#11 provider so the master key never sits on disk.
 */
export const KEYRING_FILE = 'keyring.json';

interface KeyringFile {
  format: 1;
  masterKeyId: string;
  masterKey: string;
  /** Ed25519 private key (PKCS#8 DER, base64) that signs audit checkpoints; added on first open if absent. */
  auditKey?: string;
  /** Ed25519 private key (PKCS#8 DER, base64) that signs API access tokens; added on first open if absent. */
  tokenKey?: string;
}

/**
 * The keyring's Ed25519 signing keys, one per purpose so that rotating or leaking one leaves the
 * other alone. A keyring written before a purpose existed gets its key on first open.
 */
type SigningKeyField = 'auditKey' | 'tokenKey';
type SigningKeys = Record<SigningKeyField, KeyObject>;

const newSigningKey = (): string => generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');

export class LocalKeyring implements KeyProvider {
  readonly kind = 'local' as const;
  private constructor(
    readonly masterKeyId: string,
    private masterKey: Buffer | null,
    /** In process memory only; dropped on close. */
    private signingKeys: SigningKeys | null,
  ) {}

  /** Creates the keyring if absent (exclusive create, 0600). Returns true when it was created. */
  static async create(dataDir: string): Promise<boolean> {
    const file = path.join(dataDir, KEYRING_FILE);
    const key = randomBytes(32);
    const body: KeyringFile = {
      format: 1,
      masterKeyId: `local:${createHash('sha256').update(key).digest('hex').slice(0, 16)}`,
      masterKey: key.toString('base64'),
      auditKey: newSigningKey(),
      tokenKey: newSigningKey(),
    };
    try {
      const handle = await fs.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(body)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return true;
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw new ConfigurationError(`cannot create keyring in ${dataDir}`, { cause });
    }
  }

  /** Opens the keyring, refusing one that group or others can read or write. */
  static async open(dataDir: string): Promise<LocalKeyring> {
    const file = path.join(dataDir, KEYRING_FILE);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, 'r');
    } catch (cause) {
      throw new KeyUnavailable(`no keyring at ${file}: run 'labvault init' first`, { cause });
    }
    try {
      const st = await handle.stat();
      if ((st.mode & 0o077) !== 0) {
        const mode = (st.mode & 0o777).toString(8);
        throw new ConfigurationError(`refusing keyring ${file}: mode ${mode} is group/world-accessible (chmod 600 it)`);
      }
      const parsed = parseKeyring(await handle.readFile(), file);
      // A keyring from before the audit log or the token issuer: add the missing signing keys
      // (once, even with several processes opening it at the same moment).
      const encoded =
        parsed.signingKeys ??
        (await addSigningKeys(file).catch((cause: unknown) => {
          // Not "malformed": the usual causes are a read-only data directory or a stale lock file.
          throw new ConfigurationError(`cannot add the missing signing keys to keyring ${file}`, { cause });
        }));
      const signingKeys: SigningKeys = {
        auditKey: signingKeyOf(encoded.auditKey, file),
        tokenKey: signingKeyOf(encoded.tokenKey, file),
      };
      return new LocalKeyring(parsed.masterKeyId, parsed.masterKey, signingKeys);
    } catch (cause) {
      if (cause instanceof ConfigurationError) throw cause;
      throw new ConfigurationError(`keyring ${file} is malformed`, { cause });
    } finally {
      await handle.close();
    }
  }

  // async so that failures arrive as rejections, like every other provider's.
  async wrap(keyMaterial: Buffer, context: string): Promise<Buffer> {
    return seal(this.key(), keyMaterial, Buffer.from(context, 'utf8'));
  }

  async unwrap(wrapped: Buffer, context: string): Promise<Buffer> {
    return open(this.key(), wrapped, Buffer.from(context, 'utf8'));
  }

  async auditSigner(): Promise<Ed25519Signer> {
    return this.signer('auditKey');
  }

  async tokenSigner(): Promise<Ed25519Signer> {
    return this.signer('tokenKey');
  }

  close(): Promise<void> {
    this.masterKey?.fill(0);
    this.masterKey = null;
    // KeyObjects cannot be wiped; dropping them leaves the key material to the garbage collector.
    this.signingKeys = null;
    return Promise.resolve();
  }

  private key(): Buffer {
    if (!this.masterKey) throw new KeyUnavailable('keyring is closed');
    return this.masterKey;
  }

  private signer(field: SigningKeyField): Ed25519Signer {
    const raw = createPublicKey(this.signingKey(field)).export({ format: 'der', type: 'spki' }).subarray(-32);
    return {
      publicKey: Buffer.from(raw),
      // Looked up on every call so that a signer kept past close() stops working.
      sign: async (message: Buffer) => sign(null, message, this.signingKey(field)),
    };
  }

  private signingKey(field: SigningKeyField): KeyObject {
    const key = this.signingKeys?.[field];
    if (!key) throw new KeyUnavailable('keyring is closed');
    return key;
  }
}

/** A keyring file's contents, checked as {@link LocalKeyring.open} checks them (its file mode aside). */
export interface KeyringContents {
  readonly format: 1;
  readonly masterKeyId: string;
  /** The caller wipes it (fill(0)) once done. */
  readonly masterKey: Buffer;
  /** Both signing keys (PKCS#8 DER, base64), or undefined for a keyring from before one of them existed. */
  readonly signingKeys: Record<SigningKeyField, string> | undefined;
}

/**
 * Parses and checks keyring bytes without touching any file, so that recovery can tell a keyring
 * that `open` would accept from one that ransomware or a bad copy left unreadable.
 *
 * @throws ConfigurationError "keyring <name> is malformed" (never quoting the bytes).
 */
export function parseKeyring(bytes: Buffer, name: string): KeyringContents {
  const malformed = () => new ConfigurationError(`keyring ${name} is malformed`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    // No cause: JSON.parse quotes the text it choked on, and that text is key material.
    throw malformed();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw malformed();
  const body = parsed as Partial<Record<keyof KeyringFile, unknown>>;
  const key = typeof body.masterKey === 'string' ? Buffer.from(body.masterKey, 'base64') : Buffer.alloc(0);
  if (body.format !== 1 || key.length !== 32 || typeof body.masterKeyId !== 'string') throw malformed();
  for (const field of ['auditKey', 'tokenKey'] as const) {
    const value = body[field];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw malformed();
    try {
      signingKeyOf(value, name);
    } catch {
      throw malformed();
    }
  }
  return {
    format: 1,
    masterKeyId: body.masterKeyId,
    masterKey: key,
    signingKeys: storedSigningKeys(body as Partial<KeyringFile>),
  };
}

function storedSigningKeys(keyring: Partial<KeyringFile>): Record<SigningKeyField, string> | undefined {
  const { auditKey, tokenKey } = keyring;
  return typeof auditKey === 'string' && typeof tokenKey === 'string' ? { auditKey, tokenKey } : undefined;
}

function signingKeyOf(encoded: string, file: string): KeyObject {
  const key = createPrivateKey({ key: Buffer.from(encoded, 'base64'), format: 'der', type: 'pkcs8' });
  if (key.asymmetricKeyType !== 'ed25519') throw new ConfigurationError(`keyring ${file} is malformed`);
  return key;
}

async function replaceKeyring(file: string, body: KeyringFile): Promise<void> {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(body)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
}

/**
 * Adds the missing signing keys to an older keyring under an exclusive lock file, re-reading the
 * keyring once the lock is held: of two processes upgrading at once, the second uses the keys the
 * first wrote (two keys would leave one process signing checkpoints or tokens no verifier accepts).
 */
async function addSigningKeys(file: string): Promise<Record<SigningKeyField, string>> {
  const lock = `${file}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      await (await fs.open(lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)).close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 250) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  try {
    const current = JSON.parse(await fs.readFile(file, 'utf8')) as KeyringFile;
    const stored = storedSigningKeys(current);
    if (stored) return stored;
    // Keys already there are kept: replacing one would orphan every signature made with it.
    const keys = { auditKey: current.auditKey ?? newSigningKey(), tokenKey: current.tokenKey ?? newSigningKey() };
    await replaceKeyring(file, { ...current, ...keys });
    return keys;
  } finally {
    await fs.unlink(lock);
  }
}

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { seal, open } from '../crypto/envelope.js';
import { ConfigurationError, KeyUnavailable } from '../domain/errors.js';
import type { AuditSigner, KeyProvider } from '../ports/key-provider.js';

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
}

const newAuditKey = (): string => generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');

export class LocalKeyring implements KeyProvider {
  readonly kind = 'local' as const;
  private constructor(
    readonly masterKeyId: string,
    private masterKey: Buffer | null,
    private auditKey: KeyObject | null,
  ) {}

  /** Creates the keyring if absent (exclusive create, 0600). Returns true when it was created. */
  static async create(dataDir: string): Promise<boolean> {
    const file = path.join(dataDir, KEYRING_FILE);
    const key = randomBytes(32);
    const body: KeyringFile = {
      format: 1,
      masterKeyId: `local:${createHash('sha256').update(key).digest('hex').slice(0, 16)}`,
      masterKey: key.toString('base64'),
      auditKey: newAuditKey(),
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
      const parsed = JSON.parse(await handle.readFile('utf8')) as Partial<KeyringFile>;
      const key = Buffer.from(parsed.masterKey ?? '', 'base64');
      if (parsed.format !== 1 || key.length !== 32 || typeof parsed.masterKeyId !== 'string') {
        throw new ConfigurationError(`keyring ${file} is malformed`);
      }
      let auditKey: KeyObject;
      if (typeof parsed.auditKey === 'string') {
        auditKey = createPrivateKey({ key: Buffer.from(parsed.auditKey, 'base64'), format: 'der', type: 'pkcs8' });
        if (auditKey.asymmetricKeyType !== 'ed25519') throw new ConfigurationError(`keyring ${file} is malformed`);
      } else {
        // A keyring from before the audit log: add the signing key (once, even with several
        // processes opening it at the same moment).
        auditKey = createPrivateKey({ key: Buffer.from(await addAuditKey(file), 'base64'), format: 'der', type: 'pkcs8' });
      }
      return new LocalKeyring(parsed.masterKeyId, key, auditKey);
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

  async auditSigner(): Promise<AuditSigner> {
    const key = this.auditKey;
    if (!key) throw new KeyUnavailable('keyring is closed');
    const raw = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32);
    return {
      publicKey: Buffer.from(raw),
      sign: async (message: Buffer) => {
        if (!this.auditKey) throw new KeyUnavailable('keyring is closed');
        return sign(null, message, this.auditKey);
      },
    };
  }

  close(): Promise<void> {
    this.masterKey?.fill(0);
    this.masterKey = null;
    this.auditKey = null;
    return Promise.resolve();
  }

  private key(): Buffer {
    if (!this.masterKey) throw new KeyUnavailable('keyring is closed');
    return this.masterKey;
  }
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
 * Adds an audit key to an older keyring under an exclusive lock file, re-reading the keyring once
 * the lock is held: of two processes upgrading at once, the second uses the key the first wrote
 * (two keys would leave one process signing checkpoints no verifier accepts).
 */
async function addAuditKey(file: string): Promise<string> {
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
    if (typeof current.auditKey === 'string') return current.auditKey;
    current.auditKey = newAuditKey();
    await replaceKeyring(file, current);
    return current.auditKey;
  } finally {
    await fs.unlink(lock);
  }
}

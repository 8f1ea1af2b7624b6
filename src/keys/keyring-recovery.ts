import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader, type CompactJWEHeaderParameters } from 'jose';
import { Conflict, ConfigurationError, DecryptionFailed, IntegrityViolation, InvalidInput, StorageError } from '../domain/errors.js';
import { syncDirectory, writeNewFile } from './durable-file.js';
import { KEYRING_FILE, LocalKeyring, parseKeyring } from './local-keyring.js';
import { RECOVERY_ALG, RECOVERY_ENC, readRecoveryPrivateKey, readRecoveryPublicKey } from './recovery-key.js';

/**
 * Backup and recovery of the local keyring (CLI.md "Backup and recovery"). A backup of the database
 * is ciphertext; without the keyring it is noise, and ransomware that encrypts the data dir takes
 * the keyring with it. `keys export` wraps the keyring for an offline recovery key as a compact
 * JWE (ECDH-ES+A256KW, A256GCM) whose protected header names what it holds without revealing it;
 * `keys import` puts it back, needing neither the vault database nor the old keyring.
 */
export const KEYRING_EXPORT_KIND = 'labvault-keyring';

/** The non-secret metadata in an export's protected header (authenticated by the JWE). */
interface ExportHeader extends CompactJWEHeaderParameters {
  kind: typeof KEYRING_EXPORT_KIND;
  master_key_id: string;
  /** ISO 8601 time of the export. */
  created: string;
  keyring_format: number;
}

export interface KeyringExport {
  out: string;
  kind: 'local';
  master_key_id: string;
  bytes: number;
}

/** What an import found at the keyring's place: nothing, the same bytes, an unreadable file, or (with --force) another keyring. */
export type KeyringReplaced = 'none' | 'identical' | 'corrupt' | 'forced';

export interface KeyringImport {
  imported: true;
  data_dir: string;
  master_key_id: string;
  replaced: KeyringReplaced;
  /** Where the file that was at the keyring's place now is (kept for forensics and second thoughts), or null. */
  moved_aside: string | null;
}

/** An export is about a kilobyte; refusing huge files keeps a wrong argument from being read whole. */
const MAX_EXPORT_BYTES = 1024 * 1024;

/**
 * Wraps the keyring in `dataDir` for the recovery public key in `recoveryKeyFile` into the new
 * file `out` (0600, exclusive create, fsynced). Opens the keyring first, so only a keyring that
 * `LocalKeyring.open` accepts (mode 0600, well-formed, signing keys present) is exported.
 */
export async function exportKeyring(opts: { dataDir: string; recoveryKeyFile: string; out: string; now?: Date }): Promise<KeyringExport> {
  const recipient = await readRecoveryPublicKey(opts.recoveryKeyFile);
  const keyring = await LocalKeyring.open(opts.dataDir);
  const masterKeyId = keyring.masterKeyId;
  await keyring.close();
  const file = path.join(opts.dataDir, KEYRING_FILE);
  const plaintext = await fs.readFile(file);
  try {
    const contents = parseKeyring(plaintext, file);
    contents.masterKey.fill(0);
    if (contents.masterKeyId !== masterKeyId) {
      throw new ConfigurationError(`keyring ${file} changed while it was being exported: run the export again`);
    }
    const header: ExportHeader = {
      alg: RECOVERY_ALG,
      enc: RECOVERY_ENC,
      kid: recipient.kid,
      kind: KEYRING_EXPORT_KIND,
      master_key_id: masterKeyId,
      created: (opts.now ?? new Date()).toISOString(),
      keyring_format: contents.format,
    };
    const jwe = await new CompactEncrypt(plaintext).setProtectedHeader(header).encrypt(recipient.key);
    const bytes = await writeNewFile(opts.out, `${jwe}\n`, 0o600);
    return { out: opts.out, kind: 'local', master_key_id: masterKeyId, bytes };
  } finally {
    plaintext.fill(0);
  }
}

/**
 * Decrypts an export with the recovery private key and installs the keyring in `dataDir`
 * (created 0700 if missing) atomically: temp file in the same directory, fsync, rename, fsync of
 * the directory. Never opens the vault database, which may be garbage when this runs.
 *
 * An existing keyring is left alone when byte-identical; moved aside to `keyring.json.corrupt-<time>`
 * when unreadable (what ransomware leaves); and, when it is a valid but different keyring, kept in
 * place (Conflict) unless `force`, which moves it aside to `keyring.json.replaced-<time>`. A moved
 * file is hard-linked to its new name before the recovered keyring is renamed over it, so there is
 * always a keyring file in place and nothing is ever deleted.
 *
 * @throws DecryptionFailed wrong recovery key or an altered export; nothing is written.
 */
export async function importKeyring(opts: {
  dataDir: string;
  file: string;
  recoveryPrivateKeyFile: string;
  force?: boolean;
  now?: Date;
}): Promise<KeyringImport> {
  const recipient = await readRecoveryPrivateKey(opts.recoveryPrivateKeyFile);
  const jwe = await readExport(opts.file);
  let header: Partial<ExportHeader>;
  try {
    header = decodeProtectedHeader(jwe);
  } catch {
    throw new InvalidInput(`${opts.file} is not a labvault keyring export`);
  }
  if (header.kind !== KEYRING_EXPORT_KIND) throw new InvalidInput(`${opts.file} is not a labvault keyring export`);
  if (typeof header.kid === 'string' && header.kid !== recipient.kid) {
    // The header is public; saying which recovery key it wants is no oracle, and saves a search.
    const wanted = /^[A-Za-z0-9_-]{43}$/.test(header.kid) ? ` ${header.kid}` : '';
    throw new InvalidInput(
      `wrong recovery key: ${opts.file} was exported for recovery key${wanted}, ${opts.recoveryPrivateKeyFile} is ${recipient.kid}`,
    );
  }
  let plaintext: Buffer;
  try {
    const opened = await compactDecrypt(jwe, recipient.key, {
      keyManagementAlgorithms: [RECOVERY_ALG],
      contentEncryptionAlgorithms: [RECOVERY_ENC],
    });
    plaintext = Buffer.from(opened.plaintext);
    opened.plaintext.fill(0);
  } catch (cause) {
    throw new DecryptionFailed({ cause });
  }
  try {
    let masterKeyId: string;
    try {
      const contents = parseKeyring(plaintext, `in ${opts.file}`);
      contents.masterKey.fill(0);
      masterKeyId = contents.masterKeyId;
    } catch (cause) {
      throw new IntegrityViolation(`${opts.file} decrypts but holds no valid keyring`, { cause });
    }
    // The header is authenticated, so a mismatch means the exporter wrote something inconsistent.
    if (header.master_key_id !== masterKeyId) {
      throw new IntegrityViolation(`${opts.file}: the header's master key id does not match the keyring inside`);
    }
    return await installKeyring(opts.dataDir, plaintext, masterKeyId, opts.force === true, opts.now ?? new Date());
  } finally {
    plaintext.fill(0);
  }
}

async function readExport(file: string): Promise<string> {
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) throw new InvalidInput(`${file} is not a file`);
    if (st.size > MAX_EXPORT_BYTES) throw new InvalidInput(`${file} is too large to be a labvault keyring export`);
    return (await fs.readFile(file, 'utf8')).trim();
  } catch (cause) {
    if (cause instanceof InvalidInput) throw cause;
    throw new InvalidInput(`cannot read ${file}`, { cause });
  }
}

async function installKeyring(dataDir: string, bytes: Buffer, masterKeyId: string, force: boolean, now: Date): Promise<KeyringImport> {
  try {
    await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  } catch (cause) {
    throw new StorageError(`cannot create data directory ${dataDir}`, { cause });
  }
  const file = path.join(dataDir, KEYRING_FILE);
  const result = (replaced: KeyringReplaced, movedAside: string | null): KeyringImport => ({
    imported: true,
    data_dir: dataDir,
    master_key_id: masterKeyId,
    replaced,
    moved_aside: movedAside,
  });
  const existing = await readExisting(file);
  let replaced: KeyringReplaced = 'none';
  let aside: string | null = null;
  if (existing !== null) {
    try {
      if (existing.equals(bytes)) return result('identical', null);
      const other = keyringId(existing, file);
      const stamp = now.toISOString().replace(/[:.]/g, '-');
      if (other === null) {
        replaced = 'corrupt';
        aside = `${file}.corrupt-${stamp}`;
      } else if (!force) {
        throw new Conflict(
          `${file} is a different valid keyring (${other}; the export holds ${masterKeyId}): left in place; --force moves it aside and installs the export`,
        );
      } else {
        replaced = 'forced';
        aside = `${file}.replaced-${stamp}`;
      }
    } finally {
      existing.fill(0);
    }
  }
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writeNewFile(tmp, bytes, 0o600);
  try {
    if (aside !== null) {
      try {
        // A link, not a rename: the old file stays at the keyring's place until the new one replaces it.
        await fs.link(file, aside);
      } catch (cause) {
        throw new StorageError(`cannot keep the existing keyring as ${aside} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, {
          cause,
        });
      }
    }
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  await syncDirectory(dataDir);
  return result(replaced, aside);
}

/** The bytes at the keyring's place, or null when there is none. */
async function readExisting(file: string): Promise<Buffer | null> {
  let handle: fs.FileHandle;
  try {
    // O_NOFOLLOW: a symlink planted at the keyring's place is not followed (nor read as "the keyring").
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StorageError(`cannot read the existing keyring ${file} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, { cause });
  }
  try {
    if (!(await handle.stat()).isFile()) throw new StorageError(`${file} is not a regular file; move it away and import again`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** The master key id of a keyring that `LocalKeyring.open` would accept (mode aside), or null for a corrupt one. */
function keyringId(bytes: Buffer, file: string): string | null {
  try {
    const contents = parseKeyring(bytes, file);
    contents.masterKey.fill(0);
    return contents.masterKeyId;
  } catch {
    return null;
  }
}

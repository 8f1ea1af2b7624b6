import { generateKeyPairSync } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { calculateJwkThumbprint, importJWK, type CryptoKey, type JWK, type KeyObject } from 'jose';
import { ConfigurationError } from '../domain/errors.js';
import { writeNewFile } from './durable-file.js';

/**
 * The offline recovery key a keyring export is wrapped for: an X25519 (OKP) or P-256 (EC) key
 * pair as JWKs. The public half sits next to the vault; the private half stays offline (a safe,
 * a sealed envelope, a smart card's backup) and only comes back to run `keys import`.
 */
export const RECOVERY_ALG = 'ECDH-ES+A256KW';
export const RECOVERY_ENC = 'A256GCM';

export interface RecoveryKey {
  readonly key: CryptoKey | KeyObject | Uint8Array;
  /** RFC 7638 thumbprint: names the key pair in the export's header without revealing anything. */
  readonly kid: string;
}

/** A JWK file is a few hundred bytes; anything much larger is not one, and is not read whole. */
const MAX_JWK_BYTES = 64 * 1024;

/** Reads a recovery public key, refusing a private key and any key type other than X25519 or P-256. */
export async function readRecoveryPublicKey(file: string): Promise<RecoveryKey> {
  const jwk = await readJwkFile(file);
  if ('d' in jwk) {
    throw new ConfigurationError(`${file} holds a private key: give the recovery key's public half (the private half stays offline)`);
  }
  return importRecoveryJwk(jwk, file, 'public');
}

/** Reads the private half of a recovery key (for `keys import`). */
export async function readRecoveryPrivateKey(file: string): Promise<RecoveryKey> {
  const jwk = await readJwkFile(file);
  if (typeof jwk.d !== 'string') throw new ConfigurationError(`${file} holds no private key: give the recovery key's private half`);
  return importRecoveryJwk(jwk, file, 'private');
}

/**
 * Generates an X25519 recovery key pair into two new files (private 0600; neither overwrites an
 * existing file). Returns the pair's kid; the key material goes to the files only.
 */
export async function writeRecoveryKeyPair(privateFile: string, publicFile: string): Promise<{ kid: string }> {
  if (path.resolve(privateFile) === path.resolve(publicFile)) {
    throw new ConfigurationError('--out-private and --out-public must be two different files');
  }
  const pair = generateKeyPairSync('x25519');
  const pub = pair.publicKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(pub);
  const meta = { kid, use: 'enc', alg: RECOVERY_ALG };
  const priv = { ...(pair.privateKey.export({ format: 'jwk' }) as JWK), ...meta };
  await writeNewFile(privateFile, `${JSON.stringify(priv)}\n`, 0o600);
  try {
    // 0644 asks for a world-readable public key; the process umask (077 in the CLI) may narrow it.
    await writeNewFile(publicFile, `${JSON.stringify({ ...pub, ...meta })}\n`, 0o644);
  } catch (e) {
    // Half a pair is no use to anyone: remove the private file this call just created.
    await fs.unlink(privateFile).catch(() => undefined);
    throw e;
  }
  return { kid };
}

async function readJwkFile(file: string): Promise<JWK> {
  let text: string;
  try {
    const st = await fs.stat(file);
    if (!st.isFile() || st.size > MAX_JWK_BYTES) throw new Error('not a small regular file');
    text = await fs.readFile(file, 'utf8');
  } catch (cause) {
    throw new ConfigurationError(`cannot read key file ${file}`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // No cause: JSON.parse quotes the text it choked on, and that text may be key material.
    throw new ConfigurationError(`${file} is not a JWK file (JSON)`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigurationError(`${file} is not a JWK file (JSON object)`);
  }
  return parsed;
}

async function importRecoveryJwk(jwk: JWK, file: string, half: 'public' | 'private'): Promise<RecoveryKey> {
  const x25519 = jwk.kty === 'OKP' && jwk.crv === 'X25519';
  const p256 = jwk.kty === 'EC' && jwk.crv === 'P-256';
  // Nothing from the file is quoted back: a mistaken file may hold anything.
  if (!x25519 && !p256) throw new ConfigurationError(`${file}: a recovery key must be an X25519 (OKP) or P-256 (EC) ${half} JWK`);
  try {
    // The JWK's own "alg", if any, is not trusted to pick the algorithm: it is always ECDH-ES+A256KW.
    const { alg: _alg, ...bare } = jwk;
    return { key: await importJWK(bare, RECOVERY_ALG), kid: await calculateJwkThumbprint(jwk) };
  } catch {
    throw new ConfigurationError(`${file}: not a usable ${half} key (X25519 or P-256 JWK)`);
  }
}

import { importJWK, type CryptoKey, type JWK, type KeyObject } from 'jose';
import { ConfigurationError } from '../domain/errors.js';

/**
 * A public key that notices are encrypted to (a controller's, or a print house's the operator
 * names): ECDH-ES+A256KW for EC and OKP keys, RSA-OAEP-256 for RSA. A JWK that holds a private
 * part is refused: it was meant to stay with its owner.
 */
export interface RecipientKey {
  key: CryptoKey | KeyObject | Uint8Array;
  alg: 'ECDH-ES+A256KW' | 'RSA-OAEP-256';
  kid: string;
}

export async function recipientKey(jwk: JWK | null, who: string): Promise<RecipientKey> {
  if (!jwk) throw new ConfigurationError(`${who} has no public key for notices (publicKeyJwk in tenants.json)`);
  if ('d' in jwk) throw new ConfigurationError(`${who}: the key holds a private part; give only the public key`);
  const alg = jwk.kty === 'RSA' ? 'RSA-OAEP-256' : 'ECDH-ES+A256KW';
  try {
    return { key: await importJWK(jwk, alg), alg, kid: jwk.kid ?? who };
  } catch (e) {
    throw new ConfigurationError(`${who}: not a usable public key (EC, OKP or RSA JWK)`, { cause: e });
  }
}

/** The private half, for opening a notice (the operator's explicit decryption). */
export async function privateKey(jwk: JWK): Promise<{ key: CryptoKey | KeyObject | Uint8Array }> {
  if (!('d' in jwk)) throw new ConfigurationError('the key file holds no private key');
  const alg = jwk.kty === 'RSA' ? 'RSA-OAEP-256' : 'ECDH-ES+A256KW';
  try {
    return { key: await importJWK(jwk, alg) };
  } catch (e) {
    throw new ConfigurationError('not a usable private key (EC, OKP or RSA JWK)', { cause: e });
  }
}

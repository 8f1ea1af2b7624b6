import { createHash, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { bsnFreeId } from '../domain/validate-resource.js';
import type { AuditSigner } from '../ports/key-provider.js';

/**
 * labvault's own OAuth2-style token issuer for standalone use: compact JWS (EdDSA over Ed25519)
 * signed by the key provider's token key, so the private key stays in the HSM with PKCS#11. The
 * header and claims are built here (jose signs only with keys it holds); verification goes
 * through jose like any other issuer's tokens (authenticator.ts).
 */
export interface TokenClaims {
  sub: string;
  scope: string;
  purpose_of_use?: string;
  /** Informational: the principal's role and tenants at issue time (the store stays authoritative). */
  labvault_role: string;
  labvault_tenants: string[];
}

export interface IssuedToken {
  token: string;
  jti: string;
  expiresAt: Date;
}

export class TokenIssuer {
  readonly kid: string;
  readonly publicKey: KeyObject;

  constructor(
    private readonly signer: AuditSigner,
    readonly issuer: string,
    readonly audience: string,
  ) {
    this.kid = createHash('sha256').update(signer.publicKey).digest('base64url').slice(0, 16);
    this.publicKey = createPublicKey({ key: this.jwk(), format: 'jwk' });
  }

  /** The public key as a JWK (served at /.well-known/jwks.json). */
  jwk(): { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string; alg: 'EdDSA'; use: 'sig' } {
    return { kty: 'OKP', crv: 'Ed25519', x: this.signer.publicKey.toString('base64url'), kid: this.kid, alg: 'EdDSA', use: 'sig' };
  }

  async issue(claims: TokenClaims, now: Date, ttlSeconds: number): Promise<IssuedToken> {
    const iat = Math.floor(now.getTime() / 1000);
    // `iat` to the millisecond (a NumericDate may be fractional): a token issued right after a
    // release must not look older than the release (authenticator.ts compares them).
    const iatMs = now.getTime() / 1000;
    // The jti goes into audit events (token.issue, token.revoke), which refuse BSN-like text.
    const jti = bsnFreeId(randomUUID);
    const header = { alg: 'EdDSA', typ: 'at+jwt', kid: this.kid };
    const payload = { ...claims, iss: this.issuer, aud: this.audience, iat: iatMs, nbf: iat, exp: iat + ttlSeconds, jti };
    const signingInput = `${b64(header)}.${b64(payload)}`;
    const sig = await this.signer.sign(Buffer.from(signingInput, 'ascii'));
    return { token: `${signingInput}.${sig.toString('base64url')}`, jti, expiresAt: new Date((iat + ttlSeconds) * 1000) };
  }
}

function b64(v: unknown): string {
  return Buffer.from(JSON.stringify(v), 'utf8').toString('base64url');
}

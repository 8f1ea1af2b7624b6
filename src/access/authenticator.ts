import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { KeyObject } from 'node:crypto';
import type { ApiConfig } from '../config.js';
import { Unauthenticated } from '../domain/errors.js';
import type { AccessStore, PrincipalRow } from '../ports/access-store.js';
import type { Clock } from '../ports/clock.js';
import { looksLikeApiKey, parseApiKey, secretMatches } from './api-key-codec.js';
import { parseScopes, type SmartScope } from './smart-scopes.js';

/**
 * Who is calling: a bearer JWT from labvault's own issuer or the configured external identity
 * provider, or an API key. Fails closed with one Unauthenticated error (the cause goes to the
 * audit log only). Checked on every request, against the store, not a cache: the principal must
 * exist and be active, the token must not be revoked, the API key neither revoked nor expired —
 * so a suspension or revocation takes effect from the next request, on every node.
 */
export interface Authenticated {
  principal: PrincipalRow;
  /** Scopes the credential carries (intersected with the principal's own by the policy). */
  scopes: readonly SmartScope[];
  /** Purpose of use from the token claim or the principal's default, if any. */
  purpose: string | null;
  credential: { kind: 'jwt' | 'api-key'; id: string; expiresAt: Date };
}

export interface AuthenticatorOptions {
  /** Public key of labvault's own issuer (token-issuer.ts). */
  ownKey: KeyObject;
  config: Pick<ApiConfig, 'issuer' | 'audience' | 'external'>;
  store: AccessStore;
  clock: Clock;
  /** Key resolver for the external issuer; by default its JWKS URL, fetched and cached by jose. */
  externalKeys?: JWTVerifyGetKey;
}

/** Algorithms an external IdP may sign with; symmetric ones never (key-confusion attacks). */
const EXTERNAL_ALGS = ['RS256', 'PS256', 'ES256', 'EdDSA'];
/** Tolerated clock skew between issuer and us. */
const SKEW_SECONDS = 30;

export class Authenticator {
  private readonly external: { issuer: string; audience: string; keys: JWTVerifyGetKey } | null;
  /** Tokens whose signature verified, by their exact text (see verifiedPayload). */
  private readonly verified = new Map<string, JWTPayload>();

  constructor(private readonly opts: AuthenticatorOptions) {
    const ext = opts.config.external;
    this.external = ext
      ? { issuer: ext.issuer, audience: ext.audience, keys: opts.externalKeys ?? createRemoteJWKSet(new URL(ext.jwksUrl)) }
      : null;
  }

  /** `authorization`: the Authorization header; `apiKey`: the X-API-Key header. */
  async authenticate(authorization: string | undefined, apiKey: string | undefined): Promise<Authenticated> {
    let credential: string;
    if (apiKey !== undefined) credential = apiKey;
    else {
      const m = authorization ? /^Bearer +([^\s]+)\s*$/i.exec(authorization) : null;
      if (!m) throw new Unauthenticated(authorization ? 'malformed-authorization' : 'no-credential');
      credential = m[1] as string;
    }
    return looksLikeApiKey(credential) ? this.apiKey(credential) : this.jwt(credential);
  }

  private async jwt(token: string): Promise<Authenticated> {
    const currentDate = this.opts.clock.now();
    const payload = await this.verifiedPayload(token, currentDate);
    // jose checks that these claims are present, not their type: a number or an array would reach
    // the store's lookup (where SQLite compares 123 equal to '123'), and a non-string jti would
    // skip the revocation check.
    if (typeof payload.sub !== 'string' || payload.sub === '') throw new Unauthenticated('invalid-sub');
    if (payload.jti !== undefined && (typeof payload.jti !== 'string' || payload.jti === '')) throw new Unauthenticated('invalid-jti');
    const sub = payload.sub;
    const jti = typeof payload.jti === 'string' ? payload.jti : null;
    if (jti !== null && (await this.opts.store.isTokenRevoked(jti))) throw new Unauthenticated('revoked-token');
    const principal = await this.activePrincipal(sub, typeof payload.iat === 'number' ? payload.iat * 1000 : 0);
    const scopeClaim = typeof payload.scope === 'string' ? payload.scope : '';
    const purposeClaim = typeof payload.purpose_of_use === 'string' ? payload.purpose_of_use : null;
    return {
      principal,
      scopes: parseScopes(scopeClaim),
      purpose: purposeClaim ?? principal.purpose,
      credential: { kind: 'jwt', id: jti ?? 'no-jti', expiresAt: new Date((payload.exp as number) * 1000) },
    };
  }

  /**
   * The payload of a token whose signature and claims check out. A token verified before is
   * remembered (by its exact text, until its expiry) so the signature is not checked again on
   * every request of a busy client: about 8 % of a read's CPU. Revocation and the principal's
   * status are still checked on every request by the caller.
   */
  private async verifiedPayload(token: string, currentDate: Date): Promise<JWTPayload> {
    const cached = this.verified.get(token);
    if (cached && typeof cached.exp === 'number' && cached.exp * 1000 > currentDate.getTime() - SKEW_SECONDS * 1000) return cached;
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch (cause) {
      throw new Unauthenticated('malformed-token', { cause });
    }
    let payload: JWTPayload;
    try {
      // The unverified issuer only picks which key and rules to verify with; nothing else is trusted.
      if (unverified.iss === this.opts.config.issuer) {
        ({ payload } = await jwtVerify(token, this.opts.ownKey, {
          issuer: this.opts.config.issuer,
          audience: this.opts.config.audience,
          algorithms: ['EdDSA'],
          requiredClaims: ['exp', 'sub', 'jti'],
          clockTolerance: SKEW_SECONDS,
          currentDate,
        }));
      } else if (this.external && unverified.iss === this.external.issuer) {
        ({ payload } = await jwtVerify(token, this.external.keys, {
          issuer: this.external.issuer,
          audience: this.external.audience,
          algorithms: EXTERNAL_ALGS,
          requiredClaims: ['exp', 'sub'],
          clockTolerance: SKEW_SECONDS,
          currentDate,
        }));
      } else throw new Unauthenticated('unknown-issuer');
    } catch (e) {
      if (e instanceof Unauthenticated) throw e;
      const code = (e as { code?: unknown }).code;
      throw new Unauthenticated(typeof code === 'string' ? code.replace(/^ERR_/, '').toLowerCase() : 'invalid-token', { cause: e });
    }
    if (this.verified.size >= VERIFIED_CACHE) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(token, payload);
    return payload;
  }

  private async apiKey(text: string): Promise<Authenticated> {
    const parsed = parseApiKey(text);
    if (!parsed) throw new Unauthenticated('malformed-api-key');
    const row = await this.opts.store.getApiKey(parsed.id);
    // Compare even for an unknown id, against a dummy hash, so timing does not tell ids apart.
    const ok = secretMatches(parsed.secret, row?.secretHash ?? DUMMY_HASH);
    if (!row || !ok) throw new Unauthenticated('unknown-api-key');
    if (row.revokedAt !== null) throw new Unauthenticated('revoked-api-key');
    const expiresAt = new Date(row.expiresAt);
    if (expiresAt.getTime() <= this.opts.clock.now().getTime()) throw new Unauthenticated('expired-api-key');
    const principal = await this.activePrincipal(row.principalId, Date.parse(row.createdAt));
    return {
      principal,
      scopes: parseScopes(principal.scopes),
      purpose: principal.purpose,
      credential: { kind: 'api-key', id: row.id, expiresAt },
    };
  }

  /**
   * The principal, if active and if the credential was issued after its last suspension or
   * release: suspending kills every credential it had, and releasing does not revive them (a
   * stolen token or key stays dead; the operator issues new ones).
   */
  private async activePrincipal(id: string, issuedAtMs: number): Promise<PrincipalRow> {
    const p = await this.opts.store.getPrincipal(id);
    if (!p) throw new Unauthenticated('unknown-principal');
    if (p.status !== 'active') throw new Unauthenticated('suspended-principal');
    if (p.updatedAt !== p.createdAt && issuedAtMs < Date.parse(p.updatedAt)) throw new Unauthenticated('credential-predates-suspension');
    return p;
  }
}

const DUMMY_HASH = Buffer.alloc(32);
/** Verified tokens remembered; the oldest is forgotten first. */
const VERIFIED_CACHE = 10_000;

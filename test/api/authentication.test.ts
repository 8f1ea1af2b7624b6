import Database from 'better-sqlite3';
import { createHash, createSecretKey, generateKeyPairSync, randomUUID, sign as edSign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { TokenIssuer } from '../../src/access/token-issuer.js';
import { decodeEvent } from '../../src/audit/event-codec.js';
import type { AuditEvent } from '../../src/domain/audit-event.js';
import { containsBsnLike } from '../../src/domain/validate-resource.js';
import type { Ed25519Signer } from '../../src/ports/key-provider.js';
import { apiFixture, type ApiFixture } from '../support/api-fixture.js';
import { CTX } from '../support/context.js';

/**
 * Authentication at the API boundary: every forged, stale, foreign or revoked credential answers
 * 401 with an OperationOutcome and leaves an `auth.fail` event naming the cause; suspension and
 * revocation act from the next request; API keys are stored hashed; purpose of use is enforced;
 * an external identity provider's JWKS is fetched from a real (loopback) HTTP server.
 */

const OIDC_ISSUER = 'https://idp.example.test/realms/lab';
const OIDC_AUDIENCE = 'labvault-fhir';
const SKEW = 30;

type Headers = Record<string, string>;
type Outcome = { resourceType: 'OperationOutcome'; issue: { code: string; diagnostics?: string }[] };

/** A clock the tests can move: the vault, the authenticator and the API key expiry all read it. */
let offsetMs = 0;
const clock = { now: () => new Date(Date.now() + offsetMs) };
const nowSec = (): number => Math.floor(clock.now().getTime() / 1000);

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v), 'utf8').toString('base64url');
const bearer = (token: string): Headers => ({ authorization: `Bearer ${token}` });

/** Flips one character in the middle of a base64url segment (never a padding-only change). */
function flip(segment: string): string {
  const i = Math.floor(segment.length / 2);
  const c = segment[i] === 'A' ? 'B' : 'A';
  return segment.slice(0, i) + c + segment.slice(i + 1);
}

describe('API authentication', () => {
  let f: ApiFixture;
  let jwks: Server;
  let idpKey: { privateKey: CryptoKey; publicKey: CryptoKey; jwk: JWK };
  let ownSigner: Ed25519Signer;
  /** A controller system of `screening` with a default purpose: every valid credential reads `own`. */
  let lims: { id: string; token: string };
  let own: string;
  const ownUrl = (): string => `/fhir/Patient/${own}`;

  beforeAll(async () => {
    const kp = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(kp.publicKey)), kid: 'idp-key-1', alg: 'ES256', use: 'sig' };
    idpKey = { privateKey: kp.privateKey, publicKey: kp.publicKey, jwk };
    jwks = createServer((req, res) => {
      if (req.url === '/jwks') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ keys: [jwk] }));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const port = (jwks.address() as AddressInfo).port;
    f = await apiFixture({
      patients: 20,
      clock,
      env: {
        LABVAULT_OIDC_ISSUER: OIDC_ISSUER,
        LABVAULT_OIDC_AUDIENCE: OIDC_AUDIENCE,
        LABVAULT_OIDC_JWKS_URL: `http://127.0.0.1:${port}/jwks`,
      },
    });
    ownSigner = await f.vault.provider.tokenSigner();
    lims = await f.principal('controller-system', ['screening'], { purpose: 'PUBHLTH' });
    own = f.lab.patients.get('screening')?.[0] as string;
  });
  afterAll(async () => {
    await f?.close();
    await new Promise<void>((resolve) => (jwks ? jwks.close(() => resolve()) : resolve()));
  });

  // --- helpers -------------------------------------------------------------------------------

  const get = (headers: Headers, url = ownUrl()): Promise<LightMyRequestResponse> => f.app.inject({ url, headers });

  async function authFailures(): Promise<AuditEvent[]> {
    const rows = await f.vault.store.queryAudit({ principalId: 'unauthenticated', limit: 100_000 });
    return rows.map((r) => decodeEvent(r.bytes).event).filter((e) => e.action === 'auth.fail');
  }

  async function expectOk(headers: Headers): Promise<void> {
    const r = await get(headers);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ resourceType: 'Patient', id: own });
  }

  /** 401, an OperationOutcome that says nothing of the cause, and one new auth.fail event that does. */
  async function expectRejected(headers: Headers, cause?: string | RegExp): Promise<string> {
    const before = (await authFailures()).length;
    const r = await get(headers);
    expect(r.statusCode, r.body).toBe(401);
    expect(r.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expect(r.headers['www-authenticate']).toMatch(/^Bearer /);
    const body = r.json<unknown>();
    expect(body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] });
    expect(JSON.stringify(body)).not.toMatch(/resourceType":"Patient|jws|jwt_|signature|expired|revoked|suspended/i);
    const after = await authFailures();
    expect(after.length).toBe(before + 1);
    const ev = after[after.length - 1] as AuditEvent;
    expect(ev).toMatchObject({ action: 'auth.fail', outcome: 'denied', reason: 'unauthenticated', tenant: null, patients: [] });
    const why = String(ev.detail.cause);
    if (typeof cause === 'string') expect(why).toBe(cause);
    else if (cause) expect(why).toMatch(cause);
    return why;
  }

  /** Claims a labvault token for `lims` would carry, valid now. */
  function claims(over: Record<string, unknown> = {}): Record<string, unknown> {
    const iat = nowSec();
    return {
      sub: lims.id,
      scope: 'system/Patient.crs',
      labvault_role: 'controller-system',
      labvault_tenants: ['screening'],
      iss: f.vault.config.api.issuer,
      aud: f.vault.config.api.audience,
      iat,
      nbf: iat,
      exp: iat + 600,
      jti: randomUUID(),
      ...over,
    };
  }

  /** A compact JWS signed by labvault's own token key, with whatever header and claims the test wants. */
  async function signOwn(payload: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
    const h = { alg: 'EdDSA', typ: 'at+jwt', kid: f.vault.issuer.kid, ...header };
    const input = `${b64(h)}.${b64(payload)}`;
    const sig = await ownSigner.sign(Buffer.from(input, 'ascii'));
    return `${input}.${sig.toString('base64url')}`;
  }

  function without(payload: Record<string, unknown>, claim: string): Record<string, unknown> {
    const out = { ...payload };
    delete out[claim];
    return out;
  }

  // --- baseline ------------------------------------------------------------------------------

  it('accepts a token labvault issued, and a hand-built one signed by its key (the helpers are sound)', async () => {
    await expectOk(bearer(lims.token));
    await expectOk(bearer(await signOwn(claims())));
  });

  it('refuses no credential and malformed Authorization headers', async () => {
    await expectRejected({}, 'no-credential');
    await expectRejected({ authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` }, 'malformed-authorization');
    await expectRejected({ authorization: 'Bearer' }, 'malformed-authorization');
    await expectRejected({ authorization: `Bearer ${lims.token} extra` }, 'malformed-authorization');
    await expectRejected(bearer('not.a.jwt'), 'malformed-token');
    await expectRejected(bearer('a.b'), 'malformed-token');
  });

  // --- JWT attacks on labvault's own issuer ----------------------------------------------------

  it('refuses alg none (unsecured JWT), in every spelling, with or without the original signature', async () => {
    const unsecured = new UnsecuredJWT(claims()).encode();
    expect(unsecured.endsWith('.')).toBe(true);
    await expectRejected(bearer(unsecured), 'jose_alg_not_allowed');
    const [, payload, sig] = lims.token.split('.') as [string, string, string];
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      const head = b64({ alg, typ: 'JWT' });
      await expectRejected(bearer(`${head}.${payload}.`));
      await expectRejected(bearer(`${head}.${payload}.${sig}`));
    }
    // No header alg at all.
    await expectRejected(bearer(`${b64({ typ: 'JWT' })}.${payload}.${sig}`));
  });

  it("refuses HS256 signed with the issuer's public key bytes (key confusion) and with any secret", async () => {
    const pub = f.vault.issuer.publicKey;
    const jwk = f.vault.issuer.jwk();
    const secrets: Uint8Array[] = [
      ownSigner.publicKey,
      Buffer.from(pub.export({ format: 'pem', type: 'spki' }) as string),
      pub.export({ format: 'der', type: 'spki' }),
      Buffer.from(JSON.stringify(jwk)),
      Buffer.from(jwk.x),
      Buffer.from('secret'),
      Buffer.from(''),
    ];
    for (const secret of secrets) {
      for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
        const key = secret.length > 0 ? secret : new Uint8Array(32);
        const token = await new SignJWT(claims()).setProtectedHeader({ alg, kid: f.vault.issuer.kid }).sign(key);
        await expectRejected(bearer(token), 'jose_alg_not_allowed');
      }
    }
    // Handcrafted too, in case a library refuses to sign with an odd key.
    const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims())}`;
    const { createHmac } = await import('node:crypto');
    const mac = createHmac('sha256', createSecretKey(ownSigner.publicKey)).update(input).digest('base64url');
    await expectRejected(bearer(`${input}.${mac}`), 'jose_alg_not_allowed');
  });

  it('refuses tokens signed by a key that is not ours: RS256, ES256, and EdDSA with our kid', async () => {
    const rsa = await generateKeyPair('RS256');
    await expectRejected(
      bearer(await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256' }).sign(rsa.privateKey)),
      'jose_alg_not_allowed',
    );
    const ec = await generateKeyPair('ES256');
    await expectRejected(
      bearer(await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256' }).sign(ec.privateKey)),
      'jose_alg_not_allowed',
    );
    const ed = generateKeyPairSync('ed25519');
    const input = `${b64({ alg: 'EdDSA', typ: 'at+jwt', kid: f.vault.issuer.kid })}.${b64(claims())}`;
    const sig = edSign(null, Buffer.from(input), ed.privateKey).toString('base64url');
    await expectRejected(bearer(`${input}.${sig}`), 'jws_signature_verification_failed');
  });

  it('refuses expired tokens (beyond the 30 s skew) and accepts within it', async () => {
    const issued = await f.vault.issuer.issue(
      { sub: lims.id, scope: 'system/Patient.rs', labvault_role: 'x', labvault_tenants: [] },
      new Date(clock.now().getTime() - 7_200_000),
      3600,
    );
    await expectRejected(bearer(issued.token), 'jwt_expired');
    const now = nowSec();
    await expectRejected(bearer(await signOwn(claims({ iat: now - 700, nbf: now - 700, exp: now - SKEW - 5 }))), 'jwt_expired');
    await expectOk(bearer(await signOwn(claims({ iat: now - 700, nbf: now - 700, exp: now - 10 }))));
    // exp must be a number.
    await expectRejected(bearer(await signOwn(claims({ exp: String(now + 600) }))), 'jwt_claim_validation_failed');
  });

  it('refuses tokens not yet valid (nbf beyond the 30 s skew) and accepts within it', async () => {
    const now = nowSec();
    await expectRejected(bearer(await signOwn(claims({ nbf: now + SKEW + 90, exp: now + 900 }))), 'jwt_claim_validation_failed');
    const future = await f.vault.issuer.issue(
      { sub: lims.id, scope: 'system/Patient.rs', labvault_role: 'x', labvault_tenants: [] },
      new Date(clock.now().getTime() + 600_000),
      3600,
    );
    await expectRejected(bearer(future.token), 'jwt_claim_validation_failed');
    await expectOk(bearer(await signOwn(claims({ nbf: now + 10 }))));
  });

  it('refuses a wrong issuer and a wrong audience, even signed by our own key', async () => {
    const wrongIss = new TokenIssuer(ownSigner, 'urn:labvault:evil', f.vault.config.api.audience);
    const t1 = await wrongIss.issue(
      { sub: lims.id, scope: 'system/Patient.rs', labvault_role: 'x', labvault_tenants: [] },
      clock.now(),
      600,
    );
    await expectRejected(bearer(t1.token), 'unknown-issuer');
    await expectRejected(bearer(await signOwn(claims({ iss: `${f.vault.config.api.issuer} ` }))), 'unknown-issuer');
    await expectRejected(bearer(await signOwn(without(claims(), 'iss'))), 'unknown-issuer');
    // Our own issuer's claims, but the external IdP's issuer: verified with the IdP's keys, not ours.
    await expectRejected(bearer(await signOwn(claims({ iss: OIDC_ISSUER, aud: OIDC_AUDIENCE }))));

    const wrongAud = new TokenIssuer(ownSigner, f.vault.config.api.issuer, 'urn:labvault:other-service');
    const t2 = await wrongAud.issue(
      { sub: lims.id, scope: 'system/Patient.rs', labvault_role: 'x', labvault_tenants: [] },
      clock.now(),
      600,
    );
    await expectRejected(bearer(t2.token), 'jwt_claim_validation_failed');
    await expectRejected(bearer(await signOwn(claims({ aud: ['urn:other', 'urn:another'] }))), 'jwt_claim_validation_failed');
    await expectRejected(bearer(await signOwn(without(claims(), 'aud'))), 'jwt_claim_validation_failed');
    // Sanity: the audience as an array including ours is fine (RFC 7519).
    await expectOk(bearer(await signOwn(claims({ aud: ['urn:other', f.vault.config.api.audience] }))));
  });

  it('refuses tokens missing jti, sub or exp', async () => {
    for (const claim of ['jti', 'sub', 'exp']) {
      await expectRejected(bearer(await signOwn(without(claims(), claim))), 'jwt_claim_validation_failed');
    }
  });

  it('refuses claims of the wrong type: a non-string sub or jti never reaches the store', async () => {
    const bad = await f.principal('controller-system', ['screening'], { purpose: 'PUBHLTH', id: '424242' });
    await expectOk(bearer(bad.token));
    for (const sub of [424242, ['424242'], { id: '424242' }, '', null]) {
      await expectRejected(bearer(await signOwn(claims({ sub }))));
    }
    for (const jti of [12345, ['x'], { a: 1 }, '']) {
      await expectRejected(bearer(await signOwn(claims({ sub: bad.id, jti }))));
    }
  });

  it('token ids never look like a BSN (they go into audit events, which would refuse them)', async () => {
    const claims0 = { sub: lims.id, scope: 'system/Patient.rs', labvault_role: 'controller-system', labvault_tenants: ['screening'] };
    for (let i = 0; i < 2000; i++) {
      const t = await f.vault.issuer.issue(claims0, clock.now(), 60);
      expect(containsBsnLike(t.jti), t.jti).toBe(false);
    }
  });

  it('refuses a revoked token from the next request (and only that token)', async () => {
    const p = await f.principal('controller-system', ['screening'], { purpose: 'PUBHLTH' });
    const second = await f.vault.principals.issueToken(CTX, p.id);
    await expectOk(bearer(p.token));
    await expectOk(bearer(second.token));
    const { jti, exp } = decodeJwt<{ jti: string; exp: number }>(p.token);
    await f.vault.principals.revokeToken(CTX, jti, p.id, new Date(exp * 1000));
    await expectRejected(bearer(p.token), 'revoked-token');
    await expectOk(bearer(second.token));
  });

  it('refuses a tampered payload under the original signature, and a tampered signature', async () => {
    const admin = await f.principal('controller-system', ['*'], { purpose: 'PUBHLTH' });
    const [head, payload, sig] = lims.token.split('.') as [string, string, string];
    const original = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const variants: Record<string, unknown>[] = [
      { ...original, sub: admin.id },
      { ...original, labvault_tenants: ['*'] },
      { ...original, scope: 'system/*.cruds' },
      { ...original, exp: (original.exp as number) + 86_400 },
      { ...original, purpose_of_use: 'TREAT' },
    ];
    for (const v of variants) await expectRejected(bearer(`${head}.${b64(v)}.${sig}`), 'jws_signature_verification_failed');
    // The same payload, re-encoded with different whitespace: different bytes, same JSON.
    const spaced = Buffer.from(JSON.stringify(original, null, 1)).toString('base64url');
    await expectRejected(bearer(`${head}.${spaced}.${sig}`), 'jws_signature_verification_failed');
    await expectRejected(bearer(`${head}.${payload}.${flip(sig)}`), 'jws_signature_verification_failed');
    await expectRejected(bearer(`${head}.${payload}.${sig.slice(0, -4)}`));
    await expectRejected(bearer(`${head}.${payload}.`));
    // A header swapped for another kid/typ under the same signature.
    await expectRejected(
      bearer(`${b64({ alg: 'EdDSA', typ: 'JWT', kid: 'other' })}.${payload}.${sig}`),
      'jws_signature_verification_failed',
    );
    await expectOk(bearer(lims.token));
  });

  // --- principals: suspension ------------------------------------------------------------------

  it("a suspended principal's token and API key fail from the next request and stay dead after release; new ones work", async () => {
    const p = await f.principal('controller-system', ['screening'], { purpose: 'PUBHLTH' });
    const key = await f.vault.principals.createApiKey(CTX, p.id, 30);
    await expectOk(bearer(p.token));
    await expectOk({ 'x-api-key': key.key });
    await f.vault.principals.suspend(CTX, p.id, 'suspected credential theft');
    await expectRejected(bearer(p.token), 'suspended-principal');
    await expectRejected({ 'x-api-key': key.key }, 'suspended-principal');
    await expectRejected(bearer(key.key), 'suspended-principal');
    await f.vault.principals.release(CTX, p.id, 'cleared');
    // A stolen credential must not come back to life with the release.
    await expectRejected(bearer(p.token), 'credential-predates-suspension');
    await expectRejected({ 'x-api-key': key.key }, 'credential-predates-suspension');
    const fresh = await f.vault.principals.issueToken(CTX, p.id);
    await expectOk(bearer(fresh.token));
    const freshKey = await f.vault.principals.createApiKey(CTX, p.id, 30);
    await expectOk({ 'x-api-key': freshKey.key });
  });

  // --- API keys --------------------------------------------------------------------------------

  describe('API keys', () => {
    let key: { id: string; key: string; expiresAt: string };
    let secret: string;
    beforeAll(async () => {
      key = await f.vault.principals.createApiKey(CTX, lims.id, 90);
      secret = key.key.slice(`lvk_${key.id}_`.length);
    });

    it('a valid key works as Authorization: Bearer and as X-API-Key', async () => {
      expect(key.key).toMatch(/^lvk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      await expectOk(bearer(key.key));
      await expectOk({ 'x-api-key': key.key });
    });

    it('refuses a wrong secret, an unknown id and malformed keys', async () => {
      const wrong = `lvk_${key.id}_${flip(secret)}`;
      await expectRejected(bearer(wrong), 'unknown-api-key');
      await expectRejected({ 'x-api-key': wrong }, 'unknown-api-key');
      await expectRejected(bearer(`lvk_${'0'.repeat(16)}_${secret}`), 'unknown-api-key');
      await expectRejected(bearer(`lvk_${key.id}_${secret.slice(1)}`), 'malformed-api-key');
      await expectRejected(bearer(`lvk_${key.id}`), 'malformed-api-key');
      await expectRejected({ 'x-api-key': `${key.key}x` }, 'malformed-api-key');
      await expectRejected({ 'x-api-key': '' });
      // The stored hash itself is not a credential.
      const hash = createHash('sha256').update(secret).digest('base64url');
      await expectRejected(bearer(`lvk_${key.id}_${hash}`), 'unknown-api-key');
    });

    it('refuses a revoked key', async () => {
      const k = await f.vault.principals.createApiKey(CTX, lims.id, 30);
      await expectOk({ 'x-api-key': k.key });
      await f.vault.principals.revokeApiKey(CTX, k.id);
      await expectRejected({ 'x-api-key': k.key }, 'revoked-api-key');
      await expectRejected(bearer(k.key), 'revoked-api-key');
      await expectOk({ 'x-api-key': key.key });
    });

    it('refuses an expired key (time advanced past its lifetime)', async () => {
      const k = await f.vault.principals.createApiKey(CTX, lims.id, 1);
      await expectOk({ 'x-api-key': k.key });
      try {
        offsetMs = 86_400_000 - 60_000;
        await expectOk({ 'x-api-key': k.key });
        offsetMs = 86_400_000 + 1_000;
        await expectRejected({ 'x-api-key': k.key }, 'expired-api-key');
        await expectOk({ 'x-api-key': key.key });
      } finally {
        offsetMs = 0;
      }
    });

    it('stores only the SHA-256 of the secret: no row and no database file byte holds the key', async () => {
      const file = f.temp.config.database;
      if (file.kind !== 'sqlite') throw new Error('this test reads the SQLite file');
      const db = new Database(file.file, { readonly: true, fileMustExist: true });
      try {
        const row = db.prepare('SELECT * FROM api_keys WHERE id = ?').get(key.id) as Record<string, unknown>;
        expect(row.principal_id).toBe(lims.id);
        expect(Buffer.isBuffer(row.secret_hash)).toBe(true);
        expect((row.secret_hash as Buffer).equals(createHash('sha256').update(secret, 'utf8').digest())).toBe(true);
        const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
        for (const { name } of tables) {
          for (const r of db.prepare(`SELECT * FROM "${name}"`).iterate() as Iterable<Record<string, unknown>>) {
            for (const v of Object.values(r)) {
              const bytes = Buffer.isBuffer(v) ? v : Buffer.from(String(v));
              expect(bytes.includes(secret), `${name} holds the secret`).toBe(false);
            }
          }
        }
      } finally {
        db.close();
      }
      for (const suffix of ['', '-wal']) {
        const bytes = await readFile(file.file + suffix).catch(() => Buffer.alloc(0));
        expect(bytes.includes(secret)).toBe(false);
        expect(bytes.includes(Buffer.from(secret, 'base64url'))).toBe(false);
      }
    });
  });

  // --- purpose of use --------------------------------------------------------------------------

  describe('purpose of use', () => {
    it('refuses a request without a purpose (403), and accepts it with one', async () => {
      const p = await f.principal('controller-system', ['screening'], { purpose: null });
      const r = await get(bearer(p.token));
      expect(r.statusCode).toBe(403);
      expect(r.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'forbidden' }] });
      expect(r.json<Outcome>().issue[0]?.diagnostics).toMatch(/purpose of use required/);
      expect((await get({ ...bearer(p.token), 'x-purpose-of-use': '' })).statusCode).toBe(403);
      expect((await get({ ...bearer(p.token), 'x-purpose-of-use': 'TREAT' })).statusCode).toBe(200);
    });

    it('refuses a purpose the role may not act under, and unknown or malformed purposes (403)', async () => {
      const p = await f.principal('controller-system', ['screening'], { purpose: null });
      for (const purpose of ['ETREAT', 'HSYSADMIN', 'HLEGAL']) {
        const r = await get({ ...bearer(p.token), 'x-purpose-of-use': purpose });
        expect(r.statusCode, purpose).toBe(403);
        expect(r.json<Outcome>().issue[0]?.diagnostics).toMatch(/not permitted for this role|break-glass/);
      }
      for (const purpose of ['FOO', 'TREAT; DROP TABLE', 'a'.repeat(200)]) {
        const r = await get({ ...bearer(p.token), 'x-purpose-of-use': purpose });
        expect(r.statusCode, purpose).toBe(403);
        expect(r.body).not.toContain('DROP');
      }
      // The header overrides the token's default purpose, so it cannot be used to escape the check.
      expect((await get({ ...bearer(lims.token), 'x-purpose-of-use': 'HSYSADMIN' })).statusCode).toBe(403);
    });

    it('an admin may not read patient data under any purpose', async () => {
      const admin = await f.principal('admin', ['*'], { purpose: 'HSYSADMIN' });
      expect((await get(bearer(admin.token))).statusCode).toBe(403);
    });
  });

  // --- external identity provider ---------------------------------------------------------------

  describe('external identity provider (JWKS over loopback HTTP)', () => {
    let ext: { id: string; token: string };
    const idpToken = (sub: unknown): SignJWT =>
      new SignJWT({ scope: 'system/Patient.rs', sub } as JWTPayload)
        .setIssuer(OIDC_ISSUER)
        .setAudience(OIDC_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(nowSec() + 300)
        .setJti(randomUUID());

    beforeAll(async () => {
      ext = await f.principal('controller-system', ['screening'], { purpose: 'PUBHLTH', id: 'idp|lims-north-01' });
    });

    it("accepts a token from the IdP whose sub is a registered principal's id", async () => {
      const token = await idpToken(ext.id).setProtectedHeader({ alg: 'ES256', kid: idpKey.jwk.kid }).sign(idpKey.privateKey);
      await expectOk(bearer(token));
    });

    it('refuses one whose sub is not a registered principal', async () => {
      const token = await idpToken('idp|stranger').setProtectedHeader({ alg: 'ES256', kid: idpKey.jwk.kid }).sign(idpKey.privateKey);
      await expectRejected(bearer(token), 'unknown-principal');
    });

    it('refuses one signed by another key (same kid, unknown kid, no kid)', async () => {
      const other = await generateKeyPair('ES256');
      for (const header of [{ kid: idpKey.jwk.kid as string }, { kid: 'rotated-key-2' }, {}]) {
        const token = await idpToken(ext.id)
          .setProtectedHeader({ alg: 'ES256', ...header })
          .sign(other.privateKey);
        await expectRejected(bearer(token));
      }
    });

    it("refuses HS256 keyed with the JWK's public parameters (key confusion), and alg none", async () => {
      const jwk = idpKey.jwk;
      const material = [jwk.x as string, jwk.y as string, JSON.stringify(jwk)];
      for (const m of material) {
        for (const secret of [Buffer.from(m), Buffer.from(m, 'base64url')]) {
          const token = await idpToken(ext.id).setProtectedHeader({ alg: 'HS256', kid: jwk.kid }).sign(secret);
          await expectRejected(bearer(token), 'jose_alg_not_allowed');
        }
      }
      const none = new UnsecuredJWT({ sub: ext.id, scope: 'system/Patient.rs' })
        .setIssuer(OIDC_ISSUER)
        .setAudience(OIDC_AUDIENCE)
        .setExpirationTime(nowSec() + 300)
        .encode();
      await expectRejected(bearer(none), 'jose_alg_not_allowed');
    });

    it("refuses HS256 keyed with an RSA JWK's modulus", async () => {
      // An RS256 IdP key: the classic confusion uses its public modulus as the HMAC secret.
      const rsa = await generateKeyPair('RS256', { extractable: true });
      const rjwk = await exportJWK(rsa.publicKey);
      for (const secret of [Buffer.from(rjwk.n as string), Buffer.from(rjwk.n as string, 'base64url')]) {
        const token = await idpToken(ext.id).setProtectedHeader({ alg: 'HS256', kid: idpKey.jwk.kid }).sign(secret);
        await expectRejected(bearer(token), 'jose_alg_not_allowed');
      }
    });

    it('refuses IdP tokens with a wrong audience, expired, or a non-string sub', async () => {
      const sign = (t: SignJWT): Promise<string> => t.setProtectedHeader({ alg: 'ES256', kid: idpKey.jwk.kid }).sign(idpKey.privateKey);
      await expectRejected(bearer(await sign(idpToken(ext.id).setAudience(f.vault.config.api.audience))), 'jwt_claim_validation_failed');
      await expectRejected(bearer(await sign(idpToken(ext.id).setExpirationTime(nowSec() - 120))), 'jwt_expired');
      const registered = await f.principal('controller-system', ['screening'], { purpose: 'PUBHLTH', id: '777000' });
      await expectOk(bearer(registered.token));
      await expectOk(bearer(await sign(idpToken('777000'))));
      for (const sub of [777000, ['777000'], { id: '777000' }]) {
        await expectRejected(bearer(await sign(idpToken(sub))));
      }
    });

    it('our own key does not sign for the IdP', async () => {
      const token = await signOwn({ ...claims(), iss: OIDC_ISSUER, aud: OIDC_AUDIENCE, sub: ext.id }, { kid: idpKey.jwk.kid });
      await expectRejected(bearer(token), /jwks_no_matching_key|jws_signature_verification_failed/);
    });
  });
});

import type { FastifyRequest } from 'fastify';
import type { Authenticated } from '../access/authenticator.js';
import type { Caller } from '../access/policy.js';
import { parseScopes } from '../access/smart-scopes.js';
import { Unauthenticated } from '../domain/errors.js';
import type { AccessContext, Principal } from '../domain/principal.js';
import type { BreakGlassGrant } from '../ports/access-store.js';

/**
 * Per-request identity, as the API hooks leave it on the request: who (authenticator.ts), for
 * what purpose (header first, then the credential's claim), from where.
 */
declare module 'fastify' {
  interface FastifyRequest {
    auth: Authenticated | null;
  }
}

export const PURPOSE_HEADER = 'x-purpose-of-use';
export const TENANT_HEADER = 'x-tenant';

export function authOf(req: FastifyRequest): Authenticated {
  if (!req.auth) throw new Unauthenticated('no-credential');
  return req.auth;
}

export function principalOf(auth: Authenticated): Principal {
  return { id: auth.principal.id, role: auth.principal.role, tenants: auth.principal.tenants };
}

export function purposeOf(req: FastifyRequest, auth: Authenticated): string | null {
  const h = req.headers[PURPOSE_HEADER];
  const v = Array.isArray(h) ? h[0] : h;
  if (v === undefined || v === '') return auth.purpose;
  // A client-supplied value reaches the audit log: anything not shaped like a code is recorded
  // as INVALID (and refused by the policy), never verbatim.
  const code = v.trim().toUpperCase();
  return /^[A-Z]{2,12}$/.test(code) ? code : 'INVALID';
}

export function callerOf(req: FastifyRequest): Caller {
  const auth = authOf(req);
  return {
    principal: principalOf(auth),
    tokenScopes: auth.scopes,
    grantedScopes: parseScopes(auth.principal.scopes),
    purpose: purposeOf(req, auth),
  };
}

/** The AccessContext services record; under break-glass the grant's tenant joins the principal's. */
export function contextOf(req: FastifyRequest, grant: BreakGlassGrant | null = null): AccessContext {
  const auth = authOf(req);
  const p = principalOf(auth);
  return {
    principal:
      grant && !p.tenants.includes(grant.tenantId) && !p.tenants.includes('*') ? { ...p, tenants: [...p.tenants, grant.tenantId] } : p,
    purpose: purposeOf(req, auth),
    origin: originOf(req),
    breakGlass: grant?.id ?? null,
  };
}

export function originOf(req: FastifyRequest): AccessContext['origin'] {
  const ua = req.headers['user-agent'];
  return { ip: req.ip, userAgent: typeof ua === 'string' ? ua : null, requestId: String(req.id) };
}

export function tenantHeader(req: FastifyRequest): string | undefined {
  const h = req.headers[TENANT_HEADER];
  const v = Array.isArray(h) ? h[0] : h;
  return v === undefined || v === '' ? undefined : v;
}

import { randomBytes } from 'node:crypto';
import type { ApiConfig } from '../config.js';
import type { AuditLog } from '../audit/audit-log.js';
import { defaultScopes, ROLE_RIGHTS } from '../access/role-policy.js';
import { newApiKey } from '../access/api-key-codec.js';
import { parseScope } from '../access/smart-scopes.js';
import type { TokenIssuer } from '../access/token-issuer.js';
import { AccessDenied, InvalidInput, NotFound } from '../domain/errors.js';
import { Roles, type AccessContext, type Role } from '../domain/principal.js';
import { bsnFreeId, containsBsnLike } from '../domain/validate-resource.js';
import type { PrincipalRow } from '../ports/access-store.js';
import type { Clock } from '../ports/clock.js';
import type { VaultStore } from '../ports/vault-store.js';

/**
 * Principals of the API: people and systems with a role, the tenants they act for, a default
 * purpose of use and SMART scopes. Creating one returns a token (shown once); API keys for
 * integrations are shown once and stored hashed; suspension stops every credential of the
 * principal from the next request. Every change commits with its audit event.
 *
 * Who may manage: the lab's admin creates and issues; admin or security officer suspend, release
 * and revoke (the detection issue will suspend automatically).
 */
export interface CreatePrincipal {
  name: string;
  role: string;
  tenants: string[];
  purpose?: string | null;
  scopes?: string[];
  /** An explicit id (e.g. the `sub` an external identity provider puts in its tokens). */
  id?: string;
}

export interface Created {
  principal: PrincipalRow;
  token: string;
  tokenId: string;
  expiresAt: string;
}

const NAME = /^[\p{L}\p{N} ._@:/-]{1,80}$/u;
const ID = /^[A-Za-z0-9._@:|-]{1,128}$/;

export class PrincipalAdmin {
  constructor(
    private readonly store: VaultStore,
    private readonly issuer: TokenIssuer,
    private readonly clock: Clock,
    private readonly audit: AuditLog,
    private readonly api: Pick<ApiConfig, 'tokenTtlSeconds'>,
  ) {}

  async create(ctx: AccessContext, req: CreatePrincipal): Promise<Created> {
    this.requireRole(ctx, ['admin']);
    const role = parseRole(req.role);
    if (!NAME.test(req.name)) throw new InvalidInput('name: 1–80 letters, digits, spaces or . _ @ : / -');
    const id = req.id ?? bsnFreeId(() => `p-${randomBytes(8).toString('hex')}`);
    if (!ID.test(id)) throw new InvalidInput('id: 1–128 of A–Z a–z 0–9 . _ @ : | -');
    // The audit log refuses any field that looks like a BSN; say so here rather than fail on the
    // audit event (an identity provider's random GUID does about once in 180).
    if (containsBsnLike(id)) throw new InvalidInput('id: looks like a BSN (a digit run passing the 11-proof); choose another id');
    const tenants = await this.checkTenants(req.tenants);
    const purpose = req.purpose ?? null;
    if (purpose !== null && !ROLE_RIGHTS[role].purposes.includes(purpose)) {
      throw new InvalidInput(`purpose ${purpose} is not one the role ${role} may act under (${ROLE_RIGHTS[role].purposes.join(', ')})`);
    }
    const scopes = req.scopes ?? defaultScopes(role);
    for (const s of scopes) if (!parseScope(s)) throw new InvalidInput(`not a SMART resource scope: ${s.slice(0, 60)}`);
    const now = this.clock.now().toISOString();
    const row: PrincipalRow = {
      id,
      name: req.name,
      role,
      tenants,
      purpose,
      scopes,
      status: 'active',
      statusReason: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.audit.ready();
    await this.store.insertPrincipal(row, [
      this.audit.event(ctx, { action: 'principal.create', detail: { principal: id, role, tenants: tenants.join(',') } }),
    ]);
    await this.audit.committed();
    const t = await this.issueToken(ctx, id);
    return { principal: row, token: t.token, tokenId: t.tokenId, expiresAt: t.expiresAt };
  }

  async issueToken(
    ctx: AccessContext,
    principalId: string,
    ttlSeconds = this.api.tokenTtlSeconds,
  ): Promise<{ token: string; tokenId: string; expiresAt: string }> {
    this.requireRole(ctx, ['admin']);
    const p = await this.mustGet(principalId);
    if (p.status !== 'active') throw new InvalidInput('principal is suspended: release it first');
    const issued = await this.issuer.issue(
      {
        sub: p.id,
        scope: p.scopes.join(' '),
        ...(p.purpose ? { purpose_of_use: p.purpose } : {}),
        labvault_role: p.role,
        labvault_tenants: p.tenants,
      },
      this.clock.now(),
      ttlSeconds,
    );
    await this.audit.record([
      this.audit.event(ctx, {
        action: 'token.issue',
        detail: { principal: p.id, token_id: issued.jti, expires: issued.expiresAt.toISOString() },
      }),
    ]);
    return { token: issued.token, tokenId: issued.jti, expiresAt: issued.expiresAt.toISOString() };
  }

  async createApiKey(ctx: AccessContext, principalId: string, days: number): Promise<{ id: string; key: string; expiresAt: string }> {
    this.requireRole(ctx, ['admin']);
    if (!Number.isInteger(days) || days < 1 || days > 730) throw new InvalidInput('API key lifetime: 1–730 days');
    const p = await this.mustGet(principalId);
    const k = newApiKey();
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + days * 86_400_000).toISOString();
    await this.audit.ready();
    await this.store.insertApiKey(
      { id: k.id, principalId: p.id, secretHash: k.secretHash, createdAt: now.toISOString(), expiresAt, revokedAt: null },
      [this.audit.event(ctx, { action: 'apikey.create', detail: { principal: p.id, key_id: k.id, expires: expiresAt } })],
    );
    await this.audit.committed();
    return { id: k.id, key: k.key, expiresAt };
  }

  async revokeApiKey(ctx: AccessContext, keyId: string): Promise<void> {
    this.requireRole(ctx, ['admin', 'security-officer']);
    await this.audit.ready();
    const done = await this.store.revokeApiKey(keyId, this.clock.now().toISOString(), (ok) => [
      this.audit.event(ctx, {
        action: 'apikey.revoke',
        outcome: ok ? 'allowed' : 'error',
        reason: ok ? null : 'not-found',
        detail: { key_id: keyId },
      }),
    ]);
    await this.audit.committed();
    if (!done) throw new NotFound('no such active API key');
  }

  /** Revokes one token by its `jti` until its own expiry. */
  async revokeToken(ctx: AccessContext, tokenId: string, principalId: string, expiresAt: Date): Promise<void> {
    this.requireRole(ctx, ['admin', 'security-officer']);
    if (!ID.test(tokenId)) throw new InvalidInput('token id: not a token id');
    await this.audit.ready();
    await this.store.revokeToken({ tokenId, principalId, revokedAt: this.clock.now().toISOString(), expiresAt: expiresAt.toISOString() }, [
      this.audit.event(ctx, { action: 'token.revoke', detail: { principal: principalId, token_id: tokenId } }),
    ]);
    await this.audit.committed();
  }

  async suspend(ctx: AccessContext, id: string, reason: string | null): Promise<void> {
    await this.setStatus(ctx, id, 'suspended', reason);
  }

  async release(ctx: AccessContext, id: string, reason: string | null): Promise<void> {
    // A principal held by detection is released only through its containment (an officer with a
    // reason; two after a canary): a plain release would step around that rule.
    const held = (await this.store.activeContainments()).find((c) => c.principalId === id);
    if (held) throw new AccessDenied(`held by containment ${held.id}: release it with 'labvault containment release'`);
    await this.setStatus(ctx, id, 'active', reason);
  }

  async list(ctx: AccessContext): Promise<PrincipalRow[]> {
    this.requireRole(ctx, ['admin', 'security-officer', 'dpo', 'auditor']);
    await this.audit.record([this.audit.event(ctx, { action: 'principal.list' })]);
    return this.store.listPrincipals();
  }

  private async setStatus(ctx: AccessContext, id: string, status: 'active' | 'suspended', reason: string | null): Promise<void> {
    this.requireRole(ctx, ['admin', 'security-officer']);
    if (reason !== null && reason.length > 200) throw new InvalidInput('reason: at most 200 characters');
    const action = status === 'suspended' ? 'principal.suspend' : 'principal.release';
    await this.audit.ready();
    const ok = await this.store.setPrincipalStatus(id, status, reason, this.clock.now().toISOString(), (found) => [
      this.audit.event(ctx, {
        action,
        outcome: found ? 'allowed' : 'error',
        reason: found ? null : 'not-found',
        detail: { principal: id },
      }),
    ]);
    await this.audit.committed();
    if (!ok) throw new NotFound('no such principal');
  }

  private async checkTenants(tenants: string[]): Promise<string[]> {
    if (tenants.length === 0) throw new InvalidInput('at least one tenant (or *)');
    if (tenants.includes('*')) return ['*'];
    const known = new Set((await this.store.listTenants()).map((t) => t.id));
    for (const t of tenants) if (!known.has(t)) throw new InvalidInput(`unknown tenant: ${t.slice(0, 64)}`);
    return [...new Set(tenants)].sort();
  }

  private async mustGet(id: string): Promise<PrincipalRow> {
    const p = await this.store.getPrincipal(id);
    if (!p) throw new NotFound('no such principal');
    return p;
  }

  private requireRole(ctx: AccessContext, roles: Role[]): void {
    if (!roles.includes(ctx.principal.role)) throw new AccessDenied();
  }
}

function parseRole(text: string): Role {
  if (!(Roles as readonly string[]).includes(text)) throw new InvalidInput(`unknown role: expected one of ${Roles.join(', ')}`);
  return text as Role;
}

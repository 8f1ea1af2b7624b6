import type { FastifyRequest } from 'fastify';
import { checkAdmin, checkInteraction, decide, type Allowed } from '../../access/policy.js';
import type { AdminRight } from '../../access/role-policy.js';
import type { Interaction } from '../../access/smart-scopes.js';
import type { Vault } from '../../compose.js';
import { InvalidInput, VaultError } from '../../domain/errors.js';
import type { AccessContext } from '../../domain/principal.js';
import type { VaultResourceType } from '../../domain/resource-type.js';
import type { ResourceView } from '../../domain/resource-view.js';
import { callerOf, contextOf, originOf, principalOf, authOf, purposeOf, tenantHeader } from '../request-context.js';

/**
 * Authorisation at the route: the policy decision for one tenant, with a refused decision
 * audited (who tried what, denied, why) before the refusal is answered. A tenant outside the
 * principal's scope answers NotFound exactly like an unknown id.
 */
export interface Granted {
  ctx: AccessContext;
  view: ResourceView;
  tenant: string;
}

export class Guard {
  constructor(private readonly vault: Vault) {}

  async forTenant(req: FastifyRequest, type: VaultResourceType, op: Interaction, tenant: string): Promise<Granted> {
    try {
      const caller = callerOf(req);
      const grant = caller.purpose === 'ETREAT' ? await this.vault.breakGlass.active(caller.principal.id, tenant) : null;
      const allowed: Allowed = decide(caller, type, op, tenant, grant);
      return { ctx: contextOf(req, allowed.breakGlass), view: allowed.view, tenant };
    } catch (e) {
      await this.denied(req, e, { type, op, tenant });
      throw e;
    }
  }

  /** Role and scope check before any tenant is known (e.g. before locating a record). */
  async interaction(req: FastifyRequest, type: VaultResourceType, op: Interaction): Promise<void> {
    try {
      checkInteraction(callerOf(req), type, op);
    } catch (e) {
      await this.denied(req, e, { type, op, tenant: null });
      throw e;
    }
  }

  /** An administrative right of the role (export request, approval, break-glass), refusal audited. */
  async admin(req: FastifyRequest, right: AdminRight): Promise<void> {
    try {
      checkAdmin(callerOf(req), right);
    } catch (e) {
      await this.denied(req, e, { type: right, op: 'admin', tenant: null });
      throw e;
    }
  }

  /**
   * Tenants a request may be answered from: the X-Tenant header (one tenant, which must be the
   * principal's, or open by break-glass), else every tenant of the principal.
   */
  async candidateTenants(req: FastifyRequest): Promise<string[]> {
    const p = principalOf(authOf(req));
    const named = tenantHeader(req);
    if (named !== undefined) {
      if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(named)) throw new InvalidInput('X-Tenant: not a tenant id');
      return [named];
    }
    if (purposeOf(req, authOf(req)) === 'ETREAT') throw new InvalidInput('break-glass requests name their tenant in X-Tenant');
    if (p.tenants.includes('*')) return (await this.vault.store.listTenants()).map((t) => t.id);
    return [...p.tenants];
  }

  /** Exactly one tenant for a request that cannot span several (searches without a patient, creates). */
  async singleTenant(req: FastifyRequest): Promise<string> {
    const ts = await this.candidateTenants(req);
    if (ts.length !== 1) throw new InvalidInput('this principal acts for several tenants: name one in the X-Tenant header');
    return ts[0] as string;
  }

  private async denied(req: FastifyRequest, e: unknown, what: { type: string; op: string; tenant: string | null }): Promise<void> {
    if (!(e instanceof VaultError)) return;
    const auth = req.auth;
    if (!auth) return;
    const ctx: AccessContext = { principal: principalOf(auth), purpose: purposeOf(req, auth), origin: originOf(req) };
    await this.vault.audit.record([
      this.vault.audit.event(ctx, {
        action: 'access.denied',
        outcome: 'denied',
        tenant: what.tenant,
        reason: e.code,
        detail: { type: what.type, interaction: what.op },
      }),
    ]);
  }
}

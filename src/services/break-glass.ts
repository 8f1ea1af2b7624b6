import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.js';
import { ROLE_RIGHTS } from '../access/role-policy.js';
import { AccessDenied, InvalidInput, NotFound } from '../domain/errors.js';
import { mayActFor, type AccessContext } from '../domain/principal.js';
import { bsnFreeId } from '../domain/validate-resource.js';
import type { BreakGlassGrant } from '../ports/access-store.js';
import type { Clock } from '../ports/clock.js';
import type { VaultStore } from '../ports/vault-store.js';

/**
 * Break-glass: emergency access that is explicit, justified, time-boxed and reviewed afterwards.
 * A clinical person (lab technician, pathologist) opens a grant for one of its own tenants with a
 * written justification and a duration; while it is open, requests under purpose ETREAT get the
 * full Patient view there (the role's masking lifted, never the tenant boundary). Opening it, and every access under it, writes an event
 * flagged `review: true`. Systems cannot break the glass.
 *
 * The justification is kept in the audit event (the evidence), not in a table, and like every
 * audit field must not contain a BSN-like number (refused).
 */
export class BreakGlass {
  constructor(
    private readonly store: VaultStore,
    private readonly clock: Clock,
    private readonly audit: AuditLog,
    private readonly maxMinutes: number,
  ) {}

  async open(ctx: AccessContext, tenantId: string, justification: string, minutes: number): Promise<BreakGlassGrant> {
    if (!ROLE_RIGHTS[ctx.principal.role].admin.includes('break-glass')) throw new AccessDenied('this role cannot break the glass');
    const text = justification.trim();
    if (text.length < 10 || text.length > 240) throw new InvalidInput('justification: 10–240 characters explaining the emergency');
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > this.maxMinutes) throw new InvalidInput(`minutes: 1–${this.maxMinutes}`);
    // Only for a tenant the principal already acts for: break-glass lifts masking, not the tenant
    // boundary. Another tenant and an unknown one answer alike, and the attempt is recorded.
    if (!mayActFor(ctx.principal, tenantId) || !(await this.store.getTenant(tenantId))) {
      await this.audit.record([
        this.audit.event(ctx, { action: 'breakglass.open', outcome: 'denied', reason: 'not-found', detail: { review: true } }),
      ]);
      throw new NotFound();
    }
    const now = this.clock.now();
    const grant: BreakGlassGrant = {
      id: bsnFreeId(() => `bg-${randomUUID()}`),
      principalId: ctx.principal.id,
      tenantId,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + minutes * 60_000).toISOString(),
    };
    await this.audit.ready();
    await this.store.insertBreakGlass(grant, [
      this.audit.event(ctx, {
        action: 'breakglass.open',
        tenant: tenantId,
        detail: { break_glass: grant.id, review: true, minutes, expires: grant.expiresAt, justification: text },
      }),
    ]);
    await this.audit.committed();
    return grant;
  }

  /** The open grant of this principal for this tenant, if any. */
  active(principalId: string, tenantId: string): Promise<BreakGlassGrant | null> {
    return this.store.activeBreakGlass(principalId, tenantId, this.clock.now().toISOString());
  }
}

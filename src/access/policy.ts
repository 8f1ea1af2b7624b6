import { AccessDenied, NotFound } from '../domain/errors.js';
import { mayActFor, type Principal } from '../domain/principal.js';
import type { VaultResourceType } from '../domain/resource-type.js';
import type { ResourceView } from '../domain/resource-view.js';
import { FULL_VIEW } from '../domain/resource-view.js';
import type { BreakGlassGrant } from '../ports/access-store.js';
import { viewFor } from './patient-view.js';
import { PURPOSES, ROLE_RIGHTS, roleAllows, type AdminRight } from './role-policy.js';
import { scopesAllow, type Interaction, type SmartScope } from './smart-scopes.js';

/**
 * The access decision, deny by default. A request is allowed only when all of these hold:
 *  1. it names a purpose of use (header or token claim) that the role may act under;
 *  2. the role may perform the interaction on the type (role-policy.ts);
 *  3. the credential's SMART scopes and the principal's granted scopes both allow it;
 *  4. the tenant is one the principal acts for — else NotFound, never "forbidden", so that a
 *     probe cannot learn that a record exists under another controller;
 *  5. purpose ETREAT (break-glass) only with an open grant for that tenant (one of the principal's
 *     own), which then lifts the role's Patient masking.
 */
export interface Caller {
  principal: Principal;
  /** Scopes of the presented credential. */
  tokenScopes: readonly SmartScope[];
  /** Scopes granted to the principal (store). */
  grantedScopes: readonly SmartScope[];
  purpose: string | null;
}

export interface Allowed {
  view: ResourceView;
  /** The grant used, when the access rests on break-glass. */
  breakGlass: BreakGlassGrant | null;
}

/** Purpose checks shared by every request, before any resource is looked at. */
export function checkPurpose(caller: Caller): string {
  const purpose = caller.purpose;
  if (purpose === null) throw new AccessDenied('purpose of use required (X-Purpose-Of-Use header or purpose_of_use claim)');
  if (!(PURPOSES as readonly string[]).includes(purpose)) throw new AccessDenied('unknown purpose of use');
  if (!ROLE_RIGHTS[caller.principal.role].purposes.includes(purpose)) throw new AccessDenied('purpose of use not permitted for this role');
  return purpose;
}

/** Whether the caller may do `op` on `type` at all (any tenant): role and both scope sets. */
export function checkInteraction(caller: Caller, type: VaultResourceType, op: Interaction): void {
  checkPurpose(caller);
  if (!roleAllows(caller.principal.role, type, op)) throw new AccessDenied();
  if (!scopesAllow(caller.tokenScopes, type, op) || !scopesAllow(caller.grantedScopes, type, op))
    throw new AccessDenied('scope does not allow this');
}

/**
 * The full decision for one tenant. `grant` is the caller's open break-glass grant for the tenant
 * (looked up only when the purpose is ETREAT).
 */
export function decide(caller: Caller, type: VaultResourceType, op: Interaction, tenantId: string, grant: BreakGlassGrant | null): Allowed {
  checkInteraction(caller, type, op);
  // Break-glass lifts masking, never the tenant boundary: another controller's data stays out of
  // reach whatever the emergency (its own staff or systems can be asked).
  if (!mayActFor(caller.principal, tenantId)) throw new NotFound();
  if (caller.purpose === 'ETREAT') {
    if (!grant || grant.tenantId !== tenantId || grant.principalId !== caller.principal.id) {
      throw new AccessDenied('break-glass is not open for this tenant');
    }
    return { view: FULL_VIEW, breakGlass: grant };
  }
  return { view: viewFor(ROLE_RIGHTS[caller.principal.role].patientView), breakGlass: null };
}

export function checkAdmin(caller: Caller, right: AdminRight): void {
  checkPurpose(caller);
  if (!ROLE_RIGHTS[caller.principal.role].admin.includes(right)) throw new AccessDenied();
}

/**
 * Who is acting, for what, and from where. Every service call that touches personal data or keys
 * takes an AccessContext; the audit log records it. The API issue fills it from a verified token;
 * the CLI from the operating-system account that runs it.
 */
export const Roles = [
  'admin',
  'security-officer',
  'dpo',
  'auditor',
  'lab-technician',
  'pathologist',
  'support',
  'controller-system',
] as const;
export type Role = (typeof Roles)[number];

export interface Principal {
  readonly id: string;
  readonly role: Role;
  /** Tenant ids this principal may act for; `*` means every tenant (lab staff, the CLI operator). */
  readonly tenants: readonly string[];
}

export interface AccessOrigin {
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly requestId: string | null;
}

export interface AccessContext {
  readonly principal: Principal;
  /** HL7 v3 PurposeOfUse code (TREAT, HOPERAT, PUBHLTH, ETREAT …). */
  readonly purpose: string | null;
  readonly origin: AccessOrigin;
  /**
   * Id of the break-glass grant this request acts under, if any: every event it writes is then
   * flagged for review (audit-event.ts).
   */
  readonly breakGlass?: string | null;
  /**
   * An operator on this machine (CLI, drills, benchmarks' set-up), with the keyring at hand:
   * inline detection does not judge it — it could not stop someone holding the keys, and a
   * maintenance job must not contain itself. Requests over the API never carry it.
   */
  readonly local?: boolean;
}

/** An operator acting on this machine for every tenant (CLI commands, benchmarks, drills). */
export function operatorContext(id: string, userAgent: string, requestId: string | null = null): AccessContext {
  return { principal: { id, role: 'admin', tenants: ['*'] }, purpose: 'HOPERAT', origin: { ip: null, userAgent, requestId }, local: true };
}

/** Deny by default: a principal acts for the tenants it names, `*` for all. */
export function mayActFor(principal: Principal, tenantId: string): boolean {
  return principal.tenants.includes('*') || principal.tenants.includes(tenantId);
}

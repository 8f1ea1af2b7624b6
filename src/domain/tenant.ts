/**
 * A tenant is one data controller the lab works for (screening programme, hospital, GP network,
 * clinic). Every record carries its tenant: that lineage is what lets a breach be scoped per
 * controller.
 */
export const TENANT_TAG_SYSTEM = 'https://labvault.dev/tenant';

export const TenantKind = {
  ScreeningProgramme: 'screening-programme',
  Hospital: 'hospital',
  GpNetwork: 'gp-network',
  Clinic: 'clinic',
} as const;
export type TenantKind = (typeof TenantKind)[keyof typeof TenantKind];

/** Whether the lab processes this controller's data on its behalf (GDPR Art. 28) or is itself controller. */
export const LabRole = { Processor: 'processor', Controller: 'controller' } as const;
export type LabRole = (typeof LabRole)[keyof typeof LabRole];

export interface Tenant {
  /** Stable slug, e.g. `screening`; appears in `meta.tag` of every resource. */
  id: string;
  name: string;
  kind: TenantKind;
  /** ISO 3166-1 alpha-2 (e.g. `NL`, `GB`, `US`): picks the breach-notification regimes. */
  jurisdiction: string;
  labRole: LabRole;
  /** Contractual breach-notice deadline the lab owes this controller, in hours (default 24). */
  breachNoticeSlaHours: number;
  contact: { name: string; email: string };
  /** Controller's public key (JWK) for encrypted notification packages; null until configured. */
  publicKeyJwk: Record<string, unknown> | null;
}

const TENANT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function isValidTenantId(id: string): boolean {
  return TENANT_ID.test(id);
}

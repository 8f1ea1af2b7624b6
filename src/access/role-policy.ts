import type { Role } from '../domain/principal.js';
import type { VaultResourceType } from '../domain/resource-type.js';
import type { Interaction } from './smart-scopes.js';

/**
 * What each role of CLI.md may do through the API: per resource type the interactions (SMART
 * letters c/r/s), the view of a Patient it gets, the purposes of use it may act under, and its
 * administrative rights. Anything not listed is denied. The table is data so that the access
 * matrix test can print it and a security officer can review it in one place.
 *
 * Least privilege: the lab's admin, security officer, DPO and auditor manage and review but read
 * no patient data through the API; support sees orders and specimens but no identity and no
 * results; a technician sees what bench work needs (name, birth date) with the BSN masked, and
 * opens patients by id only.
 */
export type PatientView = 'full' | 'masked' | 'none';

export type AdminRight = 'export.approve' | 'export.request' | 'break-glass' | 'token.revoke' | 'containment.release' | 'containment.read';

export interface RoleRights {
  resources: Partial<Record<VaultResourceType, string>>;
  patientView: PatientView;
  purposes: readonly string[];
  admin: readonly AdminRight[];
  /** A human role: may open break-glass (which lifts the masking and requires ETREAT). */
  human: boolean;
}

/** HL7 v3 PurposeOfUse codes labvault knows. */
export const PURPOSES = ['TREAT', 'ETREAT', 'HOPERAT', 'PUBHLTH', 'HPAYMT', 'HRESCH', 'HSYSADMIN', 'HCOMPL', 'HLEGAL'] as const;

export const ROLE_RIGHTS: Readonly<Record<Role, RoleRights>> = {
  admin: { resources: {}, patientView: 'none', purposes: ['HSYSADMIN', 'HOPERAT'], admin: [], human: true },
  'security-officer': {
    resources: {},
    patientView: 'none',
    purposes: ['HSYSADMIN', 'HOPERAT', 'HCOMPL', 'HLEGAL'],
    admin: ['export.approve', 'token.revoke', 'containment.release', 'containment.read'],
    human: true,
  },
  dpo: { resources: {}, patientView: 'none', purposes: ['HCOMPL', 'HLEGAL', 'HOPERAT'], admin: ['containment.read'], human: true },
  auditor: { resources: {}, patientView: 'none', purposes: ['HCOMPL', 'HLEGAL', 'HOPERAT'], admin: ['containment.read'], human: true },
  'lab-technician': {
    // Patient by id only (from a specimen's subject): a BSN or name search would let a technician
    // turn a list of BSNs into names, which bench work never needs.
    resources: { Patient: 'r', ServiceRequest: 'rs', Specimen: 'crs', Observation: 'crs', DiagnosticReport: 'rs' },
    patientView: 'masked',
    purposes: ['TREAT', 'HOPERAT', 'PUBHLTH', 'ETREAT'],
    admin: ['break-glass'],
    human: true,
  },
  pathologist: {
    resources: { Patient: 'rs', ServiceRequest: 'rs', Specimen: 'rs', Observation: 'crs', DiagnosticReport: 'crs' },
    patientView: 'full',
    purposes: ['TREAT', 'HOPERAT', 'PUBHLTH', 'ETREAT'],
    admin: ['break-glass'],
    human: true,
  },
  support: {
    resources: { Patient: 'r', ServiceRequest: 'rs', Specimen: 'rs' },
    patientView: 'none',
    purposes: ['HOPERAT', 'HSYSADMIN'],
    admin: [],
    human: true,
  },
  'controller-system': {
    resources: { Patient: 'crs', ServiceRequest: 'crs', Specimen: 'crs', Observation: 'crs', DiagnosticReport: 'crs' },
    patientView: 'full',
    // No payment purpose: a controller's system reads results for care and screening, not billing.
    purposes: ['TREAT', 'HOPERAT', 'PUBHLTH'],
    admin: ['export.request'],
    human: false,
  },
};

export function roleAllows(role: Role, type: VaultResourceType, op: Interaction): boolean {
  return ROLE_RIGHTS[role].resources[type]?.includes(op) ?? false;
}

/** The SMART scopes a principal of `role` gets when none are given: exactly its rights. */
export function defaultScopes(role: Role): string[] {
  const prefix = ROLE_RIGHTS[role].human ? 'user' : 'system';
  return Object.entries(ROLE_RIGHTS[role].resources).map(([type, ops]) => `${prefix}/${type}.${ops}`);
}

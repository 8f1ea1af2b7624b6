import { BSN_SYSTEM } from '../domain/bsn.js';
import { FULL_VIEW, type FhirResource, type ResourceView } from '../domain/resource-view.js';
import type { PatientView } from './role-policy.js';

/**
 * Role projections of a Patient (clinical records pass unchanged; the role table decides which
 * types a role may read at all).
 *  - masked: name, gender and birth date for bench work; the BSN masked but for its last two
 *    digits; no address, telecom or contacts.
 *  - none: the pseudonymous id and tenant tag only, no identity section.
 */
const MASKED_KEEP = ['resourceType', 'id', 'meta', 'identifier', 'active', 'name', 'gender', 'birthDate', 'deceasedBoolean'];
const NONE_KEEP = ['resourceType', 'id', 'meta', 'active'];

export const MASKED_VIEW: ResourceView = {
  name: 'masked',
  project(resource) {
    if (resource.resourceType !== 'Patient') return FULL_VIEW.project(resource);
    const out = pick(resource, MASKED_KEEP);
    // Only the BSN, masked: any other identifier (the BSN under its OID, a hospital number) could
    // carry or link the same person, so it is dropped rather than trusted.
    const ids = Array.isArray(resource.identifier) ? (resource.identifier as { system?: unknown; value?: unknown }[]) : [];
    const bsn = ids.find((i) => i.system === BSN_SYSTEM && typeof i.value === 'string');
    if (bsn) out.identifier = [{ system: BSN_SYSTEM, value: maskBsn(bsn.value as string) }];
    else delete out.identifier;
    return { resource: out, categories: ['identity', 'demographics'] };
  },
};

export const NO_IDENTITY_VIEW: ResourceView = {
  name: 'none',
  project(resource) {
    if (resource.resourceType !== 'Patient') return FULL_VIEW.project(resource);
    return { resource: pick(resource, NONE_KEEP), categories: [] };
  },
};

export function viewFor(v: PatientView): ResourceView {
  return v === 'full' ? FULL_VIEW : v === 'masked' ? MASKED_VIEW : NO_IDENTITY_VIEW;
}

/** `*******82`: enough to check a label against a form, useless for linking across datasets. */
export function maskBsn(bsn: string): string {
  const digits = bsn.replace(/\D/g, '');
  return `${'*'.repeat(Math.max(0, digits.length - 2))}${digits.slice(-2)}`;
}

function pick(r: FhirResource, keep: readonly string[]): FhirResource {
  const out: Record<string, unknown> = {};
  for (const k of keep) if (r[k] !== undefined) out[k] = r[k];
  return out as FhirResource;
}

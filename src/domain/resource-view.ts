import { categoriesOf, type DataCategory } from './audit-event.js';
import type { VaultResourceType } from './resource-type.js';

/**
 * What a reader gets to see of a decrypted resource (a role's projection), and so which data
 * categories actually leave the vault: the audit event records the categories of the projected
 * resource, not of the stored one, so scoping after a breach does not overstate (or understate)
 * what a principal saw.
 */
export type FhirResource = Record<string, unknown> & { resourceType: string; id: string };

export interface Projected {
  resource: FhirResource;
  categories: readonly DataCategory[];
}

export interface ResourceView {
  readonly name: string;
  project(resource: FhirResource): Projected;
}

/** Everything as stored. */
export const FULL_VIEW: ResourceView = {
  name: 'full',
  project: (resource) => ({ resource, categories: categoriesOf(resource.resourceType as VaultResourceType) }),
};

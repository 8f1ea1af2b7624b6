/** The FHIR R4 resource types the vault stores. Patient holds identity; the rest are clinical records. */
export const ClinicalTypes = ['ServiceRequest', 'Specimen', 'Observation', 'DiagnosticReport'] as const;
export type ClinicalType = (typeof ClinicalTypes)[number];
export type VaultResourceType = 'Patient' | ClinicalType;

/** Dependency order for ingest: every reference points to a type earlier in this list (or the same). */
export const INGEST_ORDER: readonly VaultResourceType[] = ['Patient', ...ClinicalTypes];

export function isClinicalType(t: string): t is ClinicalType {
  return (ClinicalTypes as readonly string[]).includes(t);
}

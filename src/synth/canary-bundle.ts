/**
 * Canary records as the vault stores them. Apart from their generator (canary-records.ts, which
 * draws identities with faker): what the vault opens on every command does not load faker.
 */
export interface CanaryRecords {
  /** FHIR R4 Patient resources (one per canary person), tenant-tagged like the synthetic lab's. */
  patients: Record<string, unknown>[];
  /**
   * Their ServiceRequest, Specimen, Observation and DiagnosticReport resources, in reference order
   * (all SRs before all Specimens before all Observations before all DRs), like the lab's files.
   */
  resources: Record<string, unknown>[];
}

/** The records as one all-or-nothing transaction Bundle (what ingest takes). */
export function canaryBundle(records: CanaryRecords): Record<string, unknown> {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [...records.patients, ...records.resources].map((r) => ({
      resource: r,
      request: { method: 'PUT', url: `${String(r.resourceType)}/${String(r.id)}` },
    })),
  };
}

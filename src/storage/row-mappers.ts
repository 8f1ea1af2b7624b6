import type { ClinicalType } from '../domain/resource-type.js';
import type { PatientRow, ResourceRow, TenantKeyRow } from '../ports/vault-store.js';

/**
 * Database rows → port rows, shared by both adapters so they return identical shapes (the contract
 * suite compares them strictly). SQLite stores timestamps as ISO text, PostgreSQL as TIMESTAMPTZ.
 */
export type Row = Record<string, unknown>;

/** TIMESTAMPTZ arrives as a Date, SQLite's TEXT as the ISO string that was written. */
export function iso(v: unknown): string {
  return v instanceof Date ? v.toISOString() : (v as string);
}

export function toKeyRow(r: Row): TenantKeyRow {
  return {
    tenantId: r.tenant_id as string,
    version: r.version as number,
    wrappedKek: (r.wrapped_kek as Buffer | null) ?? null,
    masterKeyId: r.master_key_id as string,
    state: r.state as TenantKeyRow['state'],
    createdAt: iso(r.created_at),
  };
}

export function toPatientRow(r: Row): PatientRow {
  return {
    tenantId: r.tenant_id as string,
    id: r.id as string,
    version: r.version as number,
    kekVersion: r.kek_version as number,
    wrappedDek: (r.wrapped_dek as Buffer | null) ?? null,
    bsnIndex: (r.bsn_idx as Buffer | null) ?? null,
    nameIndex: (r.name_idx as Buffer | null) ?? null,
    contentMac: (r.content_mac as Buffer | null) ?? null,
    identity: (r.identity as Buffer | null) ?? null,
    createdAt: iso(r.created_at),
    erasedAt: r.erased_at == null ? null : iso(r.erased_at),
  };
}

export function toResourceRow(r: Row): ResourceRow {
  return {
    tenantId: r.tenant_id as string,
    type: r.type as ClinicalType,
    id: r.id as string,
    version: r.version as number,
    patientId: r.patient_id as string,
    status: (r.status as string | null) ?? null,
    code: (r.code as string | null) ?? null,
    effectiveDate: (r.effective_date as string | null) ?? null,
    contentMac: r.content_mac as Buffer,
    body: r.body as Buffer,
    createdAt: iso(r.created_at),
  };
}

import { randomBytes } from 'node:crypto';
import type { ClinicalType } from '../../src/domain/resource-type.js';
import type { ApiKeyRow, BreakGlassGrant, ExportJob, PrincipalRow } from '../../src/ports/access-store.js';
import type { PatientRow, ResourceRow } from '../../src/ports/vault-store.js';

/** Store-level test rows: random bytes stand in for ciphertexts, since these tests exercise the store, not crypto. */
export const AT = '2024-03-01T10:00:00.000Z';

export function patientRow(tenantId: string, id: string, kekVersion = 1, over: Partial<PatientRow> = {}): PatientRow {
  return {
    tenantId,
    id,
    version: 1,
    kekVersion,
    wrappedDek: randomBytes(60),
    bsnIndex: randomBytes(32),
    nameIndex: randomBytes(32),
    contentMac: randomBytes(32),
    identity: randomBytes(200),
    createdAt: AT,
    erasedAt: null,
    ...over,
  };
}

export function resourceRow(
  tenantId: string,
  type: ClinicalType,
  id: string,
  patientId: string,
  over: Partial<ResourceRow> = {},
): ResourceRow {
  return {
    tenantId,
    type,
    id,
    version: 1,
    patientId,
    status: 'final',
    code: '4548-4',
    effectiveDate: '2024-02-29',
    contentMac: randomBytes(32),
    body: randomBytes(300),
    createdAt: '2024-03-01T10:00:01.123Z',
    ...over,
  };
}

export function principalRow(id: string, over: Partial<PrincipalRow> = {}): PrincipalRow {
  return {
    id,
    name: `LIMS ${id}`,
    role: 'lab-technician',
    tenants: ['screening', 'hospital-west'],
    purpose: 'TREAT',
    scopes: ['system/Observation.rs', 'system/DiagnosticReport.rs'],
    status: 'active',
    statusReason: null,
    createdAt: AT,
    updatedAt: AT,
    ...over,
  };
}

export function apiKeyRow(id: string, principalId: string, over: Partial<ApiKeyRow> = {}): ApiKeyRow {
  return { id, principalId, secretHash: randomBytes(32), createdAt: AT, expiresAt: '2025-03-01T10:00:00.000Z', revokedAt: null, ...over };
}

export function breakGlassRow(id: string, principalId: string, tenantId: string, createdAt: string, expiresAt: string): BreakGlassGrant {
  return { id, principalId, tenantId, createdAt, expiresAt };
}

export function exportJobRow(id: string, requesterId: string, over: Partial<ExportJob> = {}): ExportJob {
  return {
    id,
    requesterId,
    tenantId: 'screening',
    types: ['Patient', 'Observation'],
    since: null,
    state: 'awaiting-approval',
    approverId: null,
    createdAt: AT,
    approvedAt: null,
    expiresAt: '2024-03-02T10:00:00.000Z',
    ...over,
  };
}

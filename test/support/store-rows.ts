import { randomBytes } from 'node:crypto';
import type { ClinicalType } from '../../src/domain/resource-type.js';
import type { ApiKeyRow, BreakGlassGrant, ExportJob, PrincipalRow } from '../../src/ports/access-store.js';
import type { BaselineRow, CanarySetRow, ContainmentRow, IncidentRow } from '../../src/ports/detection-store.js';
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

export function incidentRow(id: string, over: Partial<IncidentRow> = {}): IncidentRow {
  return {
    id,
    openedAt: AT,
    source: 'detection',
    trigger: 'cap.patients-per-minute',
    principalId: 'p',
    tenants: ['screening'],
    windowStart: '2024-03-01T09:55:00.000Z',
    windowEnd: '2024-03-01T09:59:59.250Z',
    status: 'open',
    doc: { summary: 'patients per minute over the cap', patients: 412, nested: { rules: ['cap'], score: 0.5, ok: null } },
    ...over,
  };
}

export function containmentRow(id: string, incidentId: string, over: Partial<ContainmentRow> = {}): ContainmentRow {
  return {
    id,
    incidentId,
    principalId: 'p',
    originIp: '192.0.2.10',
    frozenTenants: ['screening'],
    rule: 'cap.patients-per-minute',
    approvalsRequired: 1,
    state: 'active',
    createdAt: AT,
    releasedAt: null,
    ...over,
  };
}

export function canarySetRow(id: string, tenantId: string, over: Partial<CanarySetRow> = {}): CanarySetRow {
  return { id, tenantId, copyKind: 'tenant', copyId: null, sealed: randomBytes(120), createdAt: AT, ...over };
}

export function baselineRow(principalId: string, hourOfWeek: number, over: Partial<BaselineRow> = {}): BaselineRow {
  return { principalId, hourOfWeek, mean: 12.25, variance: 3.0625, samples: 8, updatedAt: AT, ...over };
}

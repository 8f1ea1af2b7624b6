import { TENANT_TAG_SYSTEM, type Tenant } from '../../src/domain/tenant.js';

/** Small hand-written FHIR resources for tests that need exact control over one field. */
export const tag = (tenant: string) => ({ tag: [{ system: TENANT_TAG_SYSTEM, code: tenant }] });

export function patient(
  tenant: string,
  id: string,
  bsn = '123456782',
  family = 'Jansen',
  birthDate = '1980-04-02',
): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    id,
    meta: tag(tenant),
    identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: bsn }],
    name: [{ family, given: ['Eva'] }],
    gender: 'female',
    birthDate,
    address: [{ line: ['Dorpsstraat 1'], city: 'Delft', postalCode: '2611 AA' }],
  };
}

export function serviceRequest(tenant: string, id: string, patientId: string): Record<string, unknown> {
  return {
    resourceType: 'ServiceRequest',
    id,
    meta: tag(tenant),
    status: 'completed',
    intent: 'order',
    code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] },
    subject: { reference: `Patient/${patientId}` },
    authoredOn: '2024-05-01',
  };
}

export function observation(tenant: string, id: string, patientId: string, srId?: string): Record<string, unknown> {
  return {
    resourceType: 'Observation',
    id,
    meta: tag(tenant),
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] },
    subject: { reference: `Patient/${patientId}` },
    ...(srId ? { basedOn: [{ reference: `ServiceRequest/${srId}` }] } : {}),
    effectiveDateTime: '2024-05-02T10:00:00Z',
    valueQuantity: { value: 41, unit: 'mmol/mol' },
  };
}

export function testTenant(id: string): Tenant {
  return {
    id,
    name: `Tenant ${id}`,
    kind: 'hospital',
    jurisdiction: 'NL',
    labRole: 'processor',
    breachNoticeSlaHours: 24,
    contact: { name: 'Privacy Office', email: `privacy@${id}.example` },
    publicKeyJwk: null,
  };
}

export const ndjson = (rows: unknown[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/**
 * GET /fhir/metadata: what this server supports, for FHIR clients to discover. It says exactly
 * what the routes do — types, interactions, search parameters, Bulk Data — and that every call
 * needs a bearer token (SMART on FHIR scopes) and a purpose of use.
 */
const CLINICAL_SEARCH = [
  { name: 'patient', type: 'reference' },
  { name: 'subject', type: 'reference' },
  { name: 'date', type: 'date' },
  { name: 'status', type: 'token' },
  { name: 'code', type: 'token' },
];

export function capabilityStatement(base: string, version: string): Record<string, unknown> {
  const clinical = (type: string) => ({
    type,
    interaction: [{ code: 'read' }, { code: 'search-type' }, { code: 'create' }],
    searchInclude: [`${type}:subject`, `${type}:patient`],
    searchParam: CLINICAL_SEARCH,
  });
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-11-28',
    kind: 'instance',
    software: { name: 'labvault', version },
    implementation: { description: 'labvault FHIR R4 API', url: base },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        security: {
          cors: false,
          service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
          description:
            'Bearer JWT (labvault issuer or the configured OpenID provider) or X-API-Key; SMART v2 scopes; purpose of use in X-Purpose-Of-Use or the purpose_of_use claim (required).',
        },
        resource: [
          {
            type: 'Patient',
            interaction: [{ code: 'read' }, { code: 'search-type' }, { code: 'create' }],
            searchParam: [
              { name: 'identifier', type: 'token', documentation: 'BSN (http://fhir.nl/fhir/NamingSystem/bsn)' },
              { name: 'family', type: 'string', documentation: 'with birthdate' },
              { name: 'birthdate', type: 'date', documentation: 'with family' },
            ],
          },
          clinical('ServiceRequest'),
          clinical('Specimen'),
          clinical('Observation'),
          clinical('DiagnosticReport'),
        ],
        interaction: [{ code: 'transaction' }],
        operation: [{ name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' }],
      },
    ],
  };
}

/**
 * GET /openapi.json: the HTTP surface for integration engineers and API gateways. FHIR payloads
 * are described by reference to the FHIR R4 specification rather than re-modelled here.
 */
const fhir = { 'application/fhir+json': { schema: { type: 'object', description: 'FHIR R4 resource (http://hl7.org/fhir/R4)' } } };
const outcome = { description: 'OperationOutcome', content: fhir };
const secured = [{ bearer: [] }, { apiKey: [] }];
const purpose = {
  name: 'X-Purpose-Of-Use',
  in: 'header',
  required: false,
  schema: { type: 'string' },
  description: 'HL7 v3 PurposeOfUse; else the token claim',
};
const tenant = {
  name: 'X-Tenant',
  in: 'header',
  required: false,
  schema: { type: 'string' },
  description: 'tenant, for principals acting for several',
};
const typeParam = (types: string[]) => ({ name: 'type', in: 'path', required: true, schema: { type: 'string', enum: types } });
const CLINICAL = ['ServiceRequest', 'Specimen', 'Observation', 'DiagnosticReport'];
const ALL = ['Patient', ...CLINICAL];
const errors = { '400': outcome, '401': outcome, '403': outcome, '404': outcome, '413': outcome, '429': outcome };

export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: { title: 'labvault FHIR R4 API', version: '0.1.0' },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
    },
    paths: {
      '/healthz': { get: { summary: 'liveness', responses: { '200': { description: 'ok' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text exposition format' } } } },
      '/.well-known/jwks.json': {
        get: { summary: 'public key of labvault’s token issuer', responses: { '200': { description: 'JWKS' } } },
      },
      '/fhir/metadata': {
        get: { summary: 'CapabilityStatement', responses: { '200': { description: 'CapabilityStatement', content: fhir } } },
      },
      '/fhir/{type}/{id}': {
        get: {
          summary: 'read',
          security: secured,
          parameters: [typeParam(ALL), { name: 'id', in: 'path', required: true, schema: { type: 'string' } }, purpose, tenant],
          responses: { '200': { description: 'resource', content: fhir }, ...errors },
        },
      },
      '/fhir/{type}': {
        get: {
          summary: 'search (Bundle searchset)',
          security: secured,
          parameters: [typeParam(ALL), purpose, tenant],
          responses: { '200': { description: 'Bundle', content: fhir }, ...errors },
        },
        post: {
          summary: 'create',
          security: secured,
          parameters: [typeParam(ALL), purpose, tenant],
          requestBody: { content: fhir },
          responses: { '201': { description: 'created', content: fhir }, ...errors },
        },
      },
      '/fhir/{type}/_search': {
        post: {
          summary: 'search with a form body',
          security: secured,
          parameters: [typeParam(ALL), purpose, tenant],
          responses: { '200': { description: 'Bundle', content: fhir }, ...errors },
        },
      },
      '/fhir': {
        post: {
          summary: 'transaction Bundle (all or nothing)',
          security: secured,
          parameters: [purpose, tenant],
          requestBody: { content: fhir },
          responses: { '200': { description: 'transaction-response', content: fhir }, ...errors },
        },
      },
      '/fhir/$export': {
        get: {
          summary: 'Bulk Data kick-off (awaits a security officer’s approval)',
          security: secured,
          parameters: [purpose, tenant],
          responses: { '202': { description: 'accepted; Content-Location is the status URL' }, ...errors },
        },
      },
      '/fhir/$export-status/{id}': {
        get: {
          summary: 'Bulk Data status',
          security: secured,
          responses: { '200': { description: 'manifest' }, '202': { description: 'awaiting approval' }, ...errors },
        },
      },
      '/fhir/$export-file/{id}/{type}': {
        get: { summary: 'NDJSON output', security: secured, responses: { '200': { description: 'application/fhir+ndjson' }, ...errors } },
      },
      '/admin/exports/{id}/approve': {
        post: {
          summary: 'second-person approval (security officer)',
          security: secured,
          responses: { '200': { description: 'approved' }, ...errors },
        },
      },
      '/admin/break-glass': {
        post: {
          summary: 'open a time-boxed emergency grant (then purpose ETREAT)',
          security: secured,
          responses: { '201': { description: 'grant' }, ...errors },
        },
      },
      '/admin/containments': {
        get: {
          summary: 'containments made by detection (security officer, DPO, auditor)',
          security: secured,
          responses: { '200': { description: 'list' }, ...errors },
        },
      },
      '/admin/containments/{id}/release': {
        post: {
          summary: 'one security officer’s release with a reason (two different officers after a canary)',
          security: secured,
          responses: { '200': { description: 'approval recorded; state released when complete' }, ...errors },
        },
      },
    },
  };
}

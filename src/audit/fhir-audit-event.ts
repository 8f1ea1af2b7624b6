import type { AuditAction, AuditEvent, AuditOutcome } from '../domain/audit-event.js';
import { TENANT_TAG_SYSTEM } from '../domain/tenant.js';

/**
 * An audit event as a FHIR R4 AuditEvent, in the style of IHE Basic Audit Log Patterns (BALP):
 * RESTful reads and searches as type `rest` with the FHIR interaction as subtype, other operations
 * as DICOM application-activity events; the principal as the requesting agent (with its network
 * address), labvault as the source, each patient as a Patient-role entity, and the log position
 * and categories as a detail-bearing entity so a consumer can go back to the signed log.
 */
export type FhirAuditEvent = Record<string, unknown> & { resourceType: 'AuditEvent'; id: string };

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const REST = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const INTERACTION = 'http://hl7.org/fhir/restful-interaction';
export const LABVAULT_AUDIT_SYSTEM = 'https://labvault.dev/fhir/CodeSystem/audit-action';
export const AUDIT_SEQ_SYSTEM = 'https://labvault.dev/fhir/NamingSystem/audit-seq';

interface ActionMap {
  readonly type: { system: string; code: string; display: string };
  readonly subtype: { system: string; code: string; display: string } | null;
  /** FHIR AuditEvent.action: C create, R read, U update, D delete, E execute. */
  readonly action: 'C' | 'R' | 'U' | 'D' | 'E';
}

const rest = { system: REST, code: 'rest', display: 'RESTful Operation' };
const app = { system: DCM, code: '110100', display: 'Application Activity' };
const security = { system: DCM, code: '110113', display: 'Security Alert' };
const patientRecord = { system: DCM, code: '110110', display: 'Patient Record' };
const interaction = (code: string, display: string) => ({ system: INTERACTION, code, display });

const ACTIONS: Record<AuditAction, ActionMap> = {
  'patient.read': { type: rest, subtype: interaction('read', 'read'), action: 'R' },
  'resource.read': { type: rest, subtype: interaction('read', 'read'), action: 'R' },
  'patient.search': { type: rest, subtype: interaction('search-type', 'search type'), action: 'E' },
  'ingest.write': { type: patientRecord, subtype: interaction('create', 'create'), action: 'C' },
  'ingest.run': { type: app, subtype: null, action: 'E' },
  'patient.erase': { type: patientRecord, subtype: interaction('delete', 'delete'), action: 'D' },
  'keys.create': { type: security, subtype: null, action: 'C' },
  'keys.status': { type: security, subtype: null, action: 'R' },
  'keys.rotate': { type: security, subtype: null, action: 'U' },
  'keys.rewrap': { type: security, subtype: null, action: 'U' },
  'keys.destroy': { type: security, subtype: null, action: 'D' },
  'tenant.import': { type: app, subtype: null, action: 'U' },
  'audit.read': { type: app, subtype: null, action: 'R' },
  'audit.export': { type: app, subtype: null, action: 'E' },
  'resource.search': { type: rest, subtype: interaction('search-type', 'search type'), action: 'E' },
  'resource.create': { type: rest, subtype: interaction('create', 'create'), action: 'C' },
  'auth.fail': { type: security, subtype: null, action: 'E' },
  'access.denied': { type: security, subtype: null, action: 'E' },
  'principal.create': { type: security, subtype: null, action: 'C' },
  'principal.suspend': { type: security, subtype: null, action: 'U' },
  'principal.release': { type: security, subtype: null, action: 'U' },
  'principal.list': { type: security, subtype: null, action: 'R' },
  'apikey.create': { type: security, subtype: null, action: 'C' },
  'apikey.revoke': { type: security, subtype: null, action: 'D' },
  'token.issue': { type: security, subtype: null, action: 'C' },
  'token.revoke': { type: security, subtype: null, action: 'D' },
  'breakglass.open': { type: security, subtype: null, action: 'E' },
  'export.request': { type: rest, subtype: interaction('operation', 'operation'), action: 'E' },
  'export.approve': { type: security, subtype: null, action: 'U' },
  'export.status': { type: rest, subtype: interaction('operation', 'operation'), action: 'R' },
  'export.download': { type: rest, subtype: interaction('operation', 'operation'), action: 'R' },
  'detection.alert': { type: security, subtype: null, action: 'E' },
  'detection.contain': { type: security, subtype: null, action: 'E' },
  'incident.open': { type: security, subtype: null, action: 'C' },
  'incident.update': { type: security, subtype: null, action: 'U' },
  'incident.close': { type: security, subtype: null, action: 'U' },
  'containment.approve': { type: security, subtype: null, action: 'U' },
  'containment.release': { type: security, subtype: null, action: 'U' },
  'canary.plant': { type: security, subtype: null, action: 'C' },
  'leak.scan': { type: security, subtype: null, action: 'E' },
  // DICOM 110100 Application Activity: backups and restores are operations on the application's data.
  'backup.create': { type: app, subtype: null, action: 'C' },
  'backup.verify': { type: app, subtype: null, action: 'E' },
  'backup.restore': { type: app, subtype: null, action: 'U' },
};

/** AuditEvent.outcome: 0 success, 4 minor failure (refused), 8 serious failure (error). */
const OUTCOME: Record<AuditOutcome, string> = { allowed: '0', denied: '4', error: '8' };

export function toFhirAuditEvent(seq: number, e: AuditEvent): FhirAuditEvent {
  const map = ACTIONS[e.action];
  const subtype = [{ system: LABVAULT_AUDIT_SYSTEM, code: e.action }, ...(map.subtype ? [map.subtype] : [])];
  const detail = [
    { type: 'categories', valueString: e.categories.join(',') },
    { type: 'records', valueString: String(e.records) },
    { type: 'bytes', valueString: String(e.bytes) },
    ...Object.entries(e.detail).map(([k, v]) => ({ type: k, valueString: String(v) })),
  ];
  return {
    resourceType: 'AuditEvent',
    id: String(seq),
    ...(e.tenant ? { meta: { tag: [{ system: TENANT_TAG_SYSTEM, code: e.tenant }] } } : {}),
    type: map.type,
    subtype,
    action: map.action,
    recorded: e.time,
    outcome: OUTCOME[e.outcome],
    ...(e.reason ? { outcomeDesc: e.reason } : {}),
    ...(e.purpose
      ? { purposeOfEvent: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: e.purpose }] }] }
      : {}),
    agent: [
      {
        type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
        who: { identifier: { system: 'https://labvault.dev/fhir/NamingSystem/principal', value: e.principal.id } },
        role: [{ coding: [{ system: 'https://labvault.dev/fhir/CodeSystem/role', code: e.principal.role }] }],
        requestor: true,
        ...(e.origin.userAgent ? { name: e.origin.userAgent } : {}),
        ...(e.origin.ip ? { network: { address: e.origin.ip, type: '2' } } : {}), // 2 = IP address
      },
    ],
    source: {
      observer: { display: 'labvault' },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    entity: [
      ...e.patients.map((id) => ({
        what: { reference: `Patient/${id}` },
        type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1', display: 'Person' },
        role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
      })),
      {
        what: { identifier: { system: AUDIT_SEQ_SYSTEM, value: String(seq) } },
        type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
        ...(e.origin.requestId ? { name: e.origin.requestId } : {}),
        detail,
      },
    ],
  };
}

import { describe, expect, it } from 'vitest';
import { readEvent } from '../../test/support/audit-fixture.js';
import { AuditActions } from '../domain/audit-event.js';
import { toFhirAuditEvent } from './fhir-audit-event.js';

describe('toFhirAuditEvent (IHE BALP style)', () => {
  it('maps a patient read to a RESTful read with requestor, network address, Patient entity and purpose', () => {
    const fhir = toFhirAuditEvent(42, readEvent(1, { action: 'patient.read', patients: ['pat-1'], outcome: 'allowed' }));
    expect(fhir).toMatchObject({
      resourceType: 'AuditEvent',
      id: '42',
      meta: { tag: [{ code: 'screening' }] },
      type: { code: 'rest' },
      subtype: [{ code: 'patient.read' }, { system: 'http://hl7.org/fhir/restful-interaction', code: 'read' }],
      action: 'R',
      outcome: '0',
      purposeOfEvent: [{ coding: [{ code: 'TREAT' }] }],
      agent: [{ requestor: true, who: { identifier: { value: 'principal-1' } }, network: { address: '10.0.0.1', type: '2' } }],
      entity: [
        { what: { reference: 'Patient/pat-1' }, role: { code: '1' } },
        {
          what: { identifier: { value: '42' } },
          detail: [
            { type: 'categories', valueString: 'clinical-result' },
            { type: 'records', valueString: '1' },
            { type: 'bytes', valueString: '101' },
          ],
        },
      ],
    });
  });

  it('maps refusals and errors to failure outcomes with the reason, and every action to a type', () => {
    expect(toFhirAuditEvent(1, readEvent(1, { outcome: 'denied', reason: 'access-denied' }))).toMatchObject({
      outcome: '4',
      outcomeDesc: 'access-denied',
    });
    expect(toFhirAuditEvent(1, readEvent(1, { outcome: 'error', reason: 'not-found' }))).toMatchObject({ outcome: '8' });
    for (const action of AuditActions) {
      const fhir = toFhirAuditEvent(1, readEvent(1, { action }));
      expect(fhir.type).toHaveProperty('code');
      expect(['C', 'R', 'U', 'D', 'E']).toContain(fhir.action);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { InvalidInput } from './errors.js';
import { containsBsnLike, validateResource } from './validate-resource.js';

const tag = { tag: [{ system: 'https://labvault.dev/tenant', code: 'screening' }] };
const patient = (id: string) => ({
  resourceType: 'Patient',
  id,
  meta: tag,
  identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '123456782' }],
  name: [{ family: 'Jansen' }],
  birthDate: '1980-04-02',
});

const serviceRequest = (subject: string) => ({
  resourceType: 'ServiceRequest',
  id: 'sr-1',
  meta: tag,
  status: 'completed',
  intent: 'order',
  code: { coding: [{ code: 'x' }] },
  subject: { reference: `Patient/${subject}` },
});

describe('validateResource', () => {
  it('accepts a pseudonymous id and normalises the BSN for indexing', () => {
    const r = validateResource(patient('pat-3f9c-0a1b-7d2e-4c58'));
    expect(r.identity).toEqual({ bsn: '123456782', family: 'Jansen', birthDate: '1980-04-02' });
  });

  it.each(['123456782', 'P123456782', 'pat-12345672'])('refuses an id carrying a BSN (%s) without quoting it', (id) => {
    let err: unknown;
    try {
      validateResource(patient(id));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as Error).message).not.toContain(id);
  });

  it('takes ids of 1–64 letters, digits, "-" and "." only, in the resource and in its references', () => {
    for (const id of ['a', 'A.b-9', 'x'.repeat(64)]) expect(validateResource(patient(id)).id).toBe(id);
    for (const id of ['', 'x'.repeat(65), 'a b', 'a_b', 'é', 'a/b', 'a\u0000', 'a\n']) {
      expect(() => validateResource(patient(id)), JSON.stringify(id)).toThrow(/not a valid FHIR id/);
    }
    expect(validateResource(serviceRequest('p.1-A')).patientId).toBe('p.1-A');
    for (const id of ['', 'p 1', 'p_1', 'x'.repeat(65)]) {
      expect(() => validateResource(serviceRequest(id)), JSON.stringify(id)).toThrow(InvalidInput);
    }
  });

  it('refuses a reference whose id carries a BSN', () => {
    expect(() => validateResource(serviceRequest('111222333'))).toThrow(/looks like a BSN/);
  });

  it('does not flag digit runs that fail the 11-proof or have another length', () => {
    expect(containsBsnLike('order-123456789')).toBe(false);
    // separated BSNs (111222333 passes the 11-proof)
    for (const id of ['111.222.333', 'p-111-222-333', '111 222 333', '1112.22.333']) expect(containsBsnLike(id), id).toBe(true);
    for (const id of ['111.222.334', 'pat-1112-2233-3abc-0000', '11.122.2333']) expect(containsBsnLike(id), id).toBe(false);
    expect(containsBsnLike('acc-1234567890123')).toBe(false);
    expect(containsBsnLike('pat-3f9c-0a1b-7d2e-4c58')).toBe(false);
  });

  it('refuses an impossible birth date', () => {
    expect(() => validateResource({ ...patient('p1'), birthDate: '1980-02-30' })).toThrow(/birthDate/);
  });
});

describe('identity stays in the Patient', () => {
  const obs = (over: Record<string, unknown>) => ({
    resourceType: 'Observation',
    id: 'obs-1',
    meta: tag,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] },
    subject: { reference: 'Patient/pat-1' },
    ...over,
  });

  it('accepts a bare Patient reference', () => {
    expect(validateResource(obs({})).patientId).toBe('pat-1');
  });

  it.each([
    ['a display name', { subject: { reference: 'Patient/pat-1', display: 'Eva Jansen' } }],
    ['an identifier', { subject: { reference: 'Patient/pat-1', identifier: { value: '123456782' } } }],
    ['a contained Patient', { contained: [{ resourceType: 'Patient', id: 'p', name: [{ family: 'Jansen' }] }] }],
  ])('refuses a clinical record carrying %s, without quoting it', (_what, over) => {
    let err: unknown;
    try {
      validateResource(obs(over));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as Error).message).not.toMatch(/Jansen|123456782/);
  });
});

describe('reasons name where the input is wrong', () => {
  const base = { meta: tag, status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] } };
  const obs = (over: Record<string, unknown>) => ({
    resourceType: 'Observation',
    id: 'obs-1',
    subject: { reference: 'Patient/pat-1' },
    ...base,
    ...over,
  });
  const report = (over: Record<string, unknown>) => ({
    resourceType: 'DiagnosticReport',
    id: 'dr-1',
    subject: { reference: 'Patient/pat-1' },
    ...base,
    ...over,
  });

  it.each([
    [
      'a reference with two slashes',
      obs({ subject: { reference: 'Patient/a/b' } }),
      'Observation.subject must be a relative reference to a Patient (Patient/id)',
    ],
    [
      'a reference without an id',
      obs({ subject: { reference: 'Patient' } }),
      'Observation.subject must be a relative reference to a Patient (Patient/id)',
    ],
    [
      'a reference with an empty id',
      obs({ subject: { reference: 'Patient/' } }),
      'Observation.subject must be a relative reference to a Patient (Patient/id)',
    ],
    [
      'a reference of another type',
      obs({ subject: { reference: 'Group/g1' } }),
      'Observation.subject must be a relative reference to a Patient (Patient/id)',
    ],
    ['no reference at all', obs({ subject: 'Patient/pat-1' }), 'Observation.subject must be a reference'],
    ['basedOn that is not an array', obs({ basedOn: { reference: 'ServiceRequest/sr-1' } }), 'Observation.basedOn must be an array'],
    [
      'the third result of a report',
      report({ result: [{ reference: 'Observation/o1' }, { reference: 'Observation/o2' }, { reference: 'Specimen/s1' }] }),
      'DiagnosticReport.result[2] must be a relative reference to a Observation (Observation/id)',
    ],
    [
      'a specimen list item without a reference',
      report({ specimen: [{ display: 'x' }] }),
      'DiagnosticReport.specimen[0] must be a reference',
    ],
    ['a missing status', obs({ status: undefined }), 'Observation.status is required'],
    ['a code without coding', obs({ code: { text: 'hrHPV' } }), 'Observation.code.coding[0].code is required'],
    [
      'two tenant tags',
      obs({ meta: { tag: [...tag.tag, ...tag.tag] } }),
      'Observation.meta.tag must carry exactly one tenant tag (https://labvault.dev/tenant)',
    ],
  ])('%s', (_what, input, reason) => {
    expect(() => validateResource(input)).toThrow(new InvalidInput(reason));
  });

  it('checks the specimen of an Observation before its basedOn, as before', () => {
    const input = obs({ basedOn: [{ reference: 'Specimen/x' }], specimen: { reference: 'ServiceRequest/y' } });
    expect(() => validateResource(input)).toThrow(
      new InvalidInput('Observation.specimen must be a relative reference to a Specimen (Specimen/id)'),
    );
  });
});

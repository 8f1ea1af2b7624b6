import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../domain/errors.js';
import { common, dateRange, id, patientRef, rejectUnknown, single, token, type Query } from './search-params.js';

/** A query object as fastify's parser builds it (null prototype, repeated keys as arrays). */
const q = (o: Query): Query => Object.assign(Object.create(null) as Query, o);

describe('dateRange', () => {
  it('no date: no bounds', () => {
    expect(dateRange(q({}))).toEqual({});
  });

  it('eq (and no prefix) bounds both ends to the day', () => {
    expect(dateRange(q({ date: '2024-05-02' }))).toEqual({ dateFrom: '2024-05-02', dateTo: '2024-05-02' });
    expect(dateRange(q({ date: 'eq2024-05-02' }))).toEqual({ dateFrom: '2024-05-02', dateTo: '2024-05-02' });
  });

  it('ge/le are inclusive, gt/lt exclusive (shifted by a day, across month, year and leap day)', () => {
    expect(dateRange(q({ date: 'ge2024-05-02' }))).toEqual({ dateFrom: '2024-05-02' });
    expect(dateRange(q({ date: 'le2024-05-02' }))).toEqual({ dateTo: '2024-05-02' });
    expect(dateRange(q({ date: 'gt2024-05-02' }))).toEqual({ dateFrom: '2024-05-03' });
    expect(dateRange(q({ date: 'lt2024-05-02' }))).toEqual({ dateTo: '2024-05-01' });
    expect(dateRange(q({ date: 'gt2024-02-28' }))).toEqual({ dateFrom: '2024-02-29' });
    expect(dateRange(q({ date: 'gt2023-02-28' }))).toEqual({ dateFrom: '2023-03-01' });
    expect(dateRange(q({ date: 'lt2024-03-01' }))).toEqual({ dateTo: '2024-02-29' });
    expect(dateRange(q({ date: 'gt2023-12-31' }))).toEqual({ dateFrom: '2024-01-01' });
    expect(dateRange(q({ date: 'lt2024-01-01' }))).toEqual({ dateTo: '2023-12-31' });
  });

  it('two bounds combine; the tighter one wins', () => {
    expect(dateRange(q({ date: ['ge2024-01-01', 'le2024-12-31'] }))).toEqual({ dateFrom: '2024-01-01', dateTo: '2024-12-31' });
    expect(dateRange(q({ date: ['ge2024-01-01', 'gt2024-03-01'] }))).toEqual({ dateFrom: '2024-03-02' });
    expect(dateRange(q({ date: ['gt2024-03-01', 'ge2024-01-01'] }))).toEqual({ dateFrom: '2024-03-02' });
    expect(dateRange(q({ date: ['le2024-12-31', 'lt2024-06-01'] }))).toEqual({ dateTo: '2024-05-31' });
    expect(dateRange(q({ date: ['eq2024-05-02', 'ge2024-01-01'] }))).toEqual({ dateFrom: '2024-05-02', dateTo: '2024-05-02' });
    // Contradictory bounds are a valid (empty) range, not an error.
    expect(dateRange(q({ date: ['ge2024-06-01', 'le2024-01-01'] }))).toEqual({ dateFrom: '2024-06-01', dateTo: '2024-01-01' });
  });

  it('refuses more than two bounds', () => {
    expect(() => dateRange(q({ date: ['ge2024-01-01', 'le2024-12-31', 'eq2024-05-02'] }))).toThrow(InvalidInput);
  });

  it('refuses other prefixes, other shapes and impossible days', () => {
    for (const v of [
      '',
      'ne2024-05-02',
      'sa2024-05-02',
      'eb2024-05-02',
      'ap2024-05-02',
      'GE2024-05-02',
      'ge 2024-05-02',
      '2024-5-2',
      '2024-05',
      '2024',
      '2024-05-02T10:00:00Z',
      '2024-05-02 ',
      '02-05-2024',
      '2024-13-01',
      '2024-00-10',
      '2024-05-00',
      '2024-05-32',
      '2024-02-30',
      '2023-02-29',
      '2024-04-31',
      "2024-05-02' OR 1=1 --",
      '2024-05-02\u0000',
    ]) {
      expect(() => dateRange(q({ date: v })), JSON.stringify(v)).toThrow(InvalidInput);
    }
    expect(dateRange(q({ date: '2024-02-29' }))).toEqual({ dateFrom: '2024-02-29', dateTo: '2024-02-29' });
  });
});

describe('common: _count, _after, _include, _format', () => {
  it('_count defaults to 20 and is capped at the maximum, however large', () => {
    expect(common(q({}), 100, []).count).toBe(20);
    expect(common(q({}), 10, []).count).toBe(10);
    expect(common(q({ _count: '7' }), 100, []).count).toBe(7);
    expect(common(q({ _count: '0' }), 100, []).count).toBe(0);
    expect(common(q({ _count: '100' }), 100, []).count).toBe(100);
    expect(common(q({ _count: '101' }), 100, []).count).toBe(100);
    expect(common(q({ _count: '999999999' }), 100, []).count).toBe(100);
    expect(common(q({ _count: '99999999999999999999' }), 100, []).count).toBe(100);
    expect(common(q({ _count: '9'.repeat(400) }), 100, []).count).toBe(100);
    expect(common(q({ _count: '007' }), 100, []).count).toBe(7);
  });

  it('refuses a negative, fractional, signed, spaced or non-numeric _count', () => {
    for (const v of ['-1', '-0', '+1', '1.5', '1e3', '0x10', ' 5', '5 ', '', 'abc', 'NaN', 'Infinity', '١٢', '5;']) {
      expect(() => common(q({ _count: v }), 100, []), JSON.stringify(v)).toThrow(InvalidInput);
    }
    expect(() => common(q({ _count: ['1', '2'] }), 100, [])).toThrow(/more than once/);
  });

  it('_after must be a resource id', () => {
    expect(common(q({ _after: 'obs-0001.a' }), 100, []).after).toBe('obs-0001.a');
    expect(common(q({}), 100, []).after).toBeUndefined();
    for (const v of ['', "x' OR 1=1", 'a/b', 'a'.repeat(65), 'a b']) {
      expect(() => common(q({ _after: v }), 100, []), v).toThrow(InvalidInput);
    }
  });

  it('_include only for the listed targets', () => {
    const targets = ['Observation:subject', 'Observation:patient'];
    expect(common(q({ _include: 'Observation:subject' }), 100, targets).include).toBe(true);
    expect(common(q({}), 100, targets).include).toBe(false);
    expect(() => common(q({ _include: 'Observation:*' }), 100, targets)).toThrow(InvalidInput);
    expect(() => common(q({ _include: 'Observation:subject' }), 100, [])).toThrow(/none/);
  });

  it('_format: JSON only', () => {
    for (const v of ['json', 'application/json', 'application/fhir+json']) expect(() => common(q({ _format: v }), 100, [])).not.toThrow();
    for (const v of ['xml', 'application/fhir+xml', 'ttl', '']) expect(() => common(q({ _format: v }), 100, [])).toThrow(InvalidInput);
  });
});

describe('rejectUnknown and single', () => {
  it('accepts the allowed and the common parameters', () => {
    expect(() =>
      rejectUnknown(q({ status: 'final', _count: '5', _after: 'x', _format: 'json', _include: 'x', _total: 'none' }), ['status']),
    ).not.toThrow();
  });

  it('refuses any other parameter, prototype names included', () => {
    for (const k of [
      'foo',
      '_sort',
      '_elements',
      '_summary',
      'code:missing',
      'status:not',
      '__proto__',
      'constructor',
      'toString',
      'STATUS',
    ]) {
      expect(() => rejectUnknown(q({ [k]: 'x' }), ['status', 'code']), k).toThrow(InvalidInput);
    }
  });

  it('names the refused parameter only clipped and sanitised', () => {
    let message = '';
    try {
      rejectUnknown(q({ [`<script>alert(1)</script>${'x'.repeat(100)}`]: 'v' }), []);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^unsupported search parameter: /);
    expect(message).not.toMatch(/[<>()]/);
    expect(message.length).toBeLessThanOrEqual('unsupported search parameter: '.length + 40);
  });

  it('single refuses a repeated parameter', () => {
    expect(single(q({ a: 'x' }), 'a')).toBe('x');
    expect(single(q({}), 'a')).toBeUndefined();
    expect(() => single(q({ a: ['x', 'y'] }), 'a')).toThrow(/more than once/);
  });
});

describe('id, patientRef, token', () => {
  it('id: FHIR id syntax, 1–64 characters', () => {
    expect(id('pat-1.a', 'id')).toBe('pat-1.a');
    expect(id('a'.repeat(64), 'id')).toBe('a'.repeat(64));
    for (const v of ['', 'a'.repeat(65), '../etc/passwd', 'a/b', 'a b', 'a\u0000', "a'--", 'a_b', 'ä']) {
      expect(() => id(v, 'id'), JSON.stringify(v)).toThrow(InvalidInput);
    }
  });

  it('patientRef: Patient/<id> or a bare id, nothing else', () => {
    expect(patientRef('Patient/pat-1')).toBe('pat-1');
    expect(patientRef('pat-1')).toBe('pat-1');
    for (const v of ['Observation/obs-1', 'Patient/', 'Patient/a/b', 'http://x/Patient/pat-1', 'Patient/Patient/pat-1', '']) {
      expect(() => patientRef(v), v).toThrow(InvalidInput);
    }
  });

  it('token: system|code or code, printable ASCII, up to 128 characters', () => {
    expect(token('http://loinc.org|4548-4', 'code')).toBe('4548-4');
    expect(token('4548-4', 'code')).toBe('4548-4');
    expect(token('|4548-4', 'code')).toBe('4548-4');
    expect(token('a|b|c', 'code')).toBe('c');
    expect(token('x'.repeat(128), 'code')).toBe('x'.repeat(128));
    for (const v of ['', 'http://loinc.org|', 'x'.repeat(129), 'a b', "' OR 1=1 --", 'a\u0000', 'é', 'a\tb']) {
      expect(() => token(v, 'code'), JSON.stringify(v)).toThrow(InvalidInput);
    }
  });
});

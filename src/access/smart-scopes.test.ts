import { describe, expect, it } from 'vitest';
import { parseScope, parseScopes, scopesAllow, type Interaction } from './smart-scopes.js';

const ops = (s: string): Interaction[] => [...(parseScope(s)?.ops ?? [])].sort();

describe('SMART scopes', () => {
  it('parses v2 scopes: context, type and the interaction letters', () => {
    expect(parseScope('system/DiagnosticReport.rs')).toMatchObject({ context: 'system', type: 'DiagnosticReport' });
    expect(ops('system/DiagnosticReport.rs')).toEqual(['r', 's']);
    expect(ops('user/*.cruds')).toEqual(['c', 'd', 'r', 's', 'u']);
    expect(ops('user/Observation.c')).toEqual(['c']);
    expect(parseScope('patient/Observation.rs')).toMatchObject({ context: 'patient', type: 'Observation' });
    expect(parseScope('user/*.r')).toMatchObject({ context: 'user', type: '*' });
  });

  it('reads the v1 forms as their v2 equivalents', () => {
    expect(ops('system/Patient.read')).toEqual(['r', 's']);
    expect(ops('system/Patient.write')).toEqual(['c', 'd', 'u']);
    expect(ops('user/*.*')).toEqual(['c', 'd', 'r', 's', 'u']);
  });

  it('returns null for anything that is not a resource scope', () => {
    for (const s of [
      'openid',
      'fhirUser',
      'launch',
      'launch/patient',
      'offline_access',
      '',
      'system/Patient.',
      'system/Patient',
      'system/Patient.x',
      'system/Patient.sr', // letters out of order
      'system/Patient.rr',
      'system/Patient.READ',
      'system/Patient.readwrite',
      'admin/Patient.rs',
      'System/Patient.rs',
      'system/Pat1ent.rs',
      'system/Patient/x.rs',
      'system/**.rs',
      ' system/Patient.rs',
      'system/Patient.rs ',
      'system/Patient.rs\n',
      'system/Patient.rs;system/*.cruds',
      '__proto__',
      'system/__proto__.rs',
    ]) {
      expect(parseScope(s), JSON.stringify(s)).toBeNull();
    }
  });

  it('refuses scopes with search-parameter restrictions (fail closed: no grant at all)', () => {
    expect(parseScope('system/Observation.rs?category=laboratory')).toBeNull();
    expect(parseScope('user/Observation.rs?')).toBeNull();
    expect(parseScopes('system/Observation.rs?category=laboratory')).toEqual([]);
  });

  it('parses a space-separated claim or an array, dropping what is not a resource scope', () => {
    const s = parseScopes('openid  fhirUser system/Observation.rs\tsystem/Specimen.read\nlaunch');
    expect(s.map((x) => `${x.context}/${x.type}`)).toEqual(['system/Observation', 'system/Specimen']);
    expect(parseScopes(['system/Patient.r', 'nonsense', 'user/*.s']).map((x) => x.type)).toEqual(['Patient', '*']);
    expect(parseScopes('')).toEqual([]);
    expect(parseScopes([])).toEqual([]);
  });

  it('scopesAllow: the type (or *) and the letter must both match; patient context is not honoured', () => {
    const s = parseScopes('system/Observation.rs user/Specimen.c');
    expect(scopesAllow(s, 'Observation', 'r')).toBe(true);
    expect(scopesAllow(s, 'Observation', 's')).toBe(true);
    expect(scopesAllow(s, 'Observation', 'c')).toBe(false);
    expect(scopesAllow(s, 'Specimen', 'c')).toBe(true);
    expect(scopesAllow(s, 'Specimen', 'r')).toBe(false);
    expect(scopesAllow(s, 'Patient', 'r')).toBe(false);
    expect(scopesAllow(parseScopes('system/*.rs'), 'Patient', 'r')).toBe(true);
    expect(scopesAllow(parseScopes('system/*.rs'), 'Patient', 'c')).toBe(false);
    expect(scopesAllow(parseScopes('patient/*.cruds'), 'Patient', 'r')).toBe(false);
    expect(scopesAllow(parseScopes('patient/Observation.rs'), 'Observation', 'r')).toBe(false);
    expect(scopesAllow([], 'Observation', 'r')).toBe(false);
  });

  it('a type name match is exact (no prefix or case folding)', () => {
    const s = parseScopes('system/Observation.rs');
    expect(scopesAllow(s, 'observation', 'r')).toBe(false);
    expect(scopesAllow(s, 'ObservationDefinition', 'r')).toBe(false);
    expect(scopesAllow(parseScopes('system/Obs.rs'), 'Observation', 'r')).toBe(false);
  });
});

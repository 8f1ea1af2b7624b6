import { describe, expect, it } from 'vitest';
import { AccessDenied, NotFound } from '../domain/errors.js';
import type { Role } from '../domain/principal.js';
import type { FhirResource } from '../domain/resource-view.js';
import type { BreakGlassGrant } from '../ports/access-store.js';
import { checkAdmin, checkInteraction, checkPurpose, decide, type Caller } from './policy.js';
import { defaultScopes, PURPOSES, ROLE_RIGHTS } from './role-policy.js';
import { parseScopes } from './smart-scopes.js';

/** A caller with its role's default scopes on both sides unless told otherwise. */
function caller(role: Role, tenants: string[], purpose: string | null, over: Partial<Omit<Caller, 'principal'>> = {}): Caller {
  const scopes = parseScopes(defaultScopes(role));
  return { principal: { id: `p-${role}`, role, tenants }, tokenScopes: scopes, grantedScopes: scopes, purpose, ...over };
}

function grant(principalId: string, tenantId: string): BreakGlassGrant {
  return { id: 'bg-1', principalId, tenantId, createdAt: '2026-01-01T10:00:00.000Z', expiresAt: '2026-01-01T10:30:00.000Z' };
}

const PATIENT: FhirResource = {
  resourceType: 'Patient',
  id: 'pat-1',
  meta: { tag: [{ system: 'https://labvault.dev/tenant', code: 'screening' }] },
  identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '123456782' }],
  name: [{ family: 'Jansen', given: ['Eva'] }],
  gender: 'female',
  birthDate: '1980-04-02',
  address: [{ city: 'Delft' }],
  telecom: [{ system: 'phone', value: '+31 6 12345678' }],
};

describe('checkPurpose', () => {
  it('requires a purpose of use', () => {
    expect(() => checkPurpose(caller('pathologist', ['screening'], null))).toThrow(AccessDenied);
    expect(() => checkPurpose(caller('pathologist', ['screening'], null))).toThrow(/purpose of use required/);
  });

  it('refuses unknown purposes, and known ones the role may not act under', () => {
    for (const p of ['', 'treat', 'INVALID', 'FOO', 'TREAT ', '__proto__', 'constructor'])
      expect(() => checkPurpose(caller('pathologist', ['screening'], p)), p).toThrow(AccessDenied);
    expect(() => checkPurpose(caller('controller-system', ['screening'], 'ETREAT'))).toThrow(/not permitted for this role/);
    expect(() => checkPurpose(caller('admin', ['*'], 'TREAT'))).toThrow(/not permitted for this role/);
    expect(() => checkPurpose(caller('support', ['*'], 'TREAT'))).toThrow(/not permitted for this role/);
  });

  it('returns each purpose the role lists, and refuses every other known purpose', () => {
    for (const role of Object.keys(ROLE_RIGHTS) as Role[]) {
      for (const p of PURPOSES) {
        const c = caller(role, ['screening'], p);
        if (ROLE_RIGHTS[role].purposes.includes(p)) expect(checkPurpose(c)).toBe(p);
        else expect(() => checkPurpose(c), `${role} ${p}`).toThrow(AccessDenied);
      }
    }
  });
});

describe('checkInteraction', () => {
  it('allows what the role and both scope sets allow', () => {
    expect(() => checkInteraction(caller('pathologist', ['screening'], 'TREAT'), 'DiagnosticReport', 'c')).not.toThrow();
    expect(() => checkInteraction(caller('lab-technician', ['screening'], 'TREAT'), 'Observation', 'c')).not.toThrow();
    expect(() => checkInteraction(caller('controller-system', ['screening'], 'PUBHLTH'), 'Patient', 's')).not.toThrow();
  });

  it('refuses what the role does not list, whatever the scopes say', () => {
    const all = parseScopes('system/*.cruds user/*.cruds');
    const over = { tokenScopes: all, grantedScopes: all };
    expect(() => checkInteraction(caller('lab-technician', ['*'], 'TREAT', over), 'DiagnosticReport', 'c')).toThrow(AccessDenied);
    expect(() => checkInteraction(caller('lab-technician', ['*'], 'TREAT', over), 'Patient', 'c')).toThrow(AccessDenied);
    expect(() => checkInteraction(caller('support', ['*'], 'HOPERAT', over), 'Observation', 'r')).toThrow(AccessDenied);
    expect(() => checkInteraction(caller('support', ['*'], 'HOPERAT', over), 'Patient', 's')).toThrow(AccessDenied);
    expect(() => checkInteraction(caller('security-officer', ['*'], 'HCOMPL', over), 'Patient', 'r')).toThrow(AccessDenied);
    expect(() => checkInteraction(caller('controller-system', ['*'], 'TREAT', over), 'Observation', 'u')).toThrow(AccessDenied);
    expect(() => checkInteraction(caller('controller-system', ['*'], 'TREAT', over), 'Observation', 'd')).toThrow(AccessDenied);
  });

  it('refuses when either the token scopes or the granted scopes lack the interaction', () => {
    const narrow = parseScopes('system/Observation.rs');
    const c = caller('controller-system', ['screening'], 'TREAT');
    expect(() => checkInteraction({ ...c, tokenScopes: narrow }, 'Observation', 'r')).not.toThrow();
    expect(() => checkInteraction({ ...c, tokenScopes: narrow }, 'Observation', 'c')).toThrow(/scope/);
    expect(() => checkInteraction({ ...c, grantedScopes: narrow }, 'Observation', 'c')).toThrow(/scope/);
    expect(() => checkInteraction({ ...c, tokenScopes: narrow }, 'Patient', 'r')).toThrow(/scope/);
    expect(() => checkInteraction({ ...c, tokenScopes: [] }, 'Observation', 'r')).toThrow(AccessDenied);
    expect(() => checkInteraction({ ...c, grantedScopes: [] }, 'Observation', 'r')).toThrow(AccessDenied);
    // patient/ scopes are not honoured (no patient launch context).
    const patientCtx = parseScopes('patient/*.cruds');
    expect(() => checkInteraction({ ...c, tokenScopes: patientCtx, grantedScopes: patientCtx }, 'Observation', 'r')).toThrow(AccessDenied);
  });

  it('checks the purpose first', () => {
    expect(() => checkInteraction(caller('pathologist', ['screening'], null), 'Observation', 'r')).toThrow(/purpose/);
  });
});

describe('decide', () => {
  it("answers with the role's Patient view for its own tenants, no break-glass", () => {
    const full = decide(caller('pathologist', ['screening'], 'TREAT'), 'Patient', 'r', 'screening', null);
    expect(full).toMatchObject({ view: { name: 'full' }, breakGlass: null });
    expect(full.view.project(PATIENT).resource).toEqual(PATIENT);

    const masked = decide(caller('lab-technician', ['screening'], 'TREAT'), 'Patient', 'r', 'screening', null);
    expect(masked.view.name).toBe('masked');
    const m = masked.view.project(PATIENT).resource;
    expect(JSON.stringify(m)).not.toContain('123456782');
    expect(m).not.toHaveProperty('address');
    expect(m).not.toHaveProperty('telecom');
    expect(m).toMatchObject({ identifier: [{ value: '*******82' }], birthDate: '1980-04-02' });

    const none = decide(caller('support', ['screening'], 'HOPERAT'), 'Patient', 'r', 'screening', null);
    expect(none.view.name).toBe('none');
    expect(Object.keys(none.view.project(PATIENT).resource).sort()).toEqual(['id', 'meta', 'resourceType']);
  });

  it('a tenant the principal does not act for is NotFound (never "forbidden"), whatever the role', () => {
    for (const [role, purpose] of [
      ['pathologist', 'TREAT'],
      ['lab-technician', 'TREAT'],
      ['controller-system', 'PUBHLTH'],
      ['support', 'HOPERAT'],
    ] as const) {
      const c = caller(role, ['screening'], purpose);
      expect(() => decide(c, 'Patient', 'r', 'hospital-west', null), role).toThrow(NotFound);
    }
    expect(() => decide(caller('pathologist', [], 'TREAT'), 'Observation', 'r', 'screening', null)).toThrow(NotFound);
    // Tenant ids are matched exactly.
    expect(() => decide(caller('pathologist', ['screening'], 'TREAT'), 'Observation', 'r', 'Screening', null)).toThrow(NotFound);
    expect(() => decide(caller('pathologist', ['screening'], 'TREAT'), 'Observation', 'r', 'screening ', null)).toThrow(NotFound);
  });

  it('`*` acts for every tenant', () => {
    expect(decide(caller('pathologist', ['*'], 'TREAT'), 'Observation', 'r', 'hospital-west', null).breakGlass).toBeNull();
  });

  it('role and scope refusals come before the tenant check (403 for every tenant, own or not)', () => {
    expect(() => decide(caller('support', ['screening'], 'HOPERAT'), 'Observation', 'r', 'hospital-west', null)).toThrow(AccessDenied);
    expect(() => decide(caller('support', ['screening'], 'HOPERAT'), 'Observation', 'r', 'screening', null)).toThrow(AccessDenied);
  });

  it('a grant is ignored unless the purpose is ETREAT', () => {
    const c = caller('lab-technician', ['hospital-west'], 'TREAT');
    expect(() => decide(c, 'Patient', 'r', 'screening', grant(c.principal.id, 'screening'))).toThrow(NotFound);
    const own = decide(c, 'Patient', 'r', 'hospital-west', grant(c.principal.id, 'hospital-west'));
    expect(own).toMatchObject({ view: { name: 'masked' }, breakGlass: null });
  });

  describe('break-glass (ETREAT)', () => {
    const tech = (): Caller => caller('lab-technician', ['hospital-west'], 'ETREAT');

    it('without a grant: the own tenant is refused (403), another tenant does not exist (404)', () => {
      expect(() => decide(tech(), 'Patient', 'r', 'hospital-west', null)).toThrow(AccessDenied);
      expect(() => decide(tech(), 'Patient', 'r', 'hospital-west', null)).toThrow(/break-glass is not open/);
      expect(() => decide(tech(), 'Patient', 'r', 'screening', null)).toThrow(NotFound);
    });

    it("needs a grant for that tenant and that principal: another tenant's or principal's grant does not count", () => {
      const c = tech();
      expect(() => decide(c, 'Patient', 'r', 'screening', grant(c.principal.id, 'hospital-east'))).toThrow(NotFound);
      expect(() => decide(c, 'Patient', 'r', 'screening', grant('p-someone-else', 'screening'))).toThrow(NotFound);
      expect(() => decide(c, 'Patient', 'r', 'hospital-west', grant('p-someone-else', 'hospital-west'))).toThrow(AccessDenied);
      expect(() => decide(c, 'Patient', 'r', 'hospital-west', grant(c.principal.id, 'screening'))).toThrow(AccessDenied);
    });

    it('a grant for one of its tenants gives the full view (masking lifted) there only', () => {
      const c = tech();
      const g = grant(c.principal.id, 'hospital-west');
      const a = decide(c, 'Patient', 'r', 'hospital-west', g);
      expect(a.breakGlass).toBe(g);
      expect(a.view.name).toBe('full');
      expect(a.view.project(PATIENT).resource).toEqual(PATIENT);
      // Never the tenant boundary: a grant (even a forged one) for another tenant reaches nothing.
      expect(() => decide(c, 'Patient', 'r', 'screening', grant(c.principal.id, 'screening'))).toThrow(NotFound);
      expect(() => decide(c, 'Patient', 'r', 'hospital-east', g)).toThrow(NotFound);
    });

    it('a grant lifts neither the role table nor the scopes', () => {
      const c = tech();
      const g = grant(c.principal.id, 'screening');
      expect(() => decide(c, 'Patient', 'c', 'screening', g)).toThrow(AccessDenied);
      expect(() => decide(c, 'DiagnosticReport', 'c', 'screening', g)).toThrow(AccessDenied);
      const narrow = { ...c, tokenScopes: parseScopes('user/Observation.rs') };
      expect(() => decide(narrow, 'Patient', 'r', 'screening', g)).toThrow(/scope/);
    });

    it('roles that may not act under ETREAT are refused even with a grant', () => {
      for (const role of ['controller-system', 'support', 'admin', 'security-officer', 'dpo', 'auditor'] as const) {
        const c = caller(role, ['*'], 'ETREAT');
        expect(() => decide(c, 'Patient', 'r', 'screening', grant(c.principal.id, 'screening')), role).toThrow(AccessDenied);
      }
    });
  });
});

describe('checkAdmin', () => {
  it('allows the rights the role lists, under a purpose it may use', () => {
    expect(() => checkAdmin(caller('security-officer', ['*'], 'HCOMPL'), 'export.approve')).not.toThrow();
    expect(() => checkAdmin(caller('controller-system', ['screening'], 'PUBHLTH'), 'export.request')).not.toThrow();
    expect(() => checkAdmin(caller('lab-technician', ['screening'], 'TREAT'), 'break-glass')).not.toThrow();
  });

  it('refuses the others, and any without a purpose', () => {
    expect(() => checkAdmin(caller('controller-system', ['screening'], 'PUBHLTH'), 'export.approve')).toThrow(AccessDenied);
    expect(() => checkAdmin(caller('security-officer', ['*'], 'HCOMPL'), 'export.request')).toThrow(AccessDenied);
    expect(() => checkAdmin(caller('controller-system', ['screening'], 'PUBHLTH'), 'break-glass')).toThrow(AccessDenied);
    expect(() => checkAdmin(caller('admin', ['*'], 'HSYSADMIN'), 'export.approve')).toThrow(AccessDenied);
    expect(() => checkAdmin(caller('security-officer', ['*'], null), 'export.approve')).toThrow(/purpose/);
  });
});

import { describe, expect, it } from 'vitest';
import { fieldRole, Role, RoleCache } from './field-role.js';

describe('field roles', () => {
  it.each([
    ['BSN', Role.Bsn],
    ['burgerservicenummer', Role.Bsn],
    ['patient_bsn', Role.Bsn],
    ['Geboortedatum', Role.Birth],
    ['birthDate', Role.Birth],
    ['date_of_birth', Role.Birth],
    ['achternaam', Role.Family],
    ['family', Role.Family],
    ['tussenvoegsel', Role.Family],
    ['voornaam', Role.Given],
    ['given', Role.Given],
    ['geboortenaam', Role.FullName],
    ['naam', Role.FullName],
    ['patientName', Role.FullName],
    ['straatnaam', Role.Other],
    ['username', Role.Other],
    ['afnamedatum', Role.Other],
    ['opname_datum', Role.Other],
    ['fullName', Role.FullName],
    ['patient_naam', Role.FullName],
    ['', Role.None],
  ])('%s', (name, role) => expect(fieldRole(name)).toBe(role));

  it('looks names up by their bytes', () => {
    const cache = new RoleCache();
    const b = Buffer.from('"bsn":"achternaam":"bsm"');
    expect(cache.roleOf(b, 1, 4)).toBe(Role.Bsn);
    expect(cache.roleOf(b, 7, 17)).toBe(Role.Family);
    expect(cache.roleOf(b, 20, 23)).toBe(Role.Other);
    expect(cache.roleOf(b, 1, 4)).toBe(Role.Bsn);
  });
});

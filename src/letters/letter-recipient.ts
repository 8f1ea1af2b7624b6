import type { FhirResource } from '../domain/resource-view.js';

/**
 * Who a letter goes to, from the FHIR Patient: the postal address block (Dutch style: "Mevrouw
 * J.M. de Vries", street, "1234 AB  UTRECHT"), the name for the salutation, and the sort key a
 * print house wants (postcode). Held in memory only while the letters are made.
 */
export interface LetterRecipient {
  /** Pseudonymous patient id (FHIR Patient.id): the letter's reference, never an identifier. */
  patient: string;
  gender: 'female' | 'male' | null;
  /** "J.M. de Vries". */
  name: string;
  /** "de Vries" (with its prefix). */
  family: string;
  addressLines: string[];
  postalCode: string;
}

interface HumanName {
  family?: string;
  given?: string[];
}
interface Address {
  line?: string[];
  postalCode?: string;
  city?: string;
  country?: string;
}

export function letterRecipient(p: FhirResource): LetterRecipient {
  const name = ((p.name ?? []) as HumanName[])[0] ?? {};
  const family = (name.family ?? '').trim();
  const initials = (name.given ?? [])
    .map((g) => g.trim())
    .filter((g) => g !== '')
    .map((g) => `${[...g][0]?.toUpperCase() ?? ''}.`)
    .join('');
  const gender = p.gender === 'female' || p.gender === 'male' ? p.gender : null;
  const display = [initials, family].filter((s) => s !== '').join(' ');
  const addresses = (p.address ?? []) as (Address & { use?: string })[];
  const a = addresses.find((x) => x.use === 'home') ?? addresses[0] ?? {};
  const postalCode = (a.postalCode ?? '').trim();
  const place = [postalCode, (a.city ?? '').trim().toUpperCase()].filter((s) => s !== '').join('  ');
  const lines = [
    `${gender === 'female' ? 'Mevrouw ' : gender === 'male' ? 'De heer ' : ''}${display}`.trim(),
    ...(a.line ?? []).map((l) => l.trim()).filter((l) => l !== ''),
    place,
    ...(a.country && a.country.toUpperCase() !== 'NL' ? [a.country.toUpperCase()] : []),
  ].filter((l) => l !== '');
  return { patient: p.id, gender, name: display, family, addressLines: lines, postalCode: postalCode.replace(/\s+/g, '') };
}

/** "Geachte mevrouw De Vries," / "Dear Ms De Vries,"; without a known gender, the full name. */
export function salutation(lang: 'nl' | 'en', r: LetterRecipient): string {
  const fam = r.family === '' ? r.name : `${r.family.charAt(0).toUpperCase()}${r.family.slice(1)}`;
  if (lang === 'nl') {
    if (r.gender === 'female') return `Geachte mevrouw ${fam},`;
    if (r.gender === 'male') return `Geachte heer ${fam},`;
    return r.name === '' ? 'Geachte heer, mevrouw,' : `Geachte ${r.name},`;
  }
  if (r.gender === 'female') return `Dear Ms ${fam},`;
  if (r.gender === 'male') return `Dear Mr ${fam},`;
  return r.name === '' ? 'Dear Sir or Madam,' : `Dear ${r.name},`;
}

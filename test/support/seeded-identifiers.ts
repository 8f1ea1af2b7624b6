import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TENANT_TAG_SYSTEM } from '../../src/domain/tenant.js';
import { MIN_NEEDLE_BYTES } from './scan-bytes.js';

/**
 * The identifying values a synthetic lab put into Patient.ndjson, i.e. what must never be found
 * in plaintext in a database file, WAL or dump.
 *
 * Values shorter than MIN_LENGTH are left out (in practice: short family names, the odd very
 * short address line): a 3-letter name such as "Bos" has a
 * chance of about 1 in 16 million to appear at any given offset of random ciphertext bytes, so in
 * tens of megabytes of AES-GCM output (and with hundreds of such names) it would be "found" by
 * chance. A 6-byte string has about 1 in 2.8·10^14 per offset, which is negligible here. BSNs (9
 * digits), address lines, e-mails and phone numbers are all long enough.
 *
 * Values that also occur in the lab's tenants.json are left out too (and listed in `excluded`):
 * tenant documents (names, contact addresses of the data controllers) are stored in plaintext on
 * purpose, and a family name such as "Midden" also occurs in "Huisartsennetwerk Utrecht-Midden".
 */
export const MIN_LENGTH = MIN_NEEDLE_BYTES;

const BSN_SYSTEM = 'http://fhir.nl/fhir/NamingSystem/bsn';

export type IdentifierKind = 'bsn' | 'family' | 'address' | 'email' | 'phone';

export interface SeededPatient {
  tenant: string;
  id: string;
  bsn: string;
  line: number;
}

export interface SeededIdentifiers {
  /** All distinct values, every kind together. */
  values: string[];
  /** Which kind a value is (for readable failure messages). */
  kindOf: Map<string, IdentifierKind>;
  byKind: Record<IdentifierKind, string[]>;
  /** One entry per Patient record (a person known to two tenants has two). */
  patients: SeededPatient[];
  /** Values left out because they occur in tenants.json (plaintext by design). */
  excluded: string[];
}

interface PatientJson {
  id: string;
  meta?: { tag?: { system?: string; code?: string }[] };
  identifier?: { system?: string; value?: string }[];
  name?: { family?: string }[];
  address?: { line?: string[] }[];
  telecom?: { system?: string; value?: string }[];
}

/** Reads `Patient.ndjson` (and `tenants.json`, if present) of a synthetic lab directory. */
export async function seededIdentifiers(labDir: string): Promise<SeededIdentifiers> {
  const tenantsText = await readFile(path.join(labDir, 'tenants.json'), 'utf8').catch(() => '');
  const patientNdjson = path.join(labDir, 'Patient.ndjson');
  const sets: Record<IdentifierKind, Set<string>> = {
    bsn: new Set(),
    family: new Set(),
    address: new Set(),
    email: new Set(),
    phone: new Set(),
  };
  const patients: SeededPatient[] = [];
  const lines = (await readFile(patientNdjson, 'utf8')).split('\n');
  lines.forEach((text, i) => {
    if (text.trim() === '') return;
    const p = JSON.parse(text) as PatientJson;
    const tenant = p.meta?.tag?.find((t) => t.system === TENANT_TAG_SYSTEM)?.code ?? '';
    const bsn = p.identifier?.find((x) => x.system === BSN_SYSTEM)?.value ?? '';
    if (bsn) sets.bsn.add(bsn);
    patients.push({ tenant, id: p.id, bsn, line: i + 1 });
    for (const n of p.name ?? []) {
      const family = n.family ?? '';
      sets.family.add(family);
      // "van Opwierde": the name without its prefix must not be there either.
      sets.family.add(family.split(' ').at(-1) ?? '');
    }
    for (const a of p.address ?? []) for (const l of a.line ?? []) sets.address.add(l);
    for (const t of p.telecom ?? []) {
      if (t.system === 'email' && t.value) sets.email.add(t.value);
      if (t.system === 'phone' && t.value) sets.phone.add(t.value);
    }
  });
  const kindOf = new Map<string, IdentifierKind>();
  const byKind = {} as Record<IdentifierKind, string[]>;
  const excluded: string[] = [];
  for (const kind of Object.keys(sets) as IdentifierKind[]) {
    byKind[kind] = [];
    for (const v of sets[kind]) {
      if (Buffer.byteLength(v) < MIN_LENGTH) continue;
      if (tenantsText.includes(v)) {
        excluded.push(v);
        continue;
      }
      byKind[kind].push(v);
      kindOf.set(v, kind);
    }
  }
  return { values: [...kindOf.keys()], kindOf, byKind, patients, excluded };
}

/** A short, readable list of hits for an assertion message. */
export function describeHits(hits: { file: string; needle: string; offset: number }[], ids: SeededIdentifiers, max = 10): string[] {
  return hits.slice(0, max).map((h) => `${ids.kindOf.get(h.needle) ?? '?'} ${JSON.stringify(h.needle)} in ${h.file} at ${h.offset}`);
}

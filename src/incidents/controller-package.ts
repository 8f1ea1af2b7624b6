import { CompactEncrypt, importJWK, type JWK } from 'jose';
import { BSN_SYSTEM } from '../domain/bsn.js';
import { ConfigurationError } from '../domain/errors.js';
import type { FhirResource } from '../domain/resource-view.js';
import type { Tenant } from '../domain/tenant.js';
import type { TenantScope } from './scope.js';

/**
 * The notification package for one controller (GDPR 33(2), with the Art. 28(3)(f) assistance): a
 * summary the controller needs for its own 33(3) notice, and the affected subjects with the
 * contact data it needs to write to them — encrypted to the controller's public key as a compact
 * JWE (jose), so it exists in plaintext only in memory here and at the controller. Only this
 * tenant's patients, by construction: the subjects come from this tenant's scope.
 */
export interface PackageSubject {
  patient: string;
  cohort: 'accessed-confirmed' | 'in-leaked-data' | 'cannot-be-excluded';
  bsn: string | null;
  name: string | null;
  birthDate: string | null;
  address: unknown;
  telecom: unknown;
}

export interface PackageSummary {
  incident: string;
  controller: { id: string; name: string };
  generated_at: string;
  nature: string;
  types: string[];
  categories: string[];
  patients: [number, number];
  records: [number, number];
  awareness: Record<string, string>;
  timeline: { at: string; action: string; note: string | null }[];
  measures: string[];
  contact: { name: string; email: string };
  rules_version: string;
}

export function packageSubjects(scope: TenantScope, identities: ReadonlyMap<string, FhirResource>): PackageSubject[] {
  const out: PackageSubject[] = [];
  const cohorts: [PackageSubject['cohort'], readonly string[]][] = [
    ['accessed-confirmed', scope.cohorts.accessedConfirmed],
    ['in-leaked-data', scope.cohorts.inLeakedData],
    ['cannot-be-excluded', scope.cohorts.cannotBeExcluded],
  ];
  for (const [cohort, ids] of cohorts)
    for (const id of ids) {
      const p = identities.get(id);
      const ident = (p?.identifier ?? []) as { system?: string; value?: string }[];
      const name = ((p?.name ?? []) as { family?: string; given?: string[] }[])[0];
      out.push({
        patient: id,
        cohort,
        bsn: ident.find((i) => i.system === BSN_SYSTEM)?.value ?? null,
        name: name ? [...(name.given ?? []), name.family ?? ''].join(' ').trim() : null,
        birthDate: typeof p?.birthDate === 'string' ? p.birthDate : null,
        address: p?.address ?? null,
        telecom: p?.telecom ?? null,
      });
    }
  return out;
}

/** Compact JWE to the tenant's public key: ECDH-ES+A256KW for EC/OKP keys, RSA-OAEP-256 for RSA; A256GCM. */
export async function encryptPackage(tenant: Tenant, body: { summary: PackageSummary; subjects: PackageSubject[] }): Promise<string> {
  const jwk = tenant.publicKeyJwk as JWK | null;
  if (!jwk) throw new ConfigurationError(`tenant ${tenant.id} has no public key for notification packages (publicKeyJwk in tenants.json)`);
  if ('d' in jwk) throw new ConfigurationError(`tenant ${tenant.id}: publicKeyJwk holds a private key; give only the public part`);
  const alg = jwk.kty === 'RSA' ? 'RSA-OAEP-256' : 'ECDH-ES+A256KW';
  const key = await importJWK(jwk, alg);
  return new CompactEncrypt(Buffer.from(JSON.stringify(body)))
    .setProtectedHeader({ alg, enc: 'A256GCM', cty: 'application/json', kid: `${tenant.id}`, typ: 'labvault-notification+jwe' })
    .encrypt(key);
}

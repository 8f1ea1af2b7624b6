import { BSN_SYSTEM, isValidBsn, normaliseBsn } from '../domain/bsn.js';
import { DecryptionFailed, InvalidInput, NotFound } from '../domain/errors.js';
import type { ClinicalType } from '../domain/resource-type.js';
import { Section, recordAad } from '../crypto/aad.js';
import { blindIndex, nameBirthDateKey } from '../crypto/blind-index.js';
import { open } from '../crypto/envelope.js';
import type { KeyHierarchy } from '../crypto/key-hierarchy.js';
import type { PatientRow, ResourceRow, VaultStore } from '../ports/vault-store.js';

/**
 * Read paths of the vault: decrypt a patient or record of one tenant. A record of another tenant,
 * an unknown id and an erased patient all answer NotFound, so the answer does not reveal whether
 * an id exists elsewhere. Any authentication failure surfaces as DecryptionFailed and no data.
 */
export type FhirResource = Record<string, unknown> & { resourceType: string; id: string };

export class VaultReader {
  constructor(
    private readonly store: VaultStore,
    private readonly keys: KeyHierarchy,
  ) {}

  async patient(tenantId: string, id: string): Promise<FhirResource> {
    const row = await this.store.getPatient(tenantId, id);
    if (!row || row.erasedAt) throw new NotFound();
    return this.decryptPatient(row);
  }

  /** Lookup by BSN through the keyed blind index; the BSN itself never reaches the store. */
  async patientsByBsn(tenantId: string, rawBsn: string): Promise<FhirResource[]> {
    const bsn = normaliseBsn(rawBsn);
    if (bsn === null || !isValidBsn(bsn)) throw new InvalidInput('not a valid BSN');
    const rows = await this.store.findPatientsByBsnIndex(tenantId, blindIndex(await this.keys.indexKey(tenantId), 'bsn', bsn));
    // The index is a hint, not proof: a row whose index was swapped in the database must not
    // answer for another person, so the decrypted identity is checked against the query.
    return (await this.decryptPatients(rows)).filter((p) => bsnOf(p) === bsn);
  }

  async patientsByNameAndBirthDate(tenantId: string, family: string, birthDate: string): Promise<FhirResource[]> {
    const key = nameBirthDateKey(family, birthDate);
    const idx = blindIndex(await this.keys.indexKey(tenantId), 'name-birthdate', key);
    const found = await this.decryptPatients(await this.store.findPatientsByNameIndex(tenantId, idx));
    return found.filter((p) => nameBirthDateOf(p) === key);
  }

  async resource(tenantId: string, type: ClinicalType, id: string): Promise<FhirResource> {
    const row = await this.store.getResource(tenantId, type, id);
    if (!row) throw new NotFound();
    const owner = await this.store.getPatient(tenantId, row.patientId);
    if (!owner || owner.erasedAt) throw new NotFound();
    return this.decryptResource(row, owner);
  }

  async resourcesOfPatient(tenantId: string, patientId: string, type?: ClinicalType): Promise<FhirResource[]> {
    const owner = await this.store.getPatient(tenantId, patientId);
    if (!owner || owner.erasedAt) throw new NotFound();
    const rows = await this.store.listResourcesOfPatient(tenantId, patientId, type);
    const out: FhirResource[] = [];
    for (const r of rows) out.push(await this.decryptResource(r, owner));
    return out;
  }

  private async decryptPatients(rows: PatientRow[]): Promise<FhirResource[]> {
    const out: FhirResource[] = [];
    for (const r of rows) if (!r.erasedAt) out.push(await this.decryptPatient(r));
    return out;
  }

  private async decryptPatient(row: PatientRow): Promise<FhirResource> {
    const dek = await this.patientDek(row);
    const aad = recordAad(row.tenantId, 'Patient', row.id, row.version, Section.Identity);
    return parse(open(dek, row.identity ?? Buffer.alloc(0), aad));
  }

  private async decryptResource(row: ResourceRow, owner: PatientRow): Promise<FhirResource> {
    const dek = await this.patientDek(owner);
    return parse(open(dek, row.body, recordAad(row.tenantId, row.type, row.id, row.version, Section.Body)));
  }

  /**
   * The patient's DEK. A rotation in another process may rewrap the row and destroy its old KEK
   * between our read of the row and our unwrap: then the row is read once more and its new KEK
   * version used, so readers go on during rotation. A second failure is real.
   */
  private async patientDek(row: PatientRow): Promise<Buffer> {
    try {
      return await this.keys.dek(row.tenantId, row.id, row.kekVersion, row.wrappedDek);
    } catch (e) {
      if (!(e instanceof DecryptionFailed)) throw e;
      const fresh = await this.store.getPatient(row.tenantId, row.id);
      if (!fresh || fresh.erasedAt) throw new NotFound();
      if (fresh.kekVersion === row.kekVersion) throw e;
      this.keys.forget(row.tenantId);
      return this.keys.dek(fresh.tenantId, fresh.id, fresh.kekVersion, fresh.wrappedDek);
    }
  }
}

function parse(bytes: Buffer): FhirResource {
  return JSON.parse(bytes.toString('utf8')) as FhirResource;
}

function bsnOf(p: FhirResource): string | null {
  const ids = Array.isArray(p.identifier) ? (p.identifier as { system?: unknown; value?: unknown }[]) : [];
  const v = ids.find((i) => i.system === BSN_SYSTEM)?.value;
  return typeof v === 'string' ? normaliseBsn(v) : null;
}

function nameBirthDateOf(p: FhirResource): string | null {
  const names = Array.isArray(p.name) ? (p.name as { family?: unknown }[]) : [];
  const family = names[0]?.family;
  return typeof family === 'string' && typeof p.birthDate === 'string' ? nameBirthDateKey(family, p.birthDate) : null;
}

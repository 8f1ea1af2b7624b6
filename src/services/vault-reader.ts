import { isValidBsn, normaliseBsn } from '../domain/bsn.js';
import { InvalidInput, NotFound } from '../domain/errors.js';
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
    return this.decryptPatients(rows);
  }

  async patientsByNameAndBirthDate(tenantId: string, family: string, birthDate: string): Promise<FhirResource[]> {
    const idx = blindIndex(await this.keys.indexKey(tenantId), 'name-birthdate', nameBirthDateKey(family, birthDate));
    return this.decryptPatients(await this.store.findPatientsByNameIndex(tenantId, idx));
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
    const dek = await this.keys.dek(row.tenantId, row.id, row.kekVersion, row.wrappedDek);
    const aad = recordAad(row.tenantId, 'Patient', row.id, row.version, Section.Identity);
    return parse(open(dek, row.identity ?? Buffer.alloc(0), aad));
  }

  private async decryptResource(row: ResourceRow, owner: PatientRow): Promise<FhirResource> {
    const dek = await this.keys.dek(owner.tenantId, owner.id, owner.kekVersion, owner.wrappedDek);
    return parse(open(dek, row.body, recordAad(row.tenantId, row.type, row.id, row.version, Section.Body)));
  }
}

function parse(bytes: Buffer): FhirResource {
  return JSON.parse(bytes.toString('utf8')) as FhirResource;
}

import { BSN_SYSTEM, isValidBsn, normaliseBsn } from '../domain/bsn.js';
import { DecryptionFailed, InvalidInput, NotFound } from '../domain/errors.js';
import type { ClinicalType } from '../domain/resource-type.js';
import { Section, recordAad } from '../crypto/aad.js';
import { blindIndex, nameBirthDateKey } from '../crypto/blind-index.js';
import { open } from '../crypto/envelope.js';
import type { KeyHierarchy } from '../crypto/key-hierarchy.js';
import type { PatientRow, ResourceRow, VaultStore } from '../ports/vault-store.js';
import type { AuditLog } from '../audit/audit-log.js';
import { categoriesOf, type AuditAction, type DataCategory } from '../domain/audit-event.js';
import { VaultError } from '../domain/errors.js';
import { mayActFor, type AccessContext } from '../domain/principal.js';

/**
 * Read paths of the vault: decrypt a patient or record of one tenant. A record of another tenant,
 * an unknown id and an erased patient all answer NotFound, so the answer does not reveal whether
 * an id exists elsewhere. Any authentication failure surfaces as DecryptionFailed and no data.
 *
 * Every read is audited before its data is returned (fail closed: if the event cannot be appended,
 * the caller gets the error, not the data), and so is every failed or refused read. A principal
 * reading a tenant it may not act for gets NotFound, as for an id that does not exist.
 */
export type FhirResource = Record<string, unknown> & { resourceType: string; id: string };

export class VaultReader {
  constructor(
    private readonly store: VaultStore,
    private readonly keys: KeyHierarchy,
    private readonly audit: AuditLog,
  ) {}

  async patient(ctx: AccessContext, tenantId: string, id: string): Promise<FhirResource> {
    return this.audited(ctx, 'patient.read', tenantId, id, async () => {
      const row = await this.store.getPatient(tenantId, id);
      if (!row || row.erasedAt) throw new NotFound();
      return [await this.decryptPatient(row)];
    }).then((r) => r[0] as FhirResource);
  }

  /** Lookup by BSN through the keyed blind index; the BSN itself never reaches the store. */
  async patientsByBsn(ctx: AccessContext, tenantId: string, rawBsn: string): Promise<FhirResource[]> {
    return this.audited(ctx, 'patient.search', tenantId, null, async () => {
      const bsn = normaliseBsn(rawBsn);
      if (bsn === null || !isValidBsn(bsn)) throw new InvalidInput('not a valid BSN');
      const rows = await this.store.findPatientsByBsnIndex(tenantId, blindIndex(await this.keys.indexKey(tenantId), 'bsn', bsn));
      // The index is a hint, not proof: a row whose index was swapped in the database must not
      // answer for another person, so the decrypted identity is checked against the query.
      return (await this.decryptPatients(rows)).filter((p) => bsnOf(p) === bsn);
    });
  }

  async patientsByNameAndBirthDate(ctx: AccessContext, tenantId: string, family: string, birthDate: string): Promise<FhirResource[]> {
    return this.audited(ctx, 'patient.search', tenantId, null, async () => {
      const key = nameBirthDateKey(family, birthDate);
      const idx = blindIndex(await this.keys.indexKey(tenantId), 'name-birthdate', key);
      const found = await this.decryptPatients(await this.store.findPatientsByNameIndex(tenantId, idx));
      return found.filter((p) => nameBirthDateOf(p) === key);
    });
  }

  async resource(ctx: AccessContext, tenantId: string, type: ClinicalType, id: string): Promise<FhirResource> {
    return this.audited(ctx, 'resource.read', tenantId, null, async () => {
      const row = await this.store.getResource(tenantId, type, id);
      if (!row) throw new NotFound();
      const owner = await this.store.getPatient(tenantId, row.patientId);
      if (!owner || owner.erasedAt) throw new NotFound();
      return [await this.decryptResource(row, owner)];
    }).then((r) => r[0] as FhirResource);
  }

  async resourcesOfPatient(ctx: AccessContext, tenantId: string, patientId: string, type?: ClinicalType): Promise<FhirResource[]> {
    return this.audited(ctx, 'resource.read', tenantId, patientId, async () => {
      const owner = await this.store.getPatient(tenantId, patientId);
      if (!owner || owner.erasedAt) throw new NotFound();
      const rows = await this.store.listResourcesOfPatient(tenantId, patientId, type);
      const out: FhirResource[] = [];
      for (const r of rows) out.push(await this.decryptResource(r, owner));
      return out;
    });
  }

  /**
   * Runs a read and appends its event before returning: patients touched, categories and bytes of
   * what is returned. A failure is recorded with its error code, then rethrown.
   */
  private async audited(
    ctx: AccessContext,
    action: AuditAction,
    tenantId: string,
    /** The patient the read is about, when the caller names one (named even if nothing is found). */
    about: string | null,
    read: () => Promise<FhirResource[]>,
  ): Promise<FhirResource[]> {
    await this.audit.ready();
    if (!mayActFor(ctx.principal, tenantId)) {
      await this.audit.record([this.audit.event(ctx, { action, outcome: 'denied', tenant: tenantId, reason: 'access-denied' })]);
      throw new NotFound();
    }
    let found: FhirResource[];
    try {
      found = await read();
    } catch (e) {
      const reason = e instanceof VaultError ? e.code : 'internal';
      await this.audit.record([this.audit.event(ctx, { action, outcome: 'error', tenant: tenantId, reason })]);
      throw e;
    }
    const patients = new Set<string>(about === null ? [] : [about]);
    const categories = new Set<DataCategory>();
    let bytes = 0;
    for (const r of found) {
      const type = r.resourceType as 'Patient' | ClinicalType;
      patients.add(type === 'Patient' ? r.id : patientIdOf(r));
      for (const c of categoriesOf(type)) categories.add(c);
      bytes += Buffer.byteLength(JSON.stringify(r));
    }
    await this.audit.record([
      this.audit.event(ctx, {
        action,
        tenant: tenantId,
        patients: [...patients].filter((p) => p !== ''),
        categories: [...categories],
        records: found.length,
        bytes,
      }),
    ]);
    return found;
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

/** The patient a clinical record belongs to (`subject` for most, `subject`/`patient` references). */
function patientIdOf(r: FhirResource): string {
  const ref = (r.subject ?? r.patient) as { reference?: unknown } | undefined;
  const m = typeof ref?.reference === 'string' ? /^Patient\/(.+)$/.exec(ref.reference) : null;
  return m?.[1] ?? '';
}

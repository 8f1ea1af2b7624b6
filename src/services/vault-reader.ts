import { BSN_SYSTEM, isValidBsn, normaliseBsn } from '../domain/bsn.js';
import { DecryptionFailed, InvalidInput, NotFound } from '../domain/errors.js';
import type { ClinicalType } from '../domain/resource-type.js';
import { Section, recordAad } from '../crypto/aad.js';
import { blindIndex, nameBirthDateKey } from '../crypto/blind-index.js';
import { open } from '../crypto/envelope.js';
import type { KeyHierarchy } from '../crypto/key-hierarchy.js';
import type { PatientRow, ResourceRow, VaultStore } from '../ports/vault-store.js';
import type { ResourceSearch } from '../ports/access-store.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AuditAction, DataCategory } from '../domain/audit-event.js';
import { Contained, VaultError } from '../domain/errors.js';
import type { ReadKind } from '../domain/detection.js';
import type { Detector } from '../detection/detector.js';
import { mayActFor, type AccessContext } from '../domain/principal.js';
import { FULL_VIEW, type FhirResource, type ResourceView } from '../domain/resource-view.js';

/**
 * Read paths of the vault: decrypt a patient or record of one tenant. A record of another tenant,
 * an unknown id and an erased patient all answer NotFound, so the answer does not reveal whether
 * an id exists elsewhere. Any authentication failure surfaces as DecryptionFailed and no data.
 *
 * Every read is audited before its data is returned (fail closed: if the event cannot be appended,
 * the caller gets the error, not the data), and so is every failed or refused read. A principal
 * reading a tenant it may not act for gets NotFound, as for an id that does not exist.
 *
 * A `view` (the caller's role projection) is applied before the event is written, so the event
 * names the data categories that actually leave, not those stored.
 */
export type { FhirResource } from '../domain/resource-view.js';

export interface SearchPage {
  /** Matches of this page (projected), then the included patients when asked for. */
  matches: FhirResource[];
  included: FhirResource[];
  /** Matches over all pages in this tenant; -1 when not asked for. */
  total: number;
  /** Id to continue after, or null on the last page. */
  next: string | null;
}

/** How detection should see a read (the reader knows the data; the route knows the request). */
export interface ReadShape {
  kind: ReadKind;
  /** The id asked for by a read by id. */
  requestedId?: string | null;
  /** A search about no particular patient over an open or wide date range. */
  broad?: boolean;
  exportId?: string | null;
  /**
   * Whether finding nothing counts as a miss (default true). A lookup run across several tenants
   * counts one miss for the request, on its last tenant and only if no tenant found anyone.
   */
  missCounts?: boolean;
}

export class VaultReader {
  constructor(
    private readonly store: VaultStore,
    private readonly keys: KeyHierarchy,
    private readonly audit: AuditLog,
    private readonly detector: Detector | null = null,
  ) {}

  async patient(ctx: AccessContext, tenantId: string, id: string, view: ResourceView = FULL_VIEW): Promise<FhirResource> {
    return this.audited(ctx, 'patient.read', tenantId, id, view, { kind: 'read', requestedId: id }, async () => {
      const row = await this.store.getPatient(tenantId, id);
      if (!row || row.erasedAt) throw new NotFound();
      return [await this.decryptPatient(row)];
    }).then((r) => r[0] as FhirResource);
  }

  /**
   * Several patients of one tenant by id, one audited event for the batch (incident notices read
   * the identities of everyone in scope). Unknown and erased ids are skipped, not errors: an
   * erased patient's identity is gone, which is what the notice must reflect.
   */
  async patientsByIds(
    ctx: AccessContext,
    tenantId: string,
    ids: readonly string[],
    view: ResourceView = FULL_VIEW,
  ): Promise<FhirResource[]> {
    return this.audited(ctx, 'patient.read', tenantId, null, view, { kind: 'search' }, async () => {
      const out: FhirResource[] = [];
      for (const id of ids) {
        const row = await this.store.getPatient(tenantId, id);
        if (row && !row.erasedAt) out.push(await this.decryptPatient(row));
      }
      return out;
    });
  }

  /** Lookup by BSN through the keyed blind index; the BSN itself never reaches the store. */
  async patientsByBsn(
    ctx: AccessContext,
    tenantId: string,
    rawBsn: string,
    view: ResourceView = FULL_VIEW,
    shape: ReadShape = { kind: 'identifier-search' },
  ): Promise<FhirResource[]> {
    return this.audited(ctx, 'patient.search', tenantId, null, view, shape, async () => {
      const bsn = normaliseBsn(rawBsn);
      if (bsn === null || !isValidBsn(bsn)) throw new InvalidInput('not a valid BSN');
      const rows = await this.store.findPatientsByBsnIndex(tenantId, blindIndex(await this.keys.indexKey(tenantId), 'bsn', bsn));
      // The index is a hint, not proof: a row whose index was swapped in the database must not
      // answer for another person, so the decrypted identity is checked against the query.
      return (await this.decryptPatients(rows)).filter((p) => bsnOf(p) === bsn);
    });
  }

  async patientsByNameAndBirthDate(
    ctx: AccessContext,
    tenantId: string,
    family: string,
    birthDate: string,
    view: ResourceView = FULL_VIEW,
    shape: ReadShape = { kind: 'identifier-search' },
  ): Promise<FhirResource[]> {
    return this.audited(ctx, 'patient.search', tenantId, null, view, shape, async () => {
      const key = nameBirthDateKey(family, birthDate);
      const idx = blindIndex(await this.keys.indexKey(tenantId), 'name-birthdate', key);
      const found = await this.decryptPatients(await this.store.findPatientsByNameIndex(tenantId, idx));
      return found.filter((p) => nameBirthDateOf(p) === key);
    });
  }

  async resource(
    ctx: AccessContext,
    tenantId: string,
    type: ClinicalType,
    id: string,
    view: ResourceView = FULL_VIEW,
  ): Promise<FhirResource> {
    return this.audited(ctx, 'resource.read', tenantId, null, view, { kind: 'read', requestedId: id }, async () => {
      const row = await this.store.getResource(tenantId, type, id);
      if (!row) throw new NotFound();
      const owner = await this.store.getPatient(tenantId, row.patientId);
      if (!owner || owner.erasedAt) throw new NotFound();
      return [await this.decryptResource(row, owner)];
    }).then((r) => r[0] as FhirResource);
  }

  async resourcesOfPatient(
    ctx: AccessContext,
    tenantId: string,
    patientId: string,
    type?: ClinicalType,
    view: ResourceView = FULL_VIEW,
  ): Promise<FhirResource[]> {
    return this.audited(ctx, 'resource.read', tenantId, patientId, view, { kind: 'search' }, async () => {
      const owner = await this.store.getPatient(tenantId, patientId);
      if (!owner || owner.erasedAt) throw new NotFound();
      const rows = await this.store.listResourcesOfPatient(tenantId, patientId, type);
      const out: FhirResource[] = [];
      for (const r of rows) out.push(await this.decryptResource(r, owner));
      return out;
    });
  }

  /**
   * One page of a search over a tenant's clinical records (keyset paging by id), optionally with
   * the patients they belong to (`_include`). One event covers the page and what it included.
   */
  async search(
    ctx: AccessContext,
    tenantId: string,
    q: ResourceSearch,
    view: ResourceView = FULL_VIEW,
    opts: { includePatients?: boolean; total?: boolean; shape?: ReadShape } = {},
  ): Promise<SearchPage> {
    const includePatients = opts.includePatients ?? false;
    let total = 0;
    let next: string | null = null;
    let matchCount = 0;
    // A search about one of this tenant's patients names it even when nothing matches (who looked
    // for whom); an id this tenant does not hold is not named, as it would be another's patient.
    let about: string | null = null;
    if (q.patientId !== undefined && mayActFor(ctx.principal, tenantId)) {
      const owner = await this.store.getPatient(tenantId, q.patientId);
      if (owner && !owner.erasedAt) about = q.patientId;
    }
    const all = await this.audited(ctx, 'resource.search', tenantId, about, view, opts.shape ?? { kind: 'search' }, async () => {
      if (q.patientId !== undefined) {
        const owner = await this.store.getPatient(tenantId, q.patientId);
        if (!owner || owner.erasedAt) return [];
      }
      const { afterId: _a, limit: _l, ...filters } = q;
      total = opts.total === false ? -1 : await this.store.countSearch(tenantId, filters);
      // One row more than asked tells whether a next page exists without a second query.
      const rows = await this.store.searchResources(tenantId, { ...q, limit: q.limit + 1 });
      if (rows.length > q.limit) {
        rows.length = q.limit;
        next = rows[rows.length - 1]?.id ?? null;
      }
      const owners = new Map<string, PatientRow | null>();
      const out: FhirResource[] = [];
      for (const r of rows) {
        let owner = owners.get(r.patientId);
        if (owner === undefined) owners.set(r.patientId, (owner = await this.store.getPatient(tenantId, r.patientId)));
        // A record of an erased patient is as unreadable as the patient (its DEK is gone).
        if (owner && !owner.erasedAt) out.push(await this.decryptResource(r, owner));
      }
      matchCount = out.length;
      if (includePatients) for (const owner of owners.values()) if (owner && !owner.erasedAt) out.push(await this.decryptPatient(owner));
      return out;
    });
    return { matches: all.slice(0, matchCount), included: all.slice(matchCount), total, next };
  }

  /** Up to `limit` patients of a tenant after `afterId` (bulk export), one event for the page. */
  async patientsPage(
    ctx: AccessContext,
    tenantId: string,
    afterId: string,
    limit: number,
    createdSince?: string,
    view: ResourceView = FULL_VIEW,
    shape: ReadShape = { kind: 'export' },
  ): Promise<{ patients: FhirResource[]; next: string | null }> {
    let next: string | null = null;
    const patients = await this.audited(ctx, 'patient.read', tenantId, null, view, shape, async () => {
      const ids = await this.store.listPatientIds(tenantId, afterId, limit, createdSince);
      next = ids.length === limit ? (ids[ids.length - 1] ?? null) : null;
      const out: FhirResource[] = [];
      for (const id of ids) {
        const row = await this.store.getPatient(tenantId, id);
        if (row && !row.erasedAt) out.push(await this.decryptPatient(row));
      }
      return out;
    });
    return { patients, next };
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
    view: ResourceView,
    shape: ReadShape,
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
      // A lookup that found nothing is probing material: detection counts it before the 404 leaves.
      if (reason === 'not-found') await this.detect(ctx, action, tenantId, shape, [], 0, 0, true);
      await this.audit.record([this.audit.event(ctx, { action, outcome: 'error', tenant: tenantId, reason })]);
      throw e;
    }
    const patients = new Set<string>(about === null ? [] : [about]);
    const categories = new Set<DataCategory>();
    const out: FhirResource[] = [];
    let bytes = 0;
    for (const r of found) {
      const p = view.project(r);
      out.push(p.resource);
      patients.add(r.resourceType === 'Patient' ? r.id : patientIdOf(r));
      for (const c of p.categories) categories.add(c);
      bytes += plaintextBytes.get(p.resource) ?? Buffer.byteLength(JSON.stringify(p.resource));
    }
    const released = [...patients].filter((p) => p !== '');
    const miss = found.length === 0 && shape.missCounts !== false && (shape.kind === 'identifier-search' || shape.kind === 'read');
    await this.detect(ctx, action, tenantId, shape, released, out.length, bytes, miss);
    await this.audit.record([
      this.audit.event(ctx, {
        action,
        tenant: tenantId,
        patients: released,
        categories: [...categories],
        records: out.length,
        bytes,
        // An export page names its job, so an incident can be scoped to what one export released.
        ...(view === FULL_VIEW && !shape.exportId
          ? {}
          : { detail: { ...(view === FULL_VIEW ? {} : { view: view.name }), ...(shape.exportId ? { export: shape.exportId } : {}) } }),
      }),
    ]);
    return out;
  }

  /**
   * Detection's verdict on what is about to leave. A withheld read is recorded as denied (what
   * would have left is counted, never listed: it did not leave) and answered Contained.
   */
  private async detect(
    ctx: AccessContext,
    action: AuditAction,
    tenantId: string,
    shape: ReadShape,
    patients: string[],
    records: number,
    bytes: number,
    miss: boolean,
  ): Promise<void> {
    const d = this.detector;
    if (!d?.enabled || ctx.local === true) return;
    const verdict = await d.inspect({
      at: d.now(),
      principal: ctx.principal,
      ip: ctx.origin.ip,
      tenant: tenantId,
      action,
      kind: shape.kind,
      patients,
      records,
      bytes,
      miss,
      requestedId: shape.requestedId ?? null,
      broad: shape.broad ?? false,
      exportId: shape.exportId ?? null,
      breakGlass: Boolean(ctx.breakGlass),
    });
    if (verdict.allowed) return;
    await this.audit.record([
      this.audit.event(ctx, {
        action,
        outcome: 'denied',
        tenant: tenantId,
        reason: 'contained',
        detail: { containment: verdict.containmentId, withheld_records: records, withheld_patients: patients.length },
      }),
    ]);
    throw new Contained();
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

/**
 * Plaintext size of each decrypted resource: the stored JSON is the canonical serialisation, so a
 * resource returned unchanged costs exactly these bytes, and the audit event need not serialise it
 * again to count them (a measurable share of a read's CPU on the API).
 */
const plaintextBytes = new WeakMap<FhirResource, number>();

function parse(bytes: Buffer): FhirResource {
  const r = JSON.parse(bytes.toString('utf8')) as FhirResource;
  plaintextBytes.set(r, bytes.length);
  return r;
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

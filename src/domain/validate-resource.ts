import { BSN_SYSTEM, isValidBsn, normaliseBsn } from './bsn.js';
import { InvalidInput } from './errors.js';
import { TENANT_TAG_SYSTEM, isValidTenantId } from './tenant.js';
import { INGEST_ORDER, type VaultResourceType } from './resource-type.js';

/**
 * Structural validation of the FHIR R4 resources the vault accepts. Deliberately narrow: only what
 * storage, indexing and lineage depend on. Reasons never quote a field's value, because values can
 * be identifiers (a BSN, a name) and reasons end up in logs and on terminals.
 */
export interface Reference {
  type: VaultResourceType;
  id: string;
}

export interface ValidRecord {
  type: VaultResourceType;
  id: string;
  tenantId: string;
  /** The patient the record belongs to (its own id for a Patient). */
  patientId: string;
  /** Every reference the record makes, all of which must resolve within its tenant. */
  refs: Reference[];
  status: string | null;
  code: string | null;
  effectiveDate: string | null;
  /** Patient only: normalised BSN, family name and birth date for the blind indexes. */
  identity: { bsn: string; family: string; birthDate: string } | null;
  resource: Record<string, unknown>;
}

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * BSNs as people write them with separators: 1234.56.782 (the official grouping) and 123 456 782 /
 * 123-456-782 / 123.456.782. Narrow on purpose: a looser pattern (any digits with optional
 * separators) would refuse pseudonymous ids such as `pat-1234-5678-…` once in eleven.
 */
export const SEPARATED_BSN = /(?<!\d)(?:\d{4}[.\s-]\d{2}[.\s-]\d{3}|\d{3}[.\s-]\d{3}[.\s-]\d{3})(?!\d)/g;

/**
 * Ids, references and tenant ids are stored and logged in plaintext, so one that carries a BSN
 * (a run of 8–9 digits, or a separated BSN as above, passing the 11-proof, e.g. an LIS that uses
 * the BSN as patient id) would put the identifier on disk. Such ids are refused.
 */
export function containsBsnLike(id: string): boolean {
  // Fast path, run for every id and reference of every record: no run of 3+ digits, nothing to check.
  let run = 0;
  let longest = 0;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    run = c >= 48 && c <= 57 ? run + 1 : 0;
    if (run > longest) longest = run;
  }
  if (longest < 3) return false;
  if (longest >= 8) {
    for (const digits of id.match(/\d+/g) ?? []) {
      if (digits.length === 9 && isValidBsn(digits)) return true;
      if (digits.length === 8 && isValidBsn(`0${digits}`)) return true;
    }
  }
  for (const m of id.match(SEPARATED_BSN) ?? []) if (isValidBsn(m.replace(/\D/g, ''))) return true;
  return false;
}

/**
 * A generated id (random hex, a UUID) that no check above refuses: about one random UUID in 180
 * holds a run of digits passing the 11-proof, which the audit log and validation would reject as a
 * BSN. Such a draw is discarded and redrawn.
 */
export function bsnFreeId(draw: () => string): string {
  for (;;) {
    const id = draw();
    if (!containsBsnLike(id)) return id;
  }
}

/** Where a value sits, as a reason names it: `field` or `field[index]`; built only for a reason (this runs per record). */
function at(field: string, index: number): string {
  return index < 0 ? field : `${field}[${index}]`;
}

function checkId(id: string, field: string, index = -1): void {
  if (!FHIR_ID.test(id)) fail(`${at(field, index)} is missing or not a valid FHIR id`);
  if (containsBsnLike(id)) fail(`${at(field, index)} looks like a BSN; use a pseudonymous id`);
}
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(reason: string): never {
  throw new InvalidInput(reason);
}

function str(o: Obj, field: string, type: string): string {
  const v = o[field];
  if (typeof v !== 'string' || v.length === 0) fail(`${type}.${field} is required`);
  return v;
}

/** yyyy-mm-dd naming a day of the proleptic Gregorian calendar (checked by arithmetic: this runs for every record). */
function isRealDate(s: string): boolean {
  const m = DATE.exec(s);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = mo === 2 ? (leap ? 29 : 28) : mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
  return d <= days;
}

/** Only the keys a reference to a Patient may hold. */
function onlyReferenceKeys(v: Obj): boolean {
  for (const k in v) if (k !== 'reference' && k !== 'type') return false;
  return true;
}

function ref(v: unknown, field: string, allowed: VaultResourceType, index = -1): Reference {
  if (!isObj(v) || typeof v.reference !== 'string') fail(`${at(field, index)} must be a reference`);
  // A reference to a Patient is only its pseudonymous id: a display (name) or identifier (BSN)
  // here would put identity into a clinical record, outside the masked and audited section.
  if (allowed === 'Patient' && !onlyReferenceKeys(v)) {
    fail(`${at(field, index)} may hold only "reference" (no display or identifier: identity belongs in the Patient)`);
  }
  const reference = v.reference;
  const slash = reference.indexOf('/');
  const id = slash < 0 ? '' : reference.slice(slash + 1);
  if (slash < 0 || reference.slice(0, slash) !== allowed || id.includes('/') || !FHIR_ID.test(id)) {
    fail(`${at(field, index)} must be a relative reference to a ${allowed} (${allowed}/id)`);
  }
  checkId(id, field, index);
  return { type: allowed, id };
}

/** Appends the references of an optional array field to `out`. */
function refList(out: Reference[], v: unknown, field: string, allowed: VaultResourceType): Reference[] {
  if (v === undefined) return out;
  if (!Array.isArray(v)) fail(`${field} must be an array`);
  for (let i = 0; i < v.length; i++) out.push(ref(v[i], field, allowed, i));
  return out;
}

function firstCode(v: unknown, field: string, required: boolean): string | null {
  if (isObj(v) && Array.isArray(v.coding)) {
    for (const c of v.coding as unknown[]) if (isObj(c) && typeof c.code === 'string') return c.code;
  }
  if (required) fail(`${field}.coding[0].code is required`);
  return null;
}

function dateOf(v: unknown): string | null {
  if (typeof v !== 'string' || v.length < 10) return null;
  const d = v.slice(0, 10);
  return isRealDate(d) ? d : null;
}

function tenantOf(r: Obj, type: string): string {
  const meta = r.meta;
  const tags = isObj(meta) && Array.isArray(meta.tag) ? (meta.tag as unknown[]) : [];
  let tenantTag: Obj | null = null;
  let count = 0;
  for (const t of tags) {
    if (isObj(t) && t.system === TENANT_TAG_SYSTEM) {
      tenantTag = t;
      count++;
    }
  }
  if (count !== 1) fail(`${type}.meta.tag must carry exactly one tenant tag (${TENANT_TAG_SYSTEM})`);
  const code = tenantTag?.code;
  if (typeof code !== 'string' || !isValidTenantId(code) || containsBsnLike(code)) fail(`${type}.meta.tag tenant code is malformed`);
  return code;
}

const TYPES: ReadonlySet<string> = new Set(INGEST_ORDER);

/** A validated record; every case builds it with the same fields in the same order (one object shape). */
function record(
  type: VaultResourceType,
  id: string,
  tenantId: string,
  resource: Obj,
  patientId: string,
  refs: Reference[],
  status: string | null,
  code: string | null,
  effectiveDate: string | null,
  identity: ValidRecord['identity'],
): ValidRecord {
  return { type, id, tenantId, patientId, refs, status, code, effectiveDate, identity, resource };
}

/** Validates one resource; throws InvalidInput with a value-free reason. */
export function validateResource(input: unknown): ValidRecord {
  if (!isObj(input)) fail('resource must be a JSON object');
  const type = input.resourceType;
  if (typeof type !== 'string' || !TYPES.has(type)) {
    fail(`unsupported resourceType (expected one of ${INGEST_ORDER.join(', ')})`);
  }
  const t = type as VaultResourceType;
  const id = input.id;
  if (typeof id !== 'string') fail(`${t}.id is missing or not a valid FHIR id`);
  checkId(id, `${t}.id`);
  const tenantId = tenantOf(input, t);
  // Identity lives in the Patient only: it is the section that is masked per role and audited as
  // identity. A clinical record carrying a contained Patient would smuggle it past both.
  if (t !== 'Patient' && input.contained !== undefined) fail(`${t}.contained is not accepted: send the Patient as its own resource`);

  switch (t) {
    case 'Patient': {
      const ids = Array.isArray(input.identifier) ? (input.identifier as unknown[]) : [];
      let raw: unknown;
      let bsnIds = 0;
      for (const x of ids) {
        if (isObj(x) && x.system === BSN_SYSTEM) {
          raw = x.value;
          bsnIds++;
        }
      }
      if (bsnIds !== 1) fail('Patient.identifier must hold exactly one BSN');
      const bsn = typeof raw === 'string' ? normaliseBsn(raw) : null;
      if (bsn === null || !isValidBsn(bsn)) fail('Patient.identifier BSN is not a valid BSN (11-proof)');
      const names = Array.isArray(input.name) ? (input.name as unknown[]) : [];
      const name = names.find(isObj);
      if (!name || typeof name.family !== 'string' || name.family.trim() === '') fail('Patient.name[0].family is required');
      const birthDate = input.birthDate;
      if (typeof birthDate !== 'string' || !isRealDate(birthDate)) fail('Patient.birthDate is required as yyyy-mm-dd');
      return record(t, id, tenantId, input, id, [], null, null, null, { bsn, family: name.family, birthDate });
    }
    case 'ServiceRequest': {
      const subject = ref(input.subject, 'ServiceRequest.subject', 'Patient');
      const status = str(input, 'status', t);
      str(input, 'intent', t);
      const code = firstCode(input.code, 'ServiceRequest.code', true);
      return record(t, id, tenantId, input, subject.id, [subject], status, code, dateOf(input.authoredOn), null);
    }
    case 'Specimen': {
      const subject = ref(input.subject, 'Specimen.subject', 'Patient');
      const collection = isObj(input.collection) ? input.collection : {};
      const refs = refList([subject], input.request, 'Specimen.request', 'ServiceRequest');
      const status = typeof input.status === 'string' ? input.status : null;
      const code = firstCode(input.type, 'Specimen.type', false);
      const date = dateOf(input.receivedTime) ?? dateOf(collection.collectedDateTime);
      return record(t, id, tenantId, input, subject.id, refs, status, code, date, null);
    }
    case 'Observation': {
      const subject = ref(input.subject, 'Observation.subject', 'Patient');
      const specimen = input.specimen === undefined ? null : ref(input.specimen, 'Observation.specimen', 'Specimen');
      const refs = refList([subject], input.basedOn, 'Observation.basedOn', 'ServiceRequest');
      if (specimen) refs.push(specimen);
      const status = str(input, 'status', t);
      const code = firstCode(input.code, 'Observation.code', true);
      const date = dateOf(input.effectiveDateTime) ?? dateOf(input.issued);
      return record(t, id, tenantId, input, subject.id, refs, status, code, date, null);
    }
    case 'DiagnosticReport': {
      const subject = ref(input.subject, 'DiagnosticReport.subject', 'Patient');
      const refs = refList([subject], input.basedOn, 'DiagnosticReport.basedOn', 'ServiceRequest');
      refList(refs, input.specimen, 'DiagnosticReport.specimen', 'Specimen');
      refList(refs, input.result, 'DiagnosticReport.result', 'Observation');
      const status = str(input, 'status', t);
      const code = firstCode(input.code, 'DiagnosticReport.code', true);
      const date = dateOf(input.effectiveDateTime) ?? dateOf(input.issued);
      return record(t, id, tenantId, input, subject.id, refs, status, code, date, null);
    }
  }
}

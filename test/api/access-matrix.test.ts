/**
 * The access matrix: every role × tenant scope × endpoint × operation × target (a record of the
 * principal's own tenant, the same kind of record of ANOTHER tenant, an unknown id or tenant),
 * generated, one `it` per cell so the matrix reads in the test output.
 *
 * Expectations come from EXPECTED below — a literal table written from CLI.md and from what a
 * lab's security officer would sign off (least privilege), deliberately NOT computed from
 * src/access/role-policy.ts: a test that derives its expectations from the table under test
 * proves nothing. Every cell checks, besides the status:
 *  - allowed: exactly the role's projection of the stored record (read straight from the store
 *    through vault.reader under the operator context, never through the API under test), the
 *    target tenant's tag only, Bundle.total and paging links within that tenant, and an audit
 *    event naming exactly the patients and data categories that left;
 *  - denied: 403 (role, scope or purpose) or 404 (another tenant — the same body as an unknown
 *    id), an OperationOutcome with no id, BSN, family name or birth date of the target, and a
 *    denied/error audit event that names no patient and no data;
 *  - everywhere: no id or BSN of a tenant outside the principal's scope anywhere in the body, and
 *    no full BSN at all for roles with a masked or identity-free view. The only request value a
 *    searchset reflects is its own `self` link, which is checked to hold exactly the parameters
 *    the client sent (plus the default `_count`) and is then left out of the leak scan.
 *
 * Design notes for the security officer (not failures; see the report of this test):
 *  - a search by `patient=` of another tenant's patient answers 200 with an empty Bundle
 *    (total 0), exactly as for an id that does not exist: the search runs in the caller's own
 *    tenant. A search naming another tenant in X-Tenant answers 404.
 *  - a 403 takes precedence over the tenant: a role that may not do an operation at all gets 403
 *    for every tenant, which tells it nothing about the other tenant's records.
 *  - a cross-tenant read is audited as `resource.read`/`patient.read` with outcome `error`,
 *    reason `not-found` (the same as a probe for an unknown id), not as `access.denied`: the read
 *    path never looks into other tenants, by design.
 *  - the lab technician opens a patient by id (masked BSN) but may not search patients: a BSN or
 *    name search would link a list of BSNs to names (decided after this matrix first showed it).
 *  - an identifier or name + birth date search never echoes them into the Bundle's links
 *    (`(redacted)`), so a POST _search keeps them out of URLs end to end.
 *
 * Found by this matrix and fixed in src (the cells below pin them): a security officer scoped to
 * one tenant could approve another tenant's bulk export; GET $export-status answered without a
 * purpose of use (and to any role); a refused $export-status or approval left no audit event.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isValidBsn } from '../../src/domain/bsn.js';
import type { Role } from '../../src/domain/principal.js';
import { apiFixture, type ApiFixture } from '../support/api-fixture.js';
import { CTX } from '../support/context.js';

const BSN_SYSTEM = 'http://fhir.nl/fhir/NamingSystem/bsn';
const TENANT_SYSTEM = 'https://labvault.dev/tenant';
const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';

const CLINICAL = ['ServiceRequest', 'Specimen', 'Observation', 'DiagnosticReport'] as const;
type Clinical = (typeof CLINICAL)[number];
type Kind = 'Patient' | Clinical;
const KINDS: readonly Kind[] = ['Patient', ...CLINICAL];
const ABBR: Record<Kind, string> = { Patient: 'pat', ServiceRequest: 'sr', Specimen: 'spec', Observation: 'obs', DiagnosticReport: 'dr' };
type View = 'full' | 'masked' | 'none';

// ---------------------------------------------------------------------------------------------
// The independent expectation table.
// ---------------------------------------------------------------------------------------------

interface RoleExpectation {
  /** Types the role may read by id. */
  read: readonly Kind[];
  /** Types the role may search. `_include` of the patients also needs Patient in `read`. */
  search: readonly Kind[];
  /** Types the role may create (POST /fhir/{type}, entries of a transaction). */
  create: readonly Kind[];
  /** What of a Patient the role sees: everything, masked BSN without contact data, or nothing identifying. */
  patientView: View;
  /** May kick off a bulk export (the requesting half of the two-person rule). */
  bulkExport: boolean;
  /** May approve another's bulk export (the second person), for the tenants it acts for. */
  approveExport: boolean;
  /** May open break-glass (emergency access under ETREAT). */
  breakGlass: boolean;
  /** A purpose of use the role acts under, and one it may not use. */
  purpose: string;
  notPermitted: string;
}

const NOTHING = {
  read: [],
  search: [],
  create: [],
  patientView: 'none',
  bulkExport: false,
  approveExport: false,
  breakGlass: false,
} as const;

const EXPECTED: Record<Role, RoleExpectation> = {
  // The lab's managers and reviewers: no patient data through the API, whatever their tenants.
  admin: { ...NOTHING, purpose: 'HOPERAT', notPermitted: 'TREAT' },
  'security-officer': { ...NOTHING, approveExport: true, purpose: 'HCOMPL', notPermitted: 'TREAT' },
  dpo: { ...NOTHING, purpose: 'HCOMPL', notPermitted: 'TREAT' },
  auditor: { ...NOTHING, purpose: 'HLEGAL', notPermitted: 'TREAT' },
  // Bench work: orders, specimens, results; records specimens and results; BSN masked. Opens a
  // patient by id (from a specimen's subject) but cannot search patients: a BSN or name search
  // would turn a list of BSNs into names.
  'lab-technician': {
    read: KINDS,
    search: ['ServiceRequest', 'Specimen', 'Observation', 'DiagnosticReport'],
    create: ['Specimen', 'Observation'],
    patientView: 'masked',
    bulkExport: false,
    approveExport: false,
    breakGlass: true,
    purpose: 'TREAT',
    notPermitted: 'HPAYMT',
  },
  // Authorises results and reports; sees the full identity.
  pathologist: {
    read: KINDS,
    search: KINDS,
    create: ['Observation', 'DiagnosticReport'],
    patientView: 'full',
    bulkExport: false,
    approveExport: false,
    breakGlass: true,
    purpose: 'TREAT',
    notPermitted: 'HSYSADMIN',
  },
  // Traces orders and specimens; may open a patient by id but sees no identity; no results.
  support: {
    read: ['Patient', 'ServiceRequest', 'Specimen'],
    search: ['ServiceRequest', 'Specimen'],
    create: [],
    patientView: 'none',
    bulkExport: false,
    approveExport: false,
    breakGlass: false,
    purpose: 'HOPERAT',
    notPermitted: 'TREAT',
  },
  // The controller's own system: everything of its own tenant, and bulk export (second person approves).
  'controller-system': {
    read: KINDS,
    search: KINDS,
    create: KINDS,
    patientView: 'full',
    bulkExport: true,
    approveExport: false,
    breakGlass: false,
    purpose: 'PUBHLTH',
    notPermitted: 'HRESCH',
  },
};

/** Data categories an audit event must name for what left (audit-event.ts vocabulary). */
const PATIENT_CATEGORIES: Record<View, string[]> = {
  full: ['contact', 'demographics', 'identity', 'national-id'],
  masked: ['demographics', 'identity'],
  none: [],
};
const CLINICAL_CATEGORIES: Record<Clinical, string[]> = {
  ServiceRequest: ['clinical-order'],
  Specimen: ['specimen'],
  Observation: ['clinical-result'],
  DiagnosticReport: ['clinical-result', 'follow-up-advice'],
};
/** What a masked Patient may hold: what bench work needs, nothing to reach or link the person. */
const MASKED_KEYS = new Set(['resourceType', 'id', 'meta', 'identifier', 'active', 'name', 'gender', 'birthDate', 'deceasedBoolean']);
const NONE_KEYS = new Set(['resourceType', 'id', 'meta', 'active']);

// ---------------------------------------------------------------------------------------------
// Principals: each role with one own tenant (rotated so that every tenant is someone's own and
// someone's "other"), and the lab's own staff also with '*'.
// ---------------------------------------------------------------------------------------------

interface Spec {
  role: Role;
  tenants: string[];
  /** Tenant of the "own" target (for '*': any tenant), and of the "other" target. */
  own: string;
  other: string;
  label: string;
}

const spec = (role: Role, tenants: string[], own: string, other: string): Spec => ({
  role,
  tenants,
  own,
  other,
  label: `${role} [${tenants.join(',')}]`,
});

const PRINCIPALS: Spec[] = [
  spec('admin', ['screening'], 'screening', 'hospital-west'),
  spec('admin', ['*'], 'screening', 'hospital-west'),
  spec('security-officer', ['hospital-west'], 'hospital-west', 'screening'),
  spec('security-officer', ['*'], 'hospital-west', 'private-clinic'),
  spec('dpo', ['hospital-south'], 'hospital-south', 'gp-network'),
  spec('dpo', ['*'], 'hospital-south', 'screening'),
  spec('auditor', ['gp-network'], 'gp-network', 'private-clinic'),
  spec('auditor', ['*'], 'gp-network', 'hospital-south'),
  spec('lab-technician', ['screening'], 'screening', 'hospital-west'),
  spec('lab-technician', ['*'], 'hospital-west', 'private-clinic'),
  spec('pathologist', ['hospital-west'], 'hospital-west', 'screening'),
  spec('pathologist', ['*'], 'screening', 'gp-network'),
  spec('support', ['private-clinic'], 'private-clinic', 'hospital-south'),
  spec('support', ['*'], 'hospital-south', 'screening'),
  spec('controller-system', ['screening'], 'screening', 'hospital-west'),
  spec('controller-system', ['hospital-south'], 'hospital-south', 'gp-network'),
];

const wild = (s: Spec): boolean => s.tenants.includes('*');
const inScope = (s: Spec, tenant: string): boolean => wild(s) || s.tenants.includes(tenant);

// ---------------------------------------------------------------------------------------------
// Operations and the cells they make.
// ---------------------------------------------------------------------------------------------

type Op =
  | { kind: 'read'; type: Kind }
  | { kind: 'patient-search'; by: 'identifier' | 'system|identifier' | 'family+birthdate'; via: 'GET' | 'POST' | 'GET X-Tenant' }
  | { kind: 'search'; type: Clinical; by: 'patient' | 'subject+_include' | 'status' | 'code' | 'date'; via: 'GET' | 'POST' }
  | { kind: 'create'; type: Kind }
  /** A record tagged with the caller's tenant whose subject is another tenant's patient. */
  | { kind: 'create-xref'; type: Clinical }
  | { kind: 'transaction'; variant: 'plain' | 'own+other' | 'extra-type' }
  | { kind: 'export' };

/** 'unknown': an id no tenant holds (reads), or a tenant that does not exist (X-Tenant, tags). */
type Target = 'own' | 'other' | 'unknown';
const NO_SUCH_TENANT = 'no-such-tenant';
/** 'empty': 200 with an empty searchset (total 0) — the search ran in the caller's own tenant. */
type Outcome = 'ok' | 'empty' | 400 | 403 | 404;

interface Cell {
  name: string;
  op: Op;
  target: Target;
  tenant: string;
  expected: Outcome;
}

const OPS: Op[] = [
  ...KINDS.map((type): Op => ({ kind: 'read', type })),
  { kind: 'patient-search', by: 'identifier', via: 'GET' },
  { kind: 'patient-search', by: 'system|identifier', via: 'GET' },
  { kind: 'patient-search', by: 'identifier', via: 'POST' },
  { kind: 'patient-search', by: 'identifier', via: 'GET X-Tenant' },
  { kind: 'patient-search', by: 'family+birthdate', via: 'GET' },
  { kind: 'patient-search', by: 'family+birthdate', via: 'POST' },
  ...CLINICAL.flatMap((type): Op[] => [
    { kind: 'search', type, by: 'patient', via: 'GET' },
    { kind: 'search', type, by: 'patient', via: 'POST' },
    { kind: 'search', type, by: 'subject+_include', via: 'GET' },
    { kind: 'search', type, by: 'status', via: 'GET' },
    { kind: 'search', type, by: 'status', via: 'POST' },
    { kind: 'search', type, by: 'code', via: 'GET' },
    { kind: 'search', type, by: 'date', via: 'GET' },
  ]),
  ...KINDS.map((type): Op => ({ kind: 'create', type })),
  ...CLINICAL.map((type): Op => ({ kind: 'create-xref', type })),
  { kind: 'transaction', variant: 'plain' },
  { kind: 'transaction', variant: 'own+other' },
  { kind: 'transaction', variant: 'extra-type' },
  { kind: 'export' },
];

function opLabel(op: Op): string {
  switch (op.kind) {
    case 'read':
      return `GET /fhir/${op.type}/{id}`;
    case 'patient-search': {
      const q = op.by === 'family+birthdate' ? 'family=…&birthdate=…' : op.by === 'identifier' ? 'identifier=…' : 'identifier=bsn-system|…';
      if (op.via === 'POST') return `POST /fhir/Patient/_search {${q}}`;
      return `GET /fhir/Patient?${q}${op.via === 'GET X-Tenant' ? ' +X-Tenant' : ''}`;
    }
    case 'search': {
      const q = {
        patient: 'patient=…',
        'subject+_include': `subject=…&_include=${op.type}:subject`,
        status: 'status=…',
        code: 'code=system|…',
        date: 'date=ge…',
      }[op.by];
      return op.via === 'POST' ? `POST /fhir/${op.type}/_search {${q}}` : `GET /fhir/${op.type}?${q}`;
    }
    case 'create':
      return `POST /fhir/${op.type}`;
    case 'create-xref':
      return `POST /fhir/${op.type} (own tag, subject of another tenant)`;
    case 'transaction':
      return `POST /fhir transaction (${op.variant})`;
    case 'export':
      return 'GET /fhir/$export';
  }
}

/** The types a transaction of `variant` carries for `role`, from the table above. */
function bundleTypes(role: Role, variant: 'plain' | 'own+other' | 'extra-type'): Kind[] {
  const creatable = EXPECTED[role].create;
  const base: Kind[] = creatable.length > 0 ? [...creatable] : ['Observation'];
  if (variant === 'own+other') return [base[0] as Kind];
  if (variant === 'extra-type') return [...base, KINDS.find((k) => !creatable.includes(k)) as Kind];
  return base;
}

function roleAllowsOp(role: Role, op: Op): boolean {
  const e = EXPECTED[role];
  switch (op.kind) {
    case 'read':
      return e.read.includes(op.type);
    case 'patient-search':
      return e.search.includes('Patient');
    case 'search':
      return e.search.includes(op.type) && (op.by !== 'subject+_include' || e.read.includes('Patient'));
    case 'create':
    case 'create-xref':
      return e.create.includes(op.type);
    case 'transaction':
      return bundleTypes(role, op.variant).every((t) => e.create.includes(t));
    case 'export':
      return e.bulkExport;
  }
}

function expectedOutcome(s: Spec, op: Op, tenant: string, target: Target): Outcome {
  if (!roleAllowsOp(s.role, op)) return 403;
  if (target === 'unknown') return 404;
  if (op.kind === 'create-xref') return 400; // the reference does not resolve in the caller's tenant
  if (inScope(s, tenant)) return 'ok';
  // Another controller's data: exactly as if it did not exist.
  if (op.kind === 'patient-search' && op.via !== 'GET X-Tenant') return 'empty';
  if (op.kind === 'search' && (op.by === 'patient' || op.by === 'subject+_include')) return 'empty';
  return 404;
}

function cellsFor(s: Spec): Cell[] {
  const cells: Cell[] = [];
  const add = (op: Op, target: Target, tenant: string) => {
    const expected = expectedOutcome(s, op, tenant, target);
    const where =
      target === 'unknown'
        ? op.kind === 'read'
          ? 'unknown id'
          : `unknown tenant ${tenant}`
        : op.kind === 'transaction' && op.variant === 'own+other'
          ? `${s.own} + ${s.other}`
          : wild(s)
            ? `tenant ${tenant}`
            : `${target} tenant ${tenant}`;
    const what = expected === 'ok' ? 'allowed' : expected === 'empty' ? 'empty Bundle' : String(expected);
    cells.push({ name: `${opLabel(op)} · ${where} → ${what}`, op, target, tenant, expected });
  };
  for (const op of OPS) {
    if (op.kind === 'create-xref') {
      if (!wild(s)) add(op, 'other', s.other);
      continue;
    }
    if (op.kind === 'transaction' && op.variant === 'own+other') {
      add(op, 'other', s.other);
      continue;
    }
    if (op.kind === 'transaction' && op.variant === 'extra-type') {
      const n = EXPECTED[s.role].create.length;
      if (n > 0 && n < KINDS.length) add(op, 'own', s.own);
      continue;
    }
    add(op, 'own', s.own);
    add(op, 'other', s.other);
    if (op.kind === 'read') add(op, 'unknown', s.own);
    // A tenant that does not exist answers exactly like one that is not the caller's.
    const tenantWide =
      (op.kind === 'search' && !['patient', 'subject+_include'].includes(op.by)) ||
      (op.kind === 'patient-search' && op.via === 'GET X-Tenant') ||
      op.kind === 'create' ||
      op.kind === 'export' ||
      (op.kind === 'transaction' && op.variant === 'plain');
    if (tenantWide && !wild(s)) add(op, 'unknown', NO_SUCH_TENANT);
  }
  return cells;
}

const PURPOSE_VARIANTS = ['missing', 'not permitted for the role', 'unknown code', 'malformed'] as const;
type PurposeVariant = (typeof PURPOSE_VARIANTS)[number];
const PURPOSE_OPS: Op[] = [
  { kind: 'read', type: 'Patient' },
  { kind: 'read', type: 'Specimen' },
  { kind: 'search', type: 'Observation', by: 'status', via: 'GET' },
  { kind: 'patient-search', by: 'identifier', via: 'POST' },
  { kind: 'create', type: 'Observation' },
  { kind: 'export' },
];

// ---------------------------------------------------------------------------------------------
// The lab as stored, read through vault.reader under the operator context (not the API).
// ---------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

interface Rec {
  tenant: string;
  type: Kind;
  id: string;
  patientId: string;
  resource: Json;
  status: string | null;
  code: string | null;
  date: string | null;
}

interface TenantTarget {
  patient: Rec;
  records: Record<Clinical, Rec>;
}

interface AuditWire {
  action: string;
  outcome: string;
  principal: { id: string; role: string; tenants: string[] };
  tenant: string | null;
  patients: string[];
  categories: string[];
  records: number;
  purpose: string | null;
  reason: string | null;
  detail: Record<string, unknown>;
}

interface Live {
  spec: Spec;
  id: string;
  token: string;
  /** The Patient view when it is not the role's (break-glass lifts the masking). */
  view?: View;
}

const viewOf = (p: Live): View => p.view ?? EXPECTED[p.spec.role].patientView;

const ID_RE = /\b(?:pat|sr|spec|obs|dr)-[0-9a-f]{4}(?:-[0-9a-f]{4}){3}\b|\bmx-[a-z]+-\d+\b/g;
const BSN_RE = /(?<!\d)\d{9}(?!\d)/g;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const parse = (text: string): Json => JSON.parse(text) as Json;
const arr = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObj) : []);

function firstCode(v: unknown): string | null {
  const c = arr(isObj(v) ? v.coding : undefined).find((x) => typeof x.code === 'string');
  return c ? (c.code as string) : null;
}

function day(v: unknown): string | null {
  return typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v) ? v.slice(0, 10) : null;
}

function subjectId(r: Json): string {
  const ref = isObj(r.subject) ? r.subject.reference : undefined;
  return typeof ref === 'string' ? ref.replace(/^Patient\//, '') : '';
}

function bsnOf(p: Json): string {
  const v = arr(p.identifier).find((i) => i.system === BSN_SYSTEM)?.value;
  return typeof v === 'string' ? v : '';
}
const familyOf = (p: Json): string => {
  const f = arr(p.name)[0]?.family;
  return typeof f === 'string' ? f : '';
};
const birthDateOf = (p: Json): string => (typeof p.birthDate === 'string' ? p.birthDate : '');

function recOf(tenant: string, resource: Json): Rec {
  const type = resource.resourceType as Kind;
  const id = resource.id as string;
  const collection = isObj(resource.collection) ? resource.collection : {};
  const date =
    type === 'Patient'
      ? null
      : type === 'ServiceRequest'
        ? day(resource.authoredOn)
        : type === 'Specimen'
          ? (day(resource.receivedTime) ?? day(collection.collectedDateTime))
          : (day(resource.effectiveDateTime) ?? day(resource.issued));
  return {
    tenant,
    type,
    id,
    patientId: type === 'Patient' ? id : subjectId(resource),
    resource,
    status: typeof resource.status === 'string' ? resource.status : null,
    code: type === 'Patient' ? null : firstCode(type === 'Specimen' ? resource.type : resource.code),
    date,
  };
}

class World {
  readonly recs: Rec[] = [];
  readonly idTenants = new Map<string, Set<string>>();
  readonly bsnTenants = new Map<string, Set<string>>();
  readonly targets = new Map<string, TenantTarget>();
  private bsnSeed = 200_000_000;
  private seq = 0;

  add(r: Rec): void {
    this.recs.push(r);
    const ids = this.idTenants.get(r.id) ?? new Set<string>();
    this.idTenants.set(r.id, ids.add(r.tenant));
    if (r.type === 'Patient') {
      const b = bsnOf(r.resource);
      this.bsnTenants.set(b, (this.bsnTenants.get(b) ?? new Set<string>()).add(r.tenant));
    }
  }

  find(tenant: string, type: Kind, id: string): Rec | undefined {
    return this.recs.find((r) => r.tenant === tenant && r.type === type && r.id === id);
  }

  patient(tenant: string, id: string): Rec {
    const p = this.find(tenant, 'Patient', id);
    if (!p) throw new Error(`no patient ${id} in ${tenant}`);
    return p;
  }

  of(tenant: string, type: Kind): Rec[] {
    return this.recs.filter((r) => r.tenant === tenant && r.type === type);
  }

  target(tenant: string): TenantTarget {
    const t = this.targets.get(tenant);
    if (!t) throw new Error(`no target in ${tenant}`);
    return t;
  }

  targetRec(tenant: string, type: Kind): Rec {
    const t = this.target(tenant);
    return type === 'Patient' ? t.patient : t.records[type];
  }

  /** Strings that must never reach a caller who may not see `r`: its id and its patient's identity. */
  secrets(r: Rec): string[] {
    const p = this.patient(r.tenant, r.patientId).resource;
    return [...new Set([r.id, r.patientId, bsnOf(p), familyOf(p), birthDateOf(p)])].filter((x) => x !== '');
  }

  freshBsn(): string {
    for (;;) {
      const b = String(this.bsnSeed++);
      if (isValidBsn(b) && !this.bsnTenants.has(b)) return b;
    }
  }

  nextId(type: Kind): string {
    return `mx-${ABBR[type]}-${++this.seq}`;
  }

  /** Picks per tenant a patient whose BSN and family+birth date no other tenant holds, with records of every type. */
  chooseTargets(tenants: string[]): void {
    for (const t of tenants) {
      const others = JSON.stringify(this.recs.filter((r) => r.tenant !== t).map((r) => r.resource));
      const candidates = this.of(t, 'Patient')
        .filter((p) => {
          const b = bsnOf(p.resource);
          return b !== '' && !others.includes(b) && !others.includes(familyOf(p.resource)) && birthDateOf(p.resource) !== '1970-01-01';
        })
        .map((p) => ({ p, types: CLINICAL.filter((c) => this.of(t, c).some((r) => r.patientId === p.id)).length }))
        .sort((a, b) => b.types - a.types || a.p.id.localeCompare(b.p.id));
      const chosen = candidates[0]?.p;
      if (!chosen) throw new Error(`tenant ${t}: no patient with an identity unique to the tenant`);
      const records = {} as Record<Clinical, Rec>;
      for (const c of CLINICAL) {
        const own = this.of(t, c).find((r) => r.patientId === chosen.id) ?? this.of(t, c)[0];
        if (!own) throw new Error(`tenant ${t} holds no ${c}`);
        records[c] = own;
      }
      this.targets.set(t, { patient: chosen, records });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Fixture.
// ---------------------------------------------------------------------------------------------

let f: ApiFixture;
const W = new World();
const live = new Map<string, Live>();
const NOT_FOUND_BODY = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found', diagnostics: 'not found' }] };
const READ_ACTIONS = new Set(['patient.read', 'patient.search', 'resource.read', 'resource.search']);

beforeAll(async () => {
  f = await apiFixture();
  for (const t of f.lab.tenants) {
    for (const id of f.lab.patients.get(t) ?? []) W.add(recOf(t, await f.vault.reader.patient(CTX, t, id)));
    for (const type of CLINICAL)
      for (const id of f.lab.resources.get(t)?.get(type) ?? []) W.add(recOf(t, await f.vault.reader.resource(CTX, t, type, id)));
  }
  // The leak scanner finds ids by shape: it must see every id the lab holds.
  for (const r of W.recs) expect(r.id.match(ID_RE)?.[0], `id shape ${r.id}`).toBe(r.id);
  expect(new Set(f.lab.tenants)).toEqual(new Set(['screening', 'hospital-west', 'hospital-south', 'gp-network', 'private-clinic']));
  W.chooseTargets(f.lab.tenants);
  for (const s of PRINCIPALS) {
    const p = await f.principal(s.role, s.tenants);
    live.set(s.label, { spec: s, ...p });
  }
});
afterAll(async () => f?.close());

function principal(s: Spec): Live {
  const p = live.get(s.label);
  if (!p) throw new Error(`principal ${s.label} not created`);
  return p;
}

// ---------------------------------------------------------------------------------------------
// Requests and the checks every cell shares.
// ---------------------------------------------------------------------------------------------

interface Sent {
  res: LightMyRequestResponse;
  text: string;
  events: AuditWire[];
}

interface SendOpts {
  method: 'GET' | 'POST';
  url: string;
  form?: Record<string, string>;
  json?: unknown;
  tenant?: string | undefined;
  /** undefined: the role's purpose; null: no header. */
  purpose?: string | null;
}

async function auditSize(): Promise<number> {
  return (await f.vault.store.auditHead()).size;
}

async function send(p: Live, o: SendOpts): Promise<Sent> {
  const headers: Record<string, string> = { authorization: `Bearer ${p.token}` };
  const purpose = o.purpose === undefined ? EXPECTED[p.spec.role].purpose : o.purpose;
  if (purpose !== null) headers['x-purpose-of-use'] = purpose;
  if (o.tenant !== undefined) headers['x-tenant'] = o.tenant;
  let payload: string | undefined;
  if (o.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    payload = new URLSearchParams(o.form).toString();
  } else if (o.json !== undefined) {
    headers['content-type'] = 'application/fhir+json';
    payload = JSON.stringify(o.json);
  }
  const before = await auditSize();
  const res = await f.app.inject({ method: o.method, url: o.url, headers, ...(payload !== undefined ? { payload } : {}) });
  const after = await auditSize();
  const events: AuditWire[] = [];
  for await (const page of f.vault.store.readAuditEvents(before, after))
    for (const b of page) events.push(JSON.parse(b.toString('utf8')) as AuditWire);
  for (const e of events) expect(e.principal.id, 'an event of this request names another principal').toBe(p.id);
  return { res, text: res.body, events };
}

/** The X-Tenant header a tenant-wide request needs to address `tenant`. */
function tenantHeader(s: Spec, tenant: string, always = false): string | undefined {
  return always || wild(s) || tenant !== s.own ? tenant : undefined;
}

/** No id or BSN of a tenant outside the principal's scope; no full BSN for masked/none views. */
function scan(p: Live, text: string, echoes: string[] = []): void {
  let t = text;
  for (const e of echoes) t = t.split(e).join('');
  for (const m of t.matchAll(ID_RE)) {
    const tenants = W.idTenants.get(m[0]);
    if (tenants && ![...tenants].some((x) => inScope(p.spec, x)))
      expect.fail(`${p.spec.label}: response names ${m[0]} of ${[...tenants].join(',')}`);
  }
  for (const m of t.matchAll(BSN_RE)) {
    const tenants = W.bsnTenants.get(m[0]);
    if (!tenants) continue;
    if (viewOf(p) !== 'full') expect.fail(`${p.spec.label}: a full BSN in a ${viewOf(p)} view`);
    if (![...tenants].some((x) => inScope(p.spec, x))) expect.fail(`${p.spec.label}: BSN of ${[...tenants].join(',')}`);
  }
}

function assertNoSecrets(text: string, secrets: string[], echoes: string[] = []): void {
  let t = text;
  for (const e of echoes) t = t.split(e).join('');
  for (const s of secrets) expect(t.includes(s), `response reveals ${s}`).toBe(false);
}

function assertDenied(p: Live, r: Sent, status: 403 | 404, secrets: string[]): void {
  expect(r.res.statusCode, r.text).toBe(status);
  const body = parse(r.text);
  expect(body.resourceType).toBe('OperationOutcome');
  // A 404 is word for word the 404 of an id that does not exist: no hint which check failed.
  if (status === 404) expect(body).toEqual(NOT_FOUND_BODY);
  else expect(arr(body.issue)[0]?.code).toBe('forbidden');
  assertNoSecrets(r.text, secrets);
  scan(p, r.text);
  expect(r.events.length, 'a refused request leaves an audit event').toBeGreaterThan(0);
  for (const e of r.events) {
    expect(e.outcome, `${e.action} of a refused request`).not.toBe('allowed');
    expect(e.reason).not.toBeNull();
    expect(e.patients).toEqual([]);
    expect(e.categories).toEqual([]);
    expect(e.records).toBe(0);
  }
  if (status === 403) expect(r.events.some((e) => e.action === 'access.denied' && e.outcome === 'denied')).toBe(true);
  else expect(r.events.some((e) => e.outcome === 'denied' || (e.outcome === 'error' && e.reason === 'not-found'))).toBe(true);
}

function tenantTagsOf(resource: Json): string[] {
  const meta = isObj(resource.meta) ? resource.meta : {};
  return arr(meta.tag)
    .filter((t) => t.system === TENANT_SYSTEM)
    .map((t) => String(t.code));
}

/** What `role` must get of a stored resource; checks the projection and the tenant tag. */
function assertProjection(p: Live, got: Json, stored: Rec): void {
  expect(tenantTagsOf(got), `tenant tag of ${stored.type}/${stored.id}`).toEqual([stored.tenant]);
  expect(inScope(p.spec, stored.tenant)).toBe(true);
  if (stored.type !== 'Patient') {
    expect(got).toEqual(stored.resource);
    return;
  }
  const view = viewOf(p);
  const full = stored.resource;
  if (view === 'full') {
    expect(got).toEqual(full);
    return;
  }
  const keys = Object.keys(got);
  for (const k of keys) expect((view === 'masked' ? MASKED_KEYS : NONE_KEYS).has(k), `${view} view shows ${k}`).toBe(true);
  expect(got.id).toBe(full.id);
  expect(got.meta).toEqual(full.meta);
  expect(got.address).toBeUndefined();
  expect(got.telecom).toBeUndefined();
  if (view === 'masked') {
    const bsn = bsnOf(full);
    const masked = arr(got.identifier).find((i) => i.system === BSN_SYSTEM)?.value;
    expect(masked).toMatch(/^\*+\d{2}$/);
    expect(String(masked).slice(-2)).toBe(bsn.slice(-2));
    expect(got.name).toEqual(full.name);
    expect(got.birthDate).toBe(full.birthDate);
  } else {
    expect(got.identifier).toBeUndefined();
    expect(got.name).toBeUndefined();
    expect(got.birthDate).toBeUndefined();
  }
}

function expectedCategories(p: Live, returned: Rec[]): string[] {
  const out = new Set<string>();
  for (const r of returned) for (const c of r.type === 'Patient' ? PATIENT_CATEGORIES[viewOf(p)] : CLINICAL_CATEGORIES[r.type]) out.add(c);
  return [...out].sort();
}

/** The read events of one request name exactly the patients and categories of what it returned. */
function assertReadAudit(p: Live, events: AuditWire[], returned: Rec[], about: string | null = null): void {
  const reads = events.filter((e) => READ_ACTIONS.has(e.action));
  expect(reads.length, 'an allowed read writes an audit event').toBeGreaterThan(0);
  for (const e of events) expect(e.outcome, `${e.action}`).toBe('allowed');
  const patients = new Set<string>();
  const categories = new Set<string>();
  for (const e of reads) {
    expect(e.tenant !== null && inScope(p.spec, e.tenant), `event tenant ${e.tenant}`).toBe(true);
    for (const id of e.patients) {
      expect(W.idTenants.get(id)?.has(e.tenant as string), `event of ${e.tenant} names ${id}`).toBe(true);
      patients.add(id);
    }
    for (const c of e.categories) categories.add(c);
  }
  const expectedPatients = new Set(returned.map((r) => r.patientId));
  if (about !== null) expectedPatients.add(about);
  expect([...patients].sort()).toEqual([...expectedPatients].sort());
  expect([...categories].sort()).toEqual(expectedCategories(p, returned));
  // The identity-free view names no identity category; the masked one no national id or contact.
  const view = viewOf(p);
  if (view === 'none') for (const c of ['identity', 'national-id', 'contact', 'demographics']) expect(categories.has(c)).toBe(false);
  if (view === 'masked') for (const c of ['national-id', 'contact']) expect(categories.has(c)).toBe(false);
}

function linksOf(bundle: Json): { relation: string; url: string }[] {
  return arr(bundle.link).map((l) => ({ relation: String(l.relation), url: String(l.url) }));
}

function paramsOf(url: string): [string, string][] {
  return [...new URL(url).searchParams.entries()].sort((a, b) => a[0].localeCompare(b[0]) || a[1].localeCompare(b[1]));
}

const sortParams = (ps: [string, string][]): [string, string][] =>
  [...ps].sort((a, b) => a[0].localeCompare(b[0]) || a[1].localeCompare(b[1]));

/** The `self` link holds exactly the parameters sent; returned as it appears in the JSON text, to leave it out of scans. */
function assertSelf(bundle: Json, path: string, params: [string, string][]): string {
  const self = linksOf(bundle).find((l) => l.relation === 'self');
  expect(self, 'self link').toBeDefined();
  const url = (self as { url: string }).url;
  expect(new URL(url).pathname).toBe(`/fhir/${path}`);
  expect(paramsOf(url)).toEqual(sortParams(params));
  return JSON.stringify(url).slice(1, -1);
}

function assertEmpty(p: Live, r: Sent, path: string, params: [string, string][], secrets: string[]): void {
  expect(r.res.statusCode, r.text).toBe(200);
  const b = parse(r.text);
  expect(b.resourceType).toBe('Bundle');
  expect(b.type).toBe('searchset');
  expect(b.total, 'Bundle.total of a search of another tenant').toBe(0);
  expect(arr(b.entry)).toEqual([]);
  expect(linksOf(b).map((l) => l.relation)).toEqual(['self']);
  const echo = assertSelf(b, path, params);
  assertNoSecrets(r.text, secrets, [echo]);
  scan(p, r.text, [echo]);
  const reads = r.events.filter((e) => READ_ACTIONS.has(e.action));
  expect(reads.length).toBeGreaterThan(0);
  for (const e of r.events) {
    expect(e.outcome).toBe('allowed');
    expect(e.tenant !== null && inScope(p.spec, e.tenant)).toBe(true);
    expect(e.patients).toEqual([]);
    expect(e.categories).toEqual([]);
    expect(e.records).toBe(0);
  }
}

/**
 * An allowed search: every page (following `next`) holds only expected matches of `tenant` in
 * the role's projection, the included patients of the page, the same total, and links made of
 * the request's parameters and an id of this page; together the pages are exactly the matches.
 */
async function assertSearchset(
  p: Live,
  first: Sent,
  o: { path: string; params: [string, string][]; expected: Rec[]; include: boolean; tenant: string | undefined },
): Promise<void> {
  const expectedIds = new Set(o.expected.map((r) => `${r.tenant}/${r.id}`));
  const seen: string[] = [];
  let r: Sent | null = first;
  let pages = 0;
  let after: string | null = null;
  while (r) {
    expect(r.res.statusCode, r.text).toBe(200);
    expect(++pages).toBeLessThan(20);
    const b = parse(r.text);
    expect(b.resourceType).toBe('Bundle');
    expect(b.type).toBe('searchset');
    expect(b.total, 'Bundle.total counts the matches of this tenant only').toBe(o.expected.length);
    const entries = arr(b.entry);
    const matches = entries.filter((e) => isObj(e.search) && e.search.mode === 'match');
    const included = entries.filter((e) => isObj(e.search) && e.search.mode === 'include');
    expect(matches.length + included.length).toBe(entries.length);
    expect(matches.length).toBeLessThanOrEqual(20);
    const returned: Rec[] = [];
    for (const e of matches) {
      const res = e.resource as Json;
      const rec = o.expected.find((x) => x.id === res.id && x.type === res.resourceType);
      expect(rec, `unexpected match ${String(res.resourceType)}/${String(res.id)}`).toBeDefined();
      assertProjection(p, res, rec as Rec);
      expect(String(e.fullUrl).endsWith(`/fhir/${String(res.resourceType)}/${String(res.id)}`)).toBe(true);
      seen.push(`${(rec as Rec).tenant}/${(rec as Rec).id}`);
      returned.push(rec as Rec);
    }
    if (o.include) {
      const want = [...new Set(returned.map((x) => `${x.tenant}/${x.patientId}`))].sort();
      const got: string[] = [];
      for (const e of included) {
        const res = e.resource as Json;
        expect(res.resourceType).toBe('Patient');
        const tenant = tenantTagsOf(res)[0] as string;
        const rec = W.patient(tenant, String(res.id));
        assertProjection(p, res, rec);
        got.push(`${tenant}/${rec.id}`);
        returned.push(rec);
      }
      expect(got.sort()).toEqual(want);
    } else expect(included).toEqual([]);
    const links = linksOf(b);
    for (const l of links) expect(['self', 'next']).toContain(l.relation);
    const echo = assertSelf(b, o.path, after === null ? o.params : [...o.params, ['_after', after]]);
    const next = links.find((l) => l.relation === 'next');
    scan(p, r.text, [echo]);
    assertReadAudit(p, r.events, returned);
    if (next) {
      const last = matches[matches.length - 1]?.resource as Json | undefined;
      expect(last).toBeDefined();
      after = String(last?.id);
      expect(paramsOf(next.url)).toEqual(sortParams([...o.params, ['_after', after]]));
      const u = new URL(next.url);
      r = await send(p, { method: 'GET', url: `${u.pathname}${u.search}`, tenant: o.tenant });
    } else r = null;
  }
  expect(new Set(seen).size, 'a record on two pages').toBe(seen.length);
  expect(new Set(seen)).toEqual(expectedIds);
}

// ---------------------------------------------------------------------------------------------
// The cells.
// ---------------------------------------------------------------------------------------------

function build(type: Kind, tenant: string, patientId: string): Json {
  const id = W.nextId(type);
  const meta = { tag: [{ system: TENANT_SYSTEM, code: tenant }] };
  const subject = { reference: `Patient/${patientId}` };
  switch (type) {
    case 'Patient':
      return {
        resourceType: 'Patient',
        id,
        meta,
        identifier: [{ system: BSN_SYSTEM, value: W.freshBsn() }],
        name: [{ family: `Matrixtest${id.replace(/\D/g, '')}`, given: ['Eva'] }],
        gender: 'female',
        birthDate: '1970-01-01',
      };
    case 'ServiceRequest':
      return {
        resourceType: type,
        id,
        meta,
        status: 'active',
        intent: 'order',
        code: { coding: [{ system: LOINC, code: '4548-4' }] },
        subject,
        authoredOn: '2024-05-01',
      };
    case 'Specimen':
      return {
        resourceType: type,
        id,
        meta,
        status: 'available',
        type: { coding: [{ system: SNOMED, code: '119297000' }] },
        subject,
        receivedTime: '2024-05-01T09:00:00Z',
      };
    case 'Observation':
      return {
        resourceType: type,
        id,
        meta,
        status: 'final',
        code: { coding: [{ system: LOINC, code: '4548-4' }] },
        subject,
        effectiveDateTime: '2024-05-02T10:00:00Z',
        valueQuantity: { value: 41, unit: 'mmol/mol' },
      };
    case 'DiagnosticReport':
      return {
        resourceType: type,
        id,
        meta,
        status: 'final',
        code: { coding: [{ system: LOINC, code: '4548-4' }] },
        subject,
        effectiveDateTime: '2024-05-03T12:00:00Z',
        conclusion: 'Access matrix test report.',
      };
  }
}

async function storedIn(tenant: string, type: Kind, id: string): Promise<boolean> {
  return type === 'Patient'
    ? (await f.vault.store.getPatient(tenant, id)) !== null
    : (await f.vault.store.getResource(tenant, type, id)) !== null;
}

async function assertStoredNowhere(resources: Json[]): Promise<void> {
  for (const r of resources)
    for (const t of f.lab.tenants)
      expect(await storedIn(t, r.resourceType as Kind, r.id as string), `${String(r.resourceType)}/${String(r.id)} stored in ${t}`).toBe(
        false,
      );
}

/** An allowed create: stored in its tenant as sent (read back through the store), audited, added to the world. */
async function assertCreated(p: Live, r: Sent, resources: Json[]): Promise<void> {
  for (const res of resources) {
    const tenant = tenantTagsOf(res)[0] as string;
    expect(inScope(p.spec, tenant)).toBe(true);
    const type = res.resourceType as Kind;
    const back =
      type === 'Patient'
        ? await f.vault.reader.patient(CTX, tenant, res.id as string)
        : await f.vault.reader.resource(CTX, tenant, type, res.id as string);
    expect(back).toEqual(res);
    for (const t of f.lab.tenants) if (t !== tenant) expect(await storedIn(t, type, res.id as string)).toBe(false);
    const rec = recOf(tenant, res);
    const w = r.events.find((e) => e.action === 'ingest.write' && e.tenant === tenant && e.outcome === 'allowed');
    expect(w, `ingest.write event for ${tenant}`).toBeDefined();
    expect(w?.patients).toContain(rec.patientId);
    W.add(rec);
  }
  scan(p, r.text);
}

async function runCell(p: Live, cell: Cell): Promise<void> {
  const s = p.spec;
  const { op, tenant, expected } = cell;
  // Where the request's values come from: a tenant that does not exist is asked with the own tenant's.
  const data = tenant === NO_SUCH_TENANT ? s.own : tenant;
  switch (op.kind) {
    case 'read': {
      const rec = cell.target === 'unknown' ? null : W.targetRec(tenant, op.type);
      const id = rec ? rec.id : `${ABBR[op.type]}-0000-0000-0000-0000`;
      const r = await send(p, { method: 'GET', url: `/fhir/${op.type}/${id}` });
      if (expected === 'ok' && rec) {
        expect(r.res.statusCode, r.text).toBe(200);
        assertProjection(p, parse(r.text), rec);
        scan(p, r.text);
        assertReadAudit(p, r.events, [rec], op.type === 'Patient' ? rec.id : null);
      } else assertDenied(p, r, expected as 403 | 404, rec ? W.secrets(rec) : [id]);
      return;
    }
    case 'patient-search': {
      const target = W.target(data).patient;
      const pr = target.resource;
      const params: [string, string][] =
        op.by === 'family+birthdate'
          ? [
              ['family', familyOf(pr)],
              ['birthdate', birthDateOf(pr)],
            ]
          : [['identifier', op.by === 'identifier' ? bsnOf(pr) : `${BSN_SYSTEM}|${bsnOf(pr)}`]];
      // The BSN of an identifier search is never echoed into the Bundle's links.
      const linkParams: [string, string][] =
        op.by === 'family+birthdate'
          ? [
              ['family', '(redacted)'],
              ['birthdate', '(redacted)'],
            ]
          : [['identifier', `${BSN_SYSTEM}|(redacted)`]];
      const header = op.via === 'GET X-Tenant' ? tenant : undefined;
      const r =
        op.via === 'POST'
          ? await send(p, { method: 'POST', url: '/fhir/Patient/_search', form: Object.fromEntries(params) })
          : await send(p, { method: 'GET', url: `/fhir/Patient?${new URLSearchParams(params).toString()}`, tenant: header });
      if (expected === 'ok') {
        const scope = header !== undefined ? [header] : f.lab.tenants.filter((t) => inScope(s, t));
        const matches = W.recs.filter(
          (x) =>
            x.type === 'Patient' &&
            scope.includes(x.tenant) &&
            (op.by === 'family+birthdate'
              ? familyOf(x.resource).toLowerCase() === familyOf(pr).toLowerCase() && birthDateOf(x.resource) === birthDateOf(pr)
              : bsnOf(x.resource) === bsnOf(pr)),
        );
        expect(matches.map((m) => m.id)).toContain(target.id);
        await assertSearchset(p, r, { path: 'Patient', params: linkParams, expected: matches, include: false, tenant: header });
      } else if (expected === 'empty') assertEmpty(p, r, 'Patient', linkParams, W.secrets(target));
      else assertDenied(p, r, expected as 403 | 404, W.secrets(target));
      return;
    }
    case 'search': {
      const rec = W.targetRec(data, op.type);
      const params: [string, string][] = [];
      const self: [string, string][] = [];
      let header: string | undefined;
      let match: (x: Rec) => boolean;
      switch (op.by) {
        case 'patient':
        case 'subject+_include':
          params.push(op.by === 'patient' ? ['patient', rec.patientId] : ['subject', `Patient/${rec.patientId}`]);
          self.push(['patient', rec.patientId]);
          if (op.by === 'subject+_include') {
            params.push(['_include', `${op.type}:subject`]);
            self.push(['_include', `${op.type}:subject`]);
          }
          match = (x) => x.patientId === rec.patientId;
          break;
        case 'status':
          params.push(['status', rec.status as string]);
          match = (x) => x.status === rec.status;
          header = tenantHeader(s, tenant);
          break;
        case 'code': {
          const system = op.type === 'Specimen' ? SNOMED : LOINC;
          params.push(['code', `${system}|${rec.code as string}`]);
          match = (x) => x.code === rec.code;
          header = tenantHeader(s, tenant);
          break;
        }
        case 'date':
          params.push(['date', `ge${rec.date as string}`]);
          match = (x) => x.date !== null && x.date >= (rec.date as string);
          header = tenantHeader(s, tenant);
          break;
      }
      if (op.by !== 'patient' && op.by !== 'subject+_include') self.push(...params);
      self.push(['_count', '20']);
      const r =
        op.via === 'POST'
          ? await send(p, { method: 'POST', url: `/fhir/${op.type}/_search`, form: Object.fromEntries(params), tenant: header })
          : await send(p, { method: 'GET', url: `/fhir/${op.type}?${new URLSearchParams(params).toString()}`, tenant: header });
      if (expected === 'ok') {
        const want = W.of(tenant, op.type).filter(match);
        expect(want.length, 'the search finds something to check').toBeGreaterThan(0);
        await assertSearchset(p, r, { path: op.type, params: self, expected: want, include: op.by === 'subject+_include', tenant: header });
      } else if (expected === 'empty') assertEmpty(p, r, op.type, self, W.secrets(rec));
      else assertDenied(p, r, expected as 403 | 404, W.secrets(rec));
      return;
    }
    case 'create': {
      const patient = W.target(data).patient;
      const res = build(op.type, tenant, patient.id);
      const r = await send(p, { method: 'POST', url: `/fhir/${op.type}`, json: res });
      if (expected === 'ok') {
        expect(r.res.statusCode, r.text).toBe(201);
        expect(String(r.res.headers.location)).toMatch(new RegExp(`/fhir/${op.type}/${res.id as string}$`));
        expect(parse(r.text)).toEqual(res);
        await assertCreated(p, r, [res]);
      } else {
        assertDenied(p, r, expected as 403 | 404, [res.id as string, ...W.secrets(patient)]);
        await assertStoredNowhere([res]);
      }
      return;
    }
    case 'create-xref': {
      // Subject: another tenant's patient; the probe: an id no tenant holds. Same answer, nothing stored.
      const foreign = W.target(tenant).patient;
      const res = build(op.type, s.own, foreign.id);
      const r = await send(p, { method: 'POST', url: `/fhir/${op.type}`, json: res });
      if (expected === 400) {
        const probeRef = `${ABBR.Patient}-ffff-ffff-ffff-ffff`;
        const probe = build(op.type, s.own, probeRef);
        const q = await send(p, { method: 'POST', url: `/fhir/${op.type}`, json: probe });
        expect(r.res.statusCode, r.text).toBe(400);
        expect(q.res.statusCode, q.text).toBe(400);
        const norm = (t: string, ref: string, id: string) => t.split(ref).join('<ref>').split(id).join('<id>');
        expect(norm(r.text, foreign.id, res.id as string)).toBe(norm(q.text, probeRef, probe.id as string));
        assertNoSecrets(r.text, W.secrets(foreign), [foreign.id]);
        scan(p, r.text, [foreign.id]);
        for (const e of r.events) {
          expect(e.patients).not.toContain(foreign.id);
          expect(e.tenant === null || inScope(s, e.tenant)).toBe(true);
        }
        await assertStoredNowhere([res, probe]);
      } else {
        assertDenied(p, r, expected as 403 | 404, W.secrets(foreign));
        await assertStoredNowhere([res]);
      }
      return;
    }
    case 'transaction': {
      const types = bundleTypes(s.role, op.variant);
      const resources =
        op.variant === 'own+other'
          ? [build(types[0] as Kind, s.own, W.target(s.own).patient.id), build(types[0] as Kind, s.other, W.target(s.other).patient.id)]
          : types.map((t) => build(t, tenant, W.target(data).patient.id));
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: resources.map((resource) => ({ resource, request: { method: 'POST', url: resource.resourceType } })),
      };
      const r = await send(p, { method: 'POST', url: '/fhir', json: bundle });
      if (expected === 'ok') {
        expect(r.res.statusCode, r.text).toBe(200);
        const b = parse(r.text);
        expect(b.type).toBe('transaction-response');
        expect(arr(b.entry).map((e) => (e.response as Json).location)).toEqual(
          resources.map((x) => expect.stringMatching(new RegExp(`/fhir/${String(x.resourceType)}/${String(x.id)}$`)) as unknown),
        );
        await assertCreated(p, r, resources);
      } else {
        const secrets = [
          ...resources.map((x) => x.id as string),
          ...W.secrets(W.target(op.variant === 'own+other' ? s.other : data).patient),
        ];
        assertDenied(p, r, expected as 403 | 404, secrets);
        await assertStoredNowhere(resources);
      }
      return;
    }
    case 'export': {
      const r = await send(p, { method: 'GET', url: '/fhir/$export', tenant: tenantHeader(s, tenant) });
      if (expected === 'ok') {
        expect(r.res.statusCode, r.text).toBe(202);
        expect(String(r.res.headers['content-location'])).toMatch(/\/fhir\/\$export-status\/[A-Za-z0-9-]+$/);
        expect(arr(parse(r.text).issue)[0]?.severity).toBe('information');
        const e = r.events.find((x) => x.action === 'export.request');
        expect(e?.outcome).toBe('allowed');
        expect(e?.tenant).toBe(tenant);
        for (const x of r.events) expect(x.patients).toEqual([]);
      } else assertDenied(p, r, expected as 403 | 404, W.secrets(W.target(data).patient));
      return;
    }
  }
}

/** A request that would be allowed but for its purpose of use: 403, nothing returned, nothing stored. */
async function runPurposeCell(p: Live, op: Op, variant: PurposeVariant): Promise<void> {
  const purpose = {
    missing: null,
    'not permitted for the role': EXPECTED[p.spec.role].notPermitted,
    'unknown code': 'XYZZY',
    malformed: "TREAT' OR '1'='1",
  }[variant];
  const tenant = p.spec.own;
  const target = W.target(tenant);
  let r: Sent;
  let created: Json | null = null;
  switch (op.kind) {
    case 'read': {
      const rec = W.targetRec(tenant, op.type);
      r = await send(p, { method: 'GET', url: `/fhir/${op.type}/${rec.id}`, purpose });
      break;
    }
    case 'search':
      r = await send(p, {
        method: 'GET',
        url: `/fhir/${op.type}?status=${target.records[op.type].status as string}`,
        tenant: tenantHeader(p.spec, tenant),
        purpose,
      });
      break;
    case 'patient-search':
      r = await send(p, { method: 'POST', url: '/fhir/Patient/_search', form: { identifier: bsnOf(target.patient.resource) }, purpose });
      break;
    case 'create':
      created = build(op.type, tenant, target.patient.id);
      r = await send(p, { method: 'POST', url: `/fhir/${op.type}`, json: created, purpose });
      break;
    case 'export':
      r = await send(p, { method: 'GET', url: '/fhir/$export', tenant: tenantHeader(p.spec, tenant), purpose });
      break;
    case 'create-xref':
    case 'transaction':
      throw new Error(`no purpose cell for ${op.kind}`);
  }
  assertDenied(p, r, 403, W.secrets(target.patient));
  expect(String(arr(parse(r.text).issue)[0]?.diagnostics)).toMatch(/purpose/);
  const recorded = r.events.find((e) => e.action === 'access.denied');
  expect(recorded?.purpose).toBe(variant === 'missing' ? null : variant === 'malformed' ? 'INVALID' : purpose);
  if (created) await assertStoredNowhere([created]);
}

// ---------------------------------------------------------------------------------------------

const MATRIX = PRINCIPALS.map((s) => ({ s, label: s.label, cells: cellsFor(s) }));

describe('access matrix: role × tenant × endpoint × operation', () => {
  describe.each(MATRIX)('$label', ({ s, cells }) => {
    it.each(cells.map((c) => [c.name, c] as const))('%s', async (_name, cell) => runCell(principal(s), cell));
  });
});

describe('access matrix: purpose of use', () => {
  const cells = PRINCIPALS.flatMap((s) =>
    PURPOSE_OPS.flatMap((op) =>
      PURPOSE_VARIANTS.map((variant) => [`${s.label} · ${opLabel(op)} · purpose ${variant} → 403`, { s, op, variant }] as const),
    ),
  );
  it.each(cells)('%s', async (_name, { s, op, variant }) => runPurposeCell(principal(s), op, variant));

  it('a purpose from the token claim is used when no header is sent, and a header overrides it', async () => {
    const c = await f.principal('controller-system', ['screening'], { purpose: 'PUBHLTH' });
    const p: Live = { spec: spec('controller-system', ['screening'], 'screening', 'hospital-west'), ...c };
    const rec = W.target('screening').patient;
    const ok = await send(p, { method: 'GET', url: `/fhir/Patient/${rec.id}`, purpose: null });
    expect(ok.res.statusCode, ok.text).toBe(200);
    assertProjection(p, parse(ok.text), rec);
    expect(ok.events.find((e) => e.action === 'patient.read')?.purpose).toBe('PUBHLTH');
    const refused = await send(p, { method: 'GET', url: `/fhir/Patient/${rec.id}`, purpose: 'HRESCH' });
    assertDenied(p, refused, 403, W.secrets(rec));
  });

  describe.each(PRINCIPALS.filter((s) => !wild(s) && (s.role === 'lab-technician' || s.role === 'pathologist')))(
    '$label: break-glass purpose (ETREAT) without an open grant',
    (s) => {
      it(`GET /fhir/Patient/{id} · ETREAT + X-Tenant ${s.own} → 403`, async () => {
        const p = principal(s);
        const rec = W.target(s.own).patient;
        const r = await send(p, { method: 'GET', url: `/fhir/Patient/${rec.id}`, purpose: 'ETREAT', tenant: s.own });
        assertDenied(p, r, 403, W.secrets(rec));
      });
      it(`GET /fhir/Patient/{id} · ETREAT + X-Tenant ${s.other} → 404`, async () => {
        const p = principal(s);
        const rec = W.target(s.other).patient;
        const r = await send(p, { method: 'GET', url: `/fhir/Patient/${rec.id}`, purpose: 'ETREAT', tenant: s.other });
        assertDenied(p, r, 404, W.secrets(rec));
      });
    },
  );
});

describe('access matrix: SMART scopes narrow the role', () => {
  const s = spec('lab-technician', ['screening'], 'screening', 'hospital-west');
  let p: Live;
  beforeAll(async () => {
    p = { spec: s, ...(await f.principal('lab-technician', ['screening'], { scopes: ['user/Specimen.rs'] })) };
  });
  it('user/Specimen.rs · GET /fhir/Specimen/{id} → allowed', async () => {
    const rec = W.target('screening').records.Specimen;
    const r = await send(p, { method: 'GET', url: `/fhir/Specimen/${rec.id}` });
    expect(r.res.statusCode, r.text).toBe(200);
    assertProjection(p, parse(r.text), rec);
    assertReadAudit(p, r.events, [rec]);
  });
  it.each([
    ['GET /fhir/Patient/{id}', 'Patient'],
    ['GET /fhir/Observation/{id}', 'Observation'],
  ] as const)('user/Specimen.rs · %s → 403', async (_label, type) => {
    const rec = W.targetRec('screening', type);
    const r = await send(p, { method: 'GET', url: `/fhir/${type}/${rec.id}` });
    assertDenied(p, r, 403, W.secrets(rec));
  });
  it('user/Specimen.rs · POST /fhir/Specimen → 403 (no c in the scope)', async () => {
    const res = build('Specimen', 'screening', W.target('screening').patient.id);
    const r = await send(p, { method: 'POST', url: '/fhir/Specimen', json: res });
    assertDenied(p, r, 403, [res.id as string]);
    await assertStoredNowhere([res]);
  });
});

describe('access matrix: bulk export job and admin routes', () => {
  /** A controller system per tenant, requesting the jobs the cells approve or look at. */
  const requesters = new Map<string, Live>();
  beforeAll(async () => {
    for (const t of f.lab.tenants)
      requesters.set(t, { spec: spec('controller-system', [t], t, t), ...(await f.principal('controller-system', [t])) });
  });
  const requester = (t: string): Live => requesters.get(t) as Live;
  async function requestJob(tenant: string): Promise<string> {
    const r = await send(requester(tenant), { method: 'GET', url: '/fhir/$export' });
    expect(r.res.statusCode, r.text).toBe(202);
    return String(r.res.headers['content-location']).split('/').pop() as string;
  }

  const approveCells = PRINCIPALS.flatMap((s) =>
    [s.own, s.other].map((tenant) => {
      const expected = !EXPECTED[s.role].approveExport ? 403 : inScope(s, tenant) ? 200 : 404;
      const name = `${s.label} · POST /admin/exports/{id}/approve · job of ${tenant} → ${expected === 200 ? 'approved' : expected}`;
      return [name, { s, tenant, expected }] as const;
    }),
  );
  it.each(approveCells)('%s', async (_name, { s, tenant, expected }) => {
    const p = principal(s);
    const id = await requestJob(tenant);
    const r = await send(p, { method: 'POST', url: `/admin/exports/${id}/approve` });
    const job = await f.vault.store.getExportJob(id);
    if (expected === 200) {
      expect(r.res.statusCode, r.text).toBe(200);
      expect(parse(r.text)).toEqual({ id, state: 'approved', approver: p.id });
      expect(job?.state).toBe('approved');
      expect(r.events.find((e) => e.action === 'export.approve')).toMatchObject({ outcome: 'allowed', tenant });
    } else {
      // A security officer of another tenant cannot approve (or learn of) that tenant's export.
      assertDenied(p, r, expected, [id]);
      expect(job?.state).toBe('awaiting-approval');
    }
  });

  const statusCells = PRINCIPALS.map((s) => {
    const expected = EXPECTED[s.role].bulkExport ? 404 : 403;
    return [`${s.label} · GET /fhir/$export-status/{id} · another's job of ${s.own} → ${expected}`, { s, expected }] as const;
  });
  it.each(statusCells)('%s', async (_name, { s, expected }) => {
    const p = principal(s);
    const id = await requestJob(s.own);
    const r = await send(p, { method: 'GET', url: `/fhir/$export-status/${id}` });
    assertDenied(p, r, expected, [id]);
  });

  const ownStatusCells = PRINCIPALS.filter((s) => EXPECTED[s.role].bulkExport).flatMap((s) =>
    (['role purpose', 'missing', 'not permitted for the role'] as const).map((purpose) => {
      const expected = purpose === 'role purpose' ? 202 : 403;
      return [`${s.label} · GET /fhir/$export-status/{own job} · purpose ${purpose} → ${expected}`, { s, purpose, expected }] as const;
    }),
  );
  it.each(ownStatusCells)('%s', async (_name, { s, purpose, expected }) => {
    const p = principal(s);
    const kick = await send(p, { method: 'GET', url: '/fhir/$export' });
    expect(kick.res.statusCode, kick.text).toBe(202);
    const id = String(kick.res.headers['content-location']).split('/').pop() as string;
    const r = await send(p, {
      method: 'GET',
      url: `/fhir/$export-status/${id}`,
      purpose: purpose === 'role purpose' ? undefined : purpose === 'missing' ? null : EXPECTED[s.role].notPermitted,
    });
    if (expected === 202) {
      expect(r.res.statusCode, r.text).toBe(202);
      expect(r.events.find((e) => e.action === 'export.status')).toMatchObject({ outcome: 'allowed', tenant: s.own, patients: [] });
    } else assertDenied(p, r, 403, [id]);
  });

  const breakGlassCells = PRINCIPALS.filter((s) => !EXPECTED[s.role].breakGlass).map(
    (s) => [`${s.label} · POST /admin/break-glass · ${s.own} → 403`, s] as const,
  );
  it.each(breakGlassCells)('%s', async (_name, s) => {
    const p = principal(s);
    const r = await send(p, {
      method: 'POST',
      url: '/admin/break-glass',
      json: { tenant: s.own, justification: 'Emergency access requested by the matrix test', minutes: 5 },
    });
    assertDenied(p, r, 403, []);
    expect(await f.vault.breakGlass.active(p.id, s.own)).toBeNull();
  });
});

describe.each(['lab-technician', 'pathologist'] as const)('access matrix: break-glass, %s [screening]', (role) => {
  const s = spec(role, ['screening'], 'screening', 'hospital-west');
  let p: Live;
  beforeAll(async () => {
    p = { spec: s, ...(await f.principal(role, ['screening'])) };
  });
  const read = (tenant: string, purpose: string, header: string | undefined) =>
    send(p, { method: 'GET', url: `/fhir/Patient/${W.target(tenant).patient.id}`, purpose, tenant: header });

  it('GET /fhir/Patient/{id} · ETREAT + X-Tenant screening (own) before a grant → 403', async () => {
    assertDenied(p, await read('screening', 'ETREAT', 'screening'), 403, W.secrets(W.target('screening').patient));
  });
  it('POST /admin/break-glass · hospital-west (not its tenant) → 404, no grant', async () => {
    const r = await send(p, {
      method: 'POST',
      url: '/admin/break-glass',
      json: { tenant: 'hospital-west', justification: 'Unconscious patient at the emergency ward', minutes: 5 },
    });
    expect(r.res.statusCode, r.text).toBe(404);
    expect(r.events.find((e) => e.action === 'breakglass.open')?.outcome).toBe('denied');
  });
  it('POST /admin/break-glass · screening → 201, audited for review', async () => {
    const r = await send(p, {
      method: 'POST',
      url: '/admin/break-glass',
      json: { tenant: 'screening', justification: 'Unconscious patient at the emergency ward', minutes: 5 },
    });
    expect(r.res.statusCode, r.text).toBe(201);
    expect(parse(r.text)).toMatchObject({ tenant: 'screening', purpose: 'ETREAT' });
    expect(r.events.find((e) => e.action === 'breakglass.open')?.detail.review).toBe(true);
  });
  it('GET /fhir/Patient/{id} · ETREAT + X-Tenant screening under the grant → full view, flagged for review', async () => {
    const rec = W.target('screening').patient;
    const r = await read('screening', 'ETREAT', 'screening');
    expect(r.res.statusCode, r.text).toBe(200);
    const granted: Live = { ...p, view: 'full' };
    assertProjection(granted, parse(r.text), rec);
    scan(granted, r.text);
    assertReadAudit(granted, r.events, [rec], rec.id);
    for (const e of r.events) expect(e.detail.review).toBe(true);
  });
  it('GET /fhir/Patient/{id} · ETREAT + X-Tenant hospital-west (not its tenant) → 404', async () => {
    assertDenied(p, await read('hospital-west', 'ETREAT', 'hospital-west'), 404, W.secrets(W.target('hospital-west').patient));
  });
  it('GET /fhir/Patient/{id} · ETREAT without X-Tenant → 400, no data', async () => {
    const r = await read('screening', 'ETREAT', undefined);
    expect(r.res.statusCode, r.text).toBe(400);
    assertNoSecrets(r.text, W.secrets(W.target('screening').patient));
  });
});

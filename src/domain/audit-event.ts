import { InvalidInput } from './errors.js';
import type { AccessContext } from './principal.js';
import { SEPARATED_BSN, containsBsnLike } from './validate-resource.js';
import type { VaultResourceType } from './resource-type.js';

/**
 * One audit event: who did what to which (pseudonymous) patients, with what outcome and which
 * categories of data left the vault. Never a BSN, name or address — validation below refuses
 * anything that looks like a BSN, so a bug upstream fails closed instead of leaking into the log.
 */
export const AuditActions = [
  'ingest.write',
  'ingest.run',
  'patient.read',
  'patient.search',
  'resource.read',
  'patient.erase',
  'keys.create',
  'keys.status',
  'keys.rotate',
  'keys.rewrap',
  'keys.destroy',
  'tenant.import',
  'audit.read',
  'audit.export',
  'resource.search',
  'resource.create',
  'auth.fail',
  'access.denied',
  'principal.create',
  'principal.suspend',
  'principal.release',
  'principal.list',
  'apikey.create',
  'apikey.revoke',
  'token.issue',
  'token.revoke',
  'breakglass.open',
  'export.request',
  'export.approve',
  'export.status',
  'export.download',
  'detection.alert',
  'detection.contain',
  'incident.open',
  'incident.update',
  'incident.close',
  'containment.approve',
  'containment.release',
  'canary.plant',
  'leak.scan',
  'backup.create',
  'backup.verify',
  'backup.restore',
] as const;
export type AuditAction = (typeof AuditActions)[number];

export const AuditOutcomes = ['allowed', 'denied', 'error'] as const;
export type AuditOutcome = (typeof AuditOutcomes)[number];

/** What kind of personal data an operation returned or changed (scoping and notices use these). */
export const DataCategories = [
  'identity',
  'national-id',
  'contact',
  'demographics',
  'clinical-order',
  'specimen',
  'clinical-result',
  'follow-up-advice',
  'key-material',
] as const;
export type DataCategory = (typeof DataCategories)[number];

export interface AuditEvent {
  /** ISO 8601 UTC with milliseconds. */
  readonly time: string;
  readonly action: AuditAction;
  readonly outcome: AuditOutcome;
  readonly principal: { readonly id: string; readonly role: string; readonly tenants: readonly string[] };
  readonly tenant: string | null;
  /** Pseudonymous patient ids (FHIR Patient.id), never identifiers. */
  readonly patients: readonly string[];
  readonly categories: readonly DataCategory[];
  readonly records: number;
  readonly bytes: number;
  readonly purpose: string | null;
  readonly origin: { readonly ip: string | null; readonly userAgent: string | null; readonly requestId: string | null };
  /** Error code when the outcome is not `allowed` (ErrorCode values), never a message. */
  readonly reason: string | null;
  /** A few non-personal scalars (kek version, counts, file count). */
  readonly detail: Readonly<Record<string, string | number | boolean | null>>;
}

export interface AuditFacts {
  action: AuditAction;
  outcome?: AuditOutcome;
  tenant?: string | null;
  patients?: readonly string[];
  categories?: readonly DataCategory[];
  records?: number;
  bytes?: number;
  reason?: string | null;
  detail?: Record<string, string | number | boolean | null>;
}

/** Builds an event for `ctx` at `time`; validated, so a bad event never reaches the log. */
export function auditEvent(ctx: AccessContext, time: Date, facts: AuditFacts): AuditEvent {
  const e: AuditEvent = {
    time: time.toISOString(),
    action: facts.action,
    outcome: facts.outcome ?? 'allowed',
    principal: { id: ctx.principal.id, role: ctx.principal.role, tenants: [...ctx.principal.tenants] },
    tenant: facts.tenant ?? null,
    patients: [...(facts.patients ?? [])],
    categories: [...new Set(facts.categories ?? [])].sort(),
    records: facts.records ?? 0,
    bytes: facts.bytes ?? 0,
    purpose: ctx.purpose,
    // Origin values come from the transport (headers), not from us: mask rather than refuse, so a
    // client cannot make its own requests fail, and no BSN it sends lands in the log.
    origin: { ip: maskBsnLike(ctx.origin.ip), userAgent: maskBsnLike(ctx.origin.userAgent), requestId: maskBsnLike(ctx.origin.requestId) },
    reason: facts.reason ?? null,
    // Emergency access is allowed, then reviewed: every event under a break-glass grant says so.
    detail: { ...(facts.detail ?? {}), ...(ctx.breakGlass ? { break_glass: ctx.breakGlass, review: true } : {}) },
  };
  validateAuditEvent(e);
  return e;
}

const MAX_TEXT = 256;

export function validateAuditEvent(e: AuditEvent): void {
  if (!(AuditActions as readonly string[]).includes(e.action)) throw new InvalidInput('audit event: unknown action');
  if (!(AuditOutcomes as readonly string[]).includes(e.outcome)) throw new InvalidInput('audit event: unknown outcome');
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(e.time)) throw new InvalidInput('audit event: bad time');
  for (const c of e.categories)
    if (!(DataCategories as readonly string[]).includes(c)) throw new InvalidInput('audit event: unknown category');
  for (const n of [e.records, e.bytes]) if (!Number.isSafeInteger(n) || n < 0) throw new InvalidInput('audit event: bad count');
  const texts = [
    e.principal.id,
    e.principal.role,
    ...e.principal.tenants,
    e.tenant,
    ...e.patients,
    e.purpose,
    e.origin.ip,
    e.origin.userAgent,
    e.origin.requestId,
    e.reason,
    ...Object.keys(e.detail),
    ...Object.values(e.detail).map((v) => (typeof v === 'string' ? v : null)),
  ];
  for (const t of texts) {
    if (t === null) continue;
    // eslint-disable-next-line no-control-regex
    if (t.length > MAX_TEXT || /[\u0000-\u001f\u007f]/.test(t))
      throw new InvalidInput('audit event: field too long or with control characters');
    if (containsBsnLike(t)) throw new InvalidInput('audit event: a field looks like a BSN');
  }
  for (const v of Object.values(e.detail))
    if (typeof v === 'number' && !Number.isFinite(v)) throw new InvalidInput('audit event: bad detail');
}

/** Replaces every digit run that could be a BSN with asterisks; null stays null. */
export function maskBsnLike(text: string | null): string | null {
  if (text === null) return null;
  const clipped = text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) : text;
  // eslint-disable-next-line no-control-regex
  const clean = clipped.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean
    .replace(SEPARATED_BSN, (m) => (containsBsnLike(m) ? m.replace(/\d/g, '*') : m))
    .replace(/\d+/g, (run) => (containsBsnLike(run) ? '*'.repeat(run.length) : run));
}

/** The categories of personal data a stored resource of `type` carries. */
export function categoriesOf(type: VaultResourceType): DataCategory[] {
  switch (type) {
    case 'Patient':
      return ['identity', 'national-id', 'contact', 'demographics'];
    case 'ServiceRequest':
      return ['clinical-order'];
    case 'Specimen':
      return ['specimen'];
    case 'Observation':
      return ['clinical-result'];
    case 'DiagnosticReport':
      // Screening reports carry the follow-up advice (conclusionCode) next to the result.
      return ['clinical-result', 'follow-up-advice'];
  }
}

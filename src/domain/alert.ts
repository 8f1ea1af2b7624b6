import { InvalidInput } from './errors.js';
import { isValidTenantId } from './tenant.js';
import { containsBsnLike } from './validate-resource.js';

/**
 * A security alert raised by detection or containment, sent to the operator's collectors (webhook,
 * syslog, CEF). Alerts leave the vault in plaintext to systems outside its control, so they follow
 * the audit log's rule strictly: principal, tenant and incident ids, counts and a short fixed text —
 * never a BSN, name, address or patient id. Validation refuses anything that looks like a BSN, so a
 * bug upstream fails closed instead of leaking an identifier to a SIEM.
 */
export const AlertSeverities = ['low', 'medium', 'high', 'critical'] as const;
export type AlertSeverity = (typeof AlertSeverities)[number];

/** What containment did when the alert was raised (issue 5 item 3). */
export const ContainmentActions = ['suspend-principal', 'block-origin', 'freeze-exports'] as const;
export type ContainmentAction = (typeof ContainmentActions)[number];

/** Volumes behind the alert, over the rule's window; all non-negative integers. */
export interface AlertCounts {
  /** Distinct patients touched. */
  readonly patients: number;
  readonly records: number;
  readonly bytes: number;
  readonly requests: number;
}

export interface Alert {
  /** Unique id of the alert (a UUID), so collectors can de-duplicate retried deliveries. */
  readonly id: string;
  /** ISO 8601 UTC with milliseconds. */
  readonly time: string;
  readonly severity: AlertSeverity;
  /** The rule that fired (`cap.patients-per-minute`, `canary.touch`). */
  readonly rule: string;
  /** The principal's id (a person or system account, never a patient). */
  readonly principal: string;
  readonly tenant: string | null;
  /** Client address of the triggering request. */
  readonly originIp: string | null;
  /** A short fixed text (`distinct patients per minute above cap`): no identifiers, no values from requests. */
  readonly summary: string;
  readonly counts: AlertCounts;
  readonly containment: ContainmentAction | null;
  readonly incidentId: string | null;
}

export interface AlertFacts {
  severity: AlertSeverity;
  rule: string;
  principal: string;
  tenant?: string | null;
  originIp?: string | null;
  summary: string;
  counts?: Partial<AlertCounts>;
  containment?: ContainmentAction | null;
  incidentId?: string | null;
}

/** Builds an alert; validated, so a bad alert never reaches a collector. Id and time are injected (tests freeze them). */
export function createAlert(facts: AlertFacts, at: { id: string; time: Date }): Alert {
  const c = facts.counts ?? {};
  const alert: Alert = {
    id: at.id,
    time: at.time.toISOString(),
    severity: facts.severity,
    rule: facts.rule,
    principal: facts.principal,
    tenant: facts.tenant ?? null,
    originIp: facts.originIp ?? null,
    summary: facts.summary,
    counts: { patients: c.patients ?? 0, records: c.records ?? 0, bytes: c.bytes ?? 0, requests: c.requests ?? 0 },
    containment: facts.containment ?? null,
    incidentId: facts.incidentId ?? null,
  };
  validateAlert(alert);
  return alert;
}

export const MAX_SUMMARY = 200;
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const RULE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
// Literal IPv4 or IPv6 (optionally with a zone or mapped IPv4); the transport gives nothing else.
const IP = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:]{2,39}(?:\d{1,3}(?:\.\d{1,3}){3})?(?:%[A-Za-z0-9._-]{1,16})?)$/;

/** Reasons never quote the offending value: it may be the identifier being refused. */
export function validateAlert(a: Alert): void {
  if (!ID.test(a.id)) fail('bad id');
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(a.time)) fail('bad time');
  if (!(AlertSeverities as readonly string[]).includes(a.severity)) fail('unknown severity');
  if (!RULE.test(a.rule)) fail('bad rule name');
  if (!ID.test(a.principal)) fail('bad principal id');
  if (a.tenant !== null && !isValidTenantId(a.tenant)) fail('bad tenant id');
  if (a.originIp !== null && !IP.test(a.originIp)) fail('origin is not an IP address');
  if (a.summary.length === 0 || a.summary.length > MAX_SUMMARY) fail(`summary must be 1–${MAX_SUMMARY} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(a.summary)) fail('summary has control characters');
  for (const n of Object.values(a.counts)) if (!Number.isSafeInteger(n) || n < 0) fail('bad count');
  if (Object.keys(a.counts).length !== 4) fail('bad counts');
  if (a.containment !== null && !(ContainmentActions as readonly string[]).includes(a.containment)) fail('unknown containment action');
  if (a.incidentId !== null && !ID.test(a.incidentId)) fail('bad incident id');
  for (const t of [a.id, a.rule, a.principal, a.tenant, a.summary, a.incidentId]) {
    if (t !== null && containsBsnLike(t)) fail('a field looks like a BSN');
  }
}

function fail(why: string): never {
  throw new InvalidInput(`alert: ${why}`);
}

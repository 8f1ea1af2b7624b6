import type { AuditEvent } from '../domain/audit-event.js';
import { IntegrityViolation } from '../domain/errors.js';

/**
 * Canonical bytes of an audit event: the Merkle leaf and what an auditor reads. JSON with a fixed
 * key order (not sorted keys: `v`, `seq` and `prev` come first, so the verifier checks position and
 * chaining without parsing JSON), no whitespace, strings escaped by JSON.stringify, integers only.
 * `prev` is the hex leaf hash of the previous event (64 zeros for the first): it pins an edited
 * event to its index. The same event always encodes to the same bytes.
 */
export const AUDIT_EVENT_VERSION = 1;
export const GENESIS_PREV = Buffer.alloc(32);

export interface SealedEvent {
  readonly seq: number;
  readonly prev: Buffer;
  readonly event: AuditEvent;
}

const s = (v: string | null): string => JSON.stringify(v);
const list = (v: readonly string[]): string => `[${v.map((x) => JSON.stringify(x)).join(',')}]`;

export function encodeEvent(seq: number, prev: Buffer, e: AuditEvent): Buffer {
  const detail = Object.keys(e.detail)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(e.detail[k])}`)
    .join(',');
  const json =
    `{"v":${AUDIT_EVENT_VERSION},"seq":${seq},"prev":"${prev.toString('hex')}","time":${s(e.time)},"action":${s(e.action)},` +
    `"outcome":${s(e.outcome)},"principal":{"id":${s(e.principal.id)},"role":${s(e.principal.role)},"tenants":${list(e.principal.tenants)}},` +
    `"tenant":${s(e.tenant)},"patients":${list(e.patients)},"categories":${list(e.categories)},"records":${e.records},"bytes":${e.bytes},` +
    `"purpose":${s(e.purpose)},"origin":{"ip":${s(e.origin.ip)},"user_agent":${s(e.origin.userAgent)},"request_id":${s(e.origin.requestId)}},` +
    `"reason":${s(e.reason)},"detail":{${detail}}}`;
  return Buffer.from(json, 'utf8');
}

interface WireEvent {
  v: number;
  seq: number;
  prev: string;
  time: string;
  action: AuditEvent['action'];
  outcome: AuditEvent['outcome'];
  principal: AuditEvent['principal'];
  tenant: string | null;
  patients: string[];
  categories: AuditEvent['categories'];
  records: number;
  bytes: number;
  purpose: string | null;
  origin: { ip: string | null; user_agent: string | null; request_id: string | null };
  reason: string | null;
  detail: AuditEvent['detail'];
}

/** Parses canonical bytes and checks they re-encode identically (so a stored row cannot smuggle extra fields). */
export function decodeEvent(bytes: Buffer): SealedEvent {
  let w: WireEvent;
  try {
    w = JSON.parse(bytes.toString('utf8')) as WireEvent;
  } catch (cause) {
    throw new IntegrityViolation('audit event is not valid JSON', { cause });
  }
  const event: AuditEvent = {
    time: w.time,
    action: w.action,
    outcome: w.outcome,
    principal: w.principal,
    tenant: w.tenant,
    patients: w.patients,
    categories: w.categories,
    records: w.records,
    bytes: w.bytes,
    purpose: w.purpose,
    origin: { ip: w.origin?.ip ?? null, userAgent: w.origin?.user_agent ?? null, requestId: w.origin?.request_id ?? null },
    reason: w.reason,
    detail: w.detail,
  };
  const prev = Buffer.from(String(w.prev), 'hex');
  let again: Buffer;
  try {
    again = encodeEvent(w.seq, prev, event);
  } catch (cause) {
    throw new IntegrityViolation('audit event is not canonical', { cause });
  }
  if (w.v !== AUDIT_EVENT_VERSION || !again.equals(bytes)) throw new IntegrityViolation('audit event is not canonical');
  return { seq: w.seq, prev, event };
}

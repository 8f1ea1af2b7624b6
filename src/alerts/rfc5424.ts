import type { Alert, AlertSeverity } from '../domain/alert.js';

/**
 * RFC 5424 syslog messages: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG`.
 * The alert's fields travel in one structured-data element so collectors can parse them without
 * regular expressions on free text.
 */

/** RFC 5424 severities: critical → 2 Critical, high → 3 Error, medium → 4 Warning, low → 5 Notice. */
export const SYSLOG_SEVERITY: Readonly<Record<AlertSeverity, number>> = { critical: 2, high: 3, medium: 4, low: 5 };

/** Facility 10: security/authorization messages (private). */
export const DEFAULT_FACILITY = 10;

/**
 * SD-ID of the element; a private ID needs an IANA enterprise number. 32473 is the number reserved
 * for documentation (RFC 5612); deployments with their own PEN can pass it.
 */
export const DEFAULT_SD_ID = 'labvault@32473';

export interface SyslogHeader {
  facility: number;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
}

export function priority(facility: number, severity: AlertSeverity): number {
  if (!Number.isInteger(facility) || facility < 0 || facility > 23) throw new RangeError('syslog facility must be 0–23');
  return facility * 8 + SYSLOG_SEVERITY[severity];
}

/** The full message for `alert`. `msg` replaces the default (summary) body, e.g. with a CEF line; `sd` false omits the element. */
export function formatRfc5424(alert: Alert, h: SyslogHeader, options: { sdId?: string; msg?: string; sd?: boolean } = {}): string {
  const head = [
    `<${priority(h.facility, alert.severity)}>1`,
    alert.time,
    headerField(h.hostname, 255),
    headerField(h.appName, 48),
    headerField(h.procId, 128),
    headerField(h.msgId, 32),
  ].join(' ');
  const sd = options.sd === false ? '-' : structuredData(alert, options.sdId ?? DEFAULT_SD_ID);
  const msg = options.msg ?? alert.summary;
  // MSG-UTF8 must start with a BOM; a pure ASCII body is valid MSG-ANY without one, and many
  // collectors show the BOM as garbage, so it is added only when needed.
  const body = /^[\x20-\x7e]*$/.test(msg) ? msg : `\ufeff${msg}`;
  return `${head} ${sd} ${body}`;
}

export function structuredData(alert: Alert, sdId: string): string {
  const params: [string, string | number | null][] = [
    ['id', alert.id],
    ['severity', alert.severity],
    ['rule', alert.rule],
    ['principal', alert.principal],
    ['tenant', alert.tenant],
    ['ip', alert.originIp],
    ['patients', alert.counts.patients],
    ['records', alert.counts.records],
    ['bytes', alert.counts.bytes],
    ['requests', alert.counts.requests],
    ['containment', alert.containment],
    ['incident', alert.incidentId],
  ];
  const body = params
    .filter((p): p is [string, string | number] => p[1] !== null)
    .map(([k, v]) => `${k}="${escapeParamValue(String(v))}"`)
    .join(' ');
  return `[${sdId} ${body}]`;
}

/** PARAM-VALUE: `"`, `\` and `]` must be escaped with a backslash (RFC 5424 §6.3.3). */
export function escapeParamValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** Header fields are PRINTUSASCII (33–126) with a maximum length, or `-` when empty. */
function headerField(value: string, max: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean.length === 0 ? '-' : clean;
}

/** RFC 6587 §3.4.1 octet-counting frame: `MSG-LEN SP SYSLOG-MSG`, length in bytes. */
export function octetCountingFrame(message: string): Buffer {
  const msg = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${msg.length} `, 'ascii'), msg]);
}

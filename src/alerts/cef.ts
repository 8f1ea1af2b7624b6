import type { Alert, AlertSeverity } from '../domain/alert.js';

/**
 * ArcSight Common Event Format, version 0:
 * `CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|key=value key=value …`.
 * Escaping follows the CEF specification: in header fields `\` and `|` are escaped with a
 * backslash; in extension values `\`, `=` and line breaks (`\n`, `\r`) are. A `|` inside an
 * extension value needs no escape (parsers split the header on the first seven pipes only) and an
 * escaped one would reach the SIEM as a literal `\|`, so it is left as is.
 */
export interface CefOptions {
  /** Device Version header field (labvault's version). */
  version?: string;
}

/** CEF severity 0–10: low 3, medium 5, high 8, critical 10 (ArcSight's Low/Medium/High/Very-High bands). */
export const CEF_SEVERITY: Readonly<Record<AlertSeverity, number>> = { low: 3, medium: 5, high: 8, critical: 10 };

export function formatCef(alert: Alert, options: CefOptions = {}): string {
  const header = [
    'CEF:0',
    escapeHeader('labvault'),
    escapeHeader('labvault'),
    escapeHeader(options.version ?? '0'),
    escapeHeader(alert.rule),
    escapeHeader(alert.summary),
    String(CEF_SEVERITY[alert.severity]),
  ].join('|');
  const ext: [string, string | number | null][] = [
    ['rt', Date.parse(alert.time)],
    ['externalId', alert.id],
    ['suser', alert.principal],
    // `src` must be IPv4 in CEF; IPv6 addresses go to the dedicated c6a2 field.
    ['src', alert.originIp !== null && !alert.originIp.includes(':') ? alert.originIp : null],
    ['c6a2', alert.originIp?.includes(':') ? alert.originIp : null],
    ['c6a2Label', alert.originIp?.includes(':') ? 'Origin IPv6 Address' : null],
    ['act', alert.containment],
    ['msg', alert.summary],
    ['cs1Label', alert.tenant !== null ? 'tenant' : null],
    ['cs1', alert.tenant],
    ['cs2Label', alert.incidentId !== null ? 'incident' : null],
    ['cs2', alert.incidentId],
    ['cn1Label', 'patients'],
    ['cn1', alert.counts.patients],
    ['cn2Label', 'records'],
    ['cn2', alert.counts.records],
    ['cn3Label', 'bytes'],
    ['cn3', alert.counts.bytes],
    ['cnt', alert.counts.requests],
  ];
  const extension = ext
    .filter((kv): kv is [string, string | number] => kv[1] !== null)
    .map(([k, v]) => `${k}=${escapeExtension(String(v))}`)
    .join(' ');
  return `${header}|${extension}`;
}

/** Header field: escape `\` and `|`; line breaks are not allowed there, so they become spaces. */
export function escapeHeader(value: string): string {
  return value.replace(/[\\|]/g, (c) => `\\${c}`).replace(/\r\n|[\r\n]/g, ' ');
}

/** Extension value: escape `\`, `=` and line breaks. */
export function escapeExtension(value: string): string {
  return value
    .replace(/[\\=]/g, (c) => `\\${c}`)
    .replace(/\r/g, '\\r')
    .replace(/\n/g, '\\n');
}

import { ErrorCode, VaultError, type ErrorCode as Code } from '../domain/errors.js';

/**
 * Maps coded errors to an HTTP status and a FHIR OperationOutcome. Services never throw HTTP
 * errors; this is the one place that knows both sides. An unknown error is a 500 with no detail
 * (the detail goes to the server log); a decryption or integrity failure is a 500 with the
 * uniform message only, so no response tells an attacker why.
 */
export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: { severity: 'error' | 'fatal' | 'information'; code: string; diagnostics?: string }[];
}

const STATUS: Record<Code, { status: number; issue: string; expose: boolean }> = {
  [ErrorCode.NotFound]: { status: 404, issue: 'not-found', expose: false },
  [ErrorCode.Unauthenticated]: { status: 401, issue: 'login', expose: true },
  [ErrorCode.AccessDenied]: { status: 403, issue: 'forbidden', expose: true },
  [ErrorCode.Conflict]: { status: 409, issue: 'conflict', expose: true },
  [ErrorCode.InvalidInput]: { status: 400, issue: 'invalid', expose: true },
  [ErrorCode.Contained]: { status: 403, issue: 'suppressed', expose: false },
  [ErrorCode.IntegrityViolation]: { status: 500, issue: 'exception', expose: false },
  [ErrorCode.DecryptionFailed]: { status: 500, issue: 'exception', expose: false },
  [ErrorCode.Configuration]: { status: 500, issue: 'exception', expose: false },
  [ErrorCode.KeyUnavailable]: { status: 503, issue: 'transient', expose: false },
  [ErrorCode.Storage]: { status: 503, issue: 'transient', expose: false },
};

export function outcome(code: string, diagnostics?: string, severity: 'error' | 'fatal' | 'information' = 'error'): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, ...(diagnostics ? { diagnostics } : {}) }] };
}

/** Status and body for any thrown value (VaultError, fastify's own errors, anything else). */
export function toOutcome(e: unknown): { status: number; body: OperationOutcome; internal: boolean } {
  if (e instanceof VaultError) {
    const m = STATUS[e.code];
    // A NotFound never says more than "not found": the message could otherwise tell which check failed.
    return { status: m.status, body: outcome(m.issue, m.expose ? e.message : defaultText(m.status)), internal: m.status >= 500 };
  }
  const status = (e as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return { status, body: transportOutcome(status, e), internal: false };
  return { status: 500, body: outcome('exception', 'internal error'), internal: true };
}

/** Fastify's own 4xx errors (body too large, bad JSON, unsupported media type, rate limit). */
function transportOutcome(status: number, e: unknown): OperationOutcome {
  const code = (e as { code?: unknown }).code;
  switch (status) {
    case 413:
      return outcome('too-costly', 'request body too large');
    case 414:
      return outcome('too-costly', 'URL component too long');
    case 406:
      return outcome('not-supported', 'only application/fhir+json responses are available');
    case 415:
      return outcome('not-supported', 'unsupported media type: send application/fhir+json');
    case 429:
      return outcome('throttled', 'rate limit exceeded: retry after the Retry-After interval');
    case 400:
      if (code === 'FST_ERR_CTP_INVALID_JSON_BODY' || code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || e instanceof SyntaxError) {
        return outcome('structure', 'malformed JSON');
      }
      return outcome('invalid', 'bad request');
    default:
      return outcome('processing', defaultText(status));
  }
}

function defaultText(status: number): string {
  switch (status) {
    case 404:
      return 'not found';
    case 503:
      return 'service temporarily unavailable';
    case 500:
      return 'internal error';
    default:
      return 'request failed';
  }
}

/**
 * One integrity check's outcome. `detail` is a fixed text with at most a file or table name in it:
 * it reaches alerts, /healthz and the server log, so it never quotes stored values or identifiers.
 */
export interface IntegrityCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  /**
   * The check could not run (database busy, connection refused or timed out) rather than found
   * the store damaged. A run whose only failures are transient does not stop the service: a
   * PostgreSQL fail-over must not turn into a permanent 503.
   */
  readonly transient?: boolean;
}

/** A group of checks on one part of the store (SQLite files, PostgreSQL schema, audit log). */
export interface IntegrityProbe {
  /** The checks cheap enough to repeat every couple of seconds. */
  cheap(): Promise<IntegrityCheck[]>;
  /** Start-up: the cheap checks plus the ones too slow to repeat (SQLite `quick_check`). */
  full(): Promise<IntegrityCheck[]>;
  /** Releases connections; idempotent. */
  close(): Promise<void>;
}

export function passed(name: string, detail: string): IntegrityCheck {
  return { name, ok: true, detail };
}

export function failed(name: string, detail: string, transient = false): IntegrityCheck {
  return transient ? { name, ok: false, detail, transient } : { name, ok: false, detail };
}

/**
 * A short, identifier-free name for an error: its code (`SQLITE_NOTADB`, `ENOENT`, a SQLSTATE),
 * never its message, which may quote SQL or values. The innermost code wins: a StorageError's
 * `storage` says less than the SQLite code it wraps.
 */
export function errorCode(e: unknown): string {
  let found = 'error';
  for (let x: unknown = e, depth = 0; x instanceof Error && depth < 5; x = x.cause, depth++) {
    const code = (x as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Za-z0-9_.-]{1,40}$/.test(code)) found = code;
  }
  return found;
}

/** Whether the error says "could not ask" (busy, locked, no connection, timeout) rather than "damaged". */
export function isTransient(e: unknown): boolean {
  for (let x: unknown = e, depth = 0; x instanceof Error && depth < 5; x = x.cause, depth++) {
    const code = (x as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (/^SQLITE_(BUSY|LOCKED)/.test(code)) return true;
      // SQLSTATE class 08 (connection exception), 57P0x (server shutting down), 53xxx (resources).
      if (/^(08|53)[0-9A-Z]{3}$/.test(code) || /^57P0[1-4]$/.test(code)) return true;
      if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].includes(code)) return true;
    }
    if (/timeout|Connection terminated/i.test(x.message)) return true;
  }
  return false;
}

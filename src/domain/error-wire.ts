import {
  AccessDenied,
  Conflict,
  ConfigurationError,
  Contained,
  DecryptionFailed,
  ErrorCode,
  IntegrityViolation,
  InvalidInput,
  KeyUnavailable,
  NotFound,
  StorageError,
  VaultError,
} from './errors.js';

/**
 * A worker thread's error as it crosses to the main thread: structured clone keeps an Error's
 * message but not its class, so a coded error (an IntegrityViolation from the leak scan's PRF
 * self-check, a KeyUnavailable in the seal stage) would reach the CLI as invalid input, with the
 * wrong exit status and the wrong OperationOutcome code. The code travels with the message.
 */
export interface WireError {
  message: string;
  code?: ErrorCode;
}

const CODES = new Set<string>(Object.values(ErrorCode));

export function toWireError(e: unknown, fallback: string): WireError {
  if (e instanceof VaultError) return { message: e.message, code: e.code };
  // A coded error from another copy of errors.js (a matcher module loaded from elsewhere).
  const code = (e as { code?: unknown } | null)?.code;
  if (e instanceof Error && typeof code === 'string' && CODES.has(code)) return { message: e.message, code: code as ErrorCode };
  return { message: e instanceof Error ? e.message : fallback };
}

/**
 * The coded error again: its own class for a known code (Unauthenticated is never raised in a
 * worker; it would need its reason), else InvalidInput with `prefix` — what a worker error was
 * before codes travelled.
 */
export function fromWireError(w: WireError, prefix = ''): VaultError {
  const message = `${prefix}${w.message}`;
  switch (w.code) {
    case ErrorCode.IntegrityViolation:
      return new IntegrityViolation(message);
    case ErrorCode.DecryptionFailed:
      return new DecryptionFailed();
    case ErrorCode.KeyUnavailable:
      return new KeyUnavailable(message);
    case ErrorCode.Storage:
      return new StorageError(message);
    case ErrorCode.Configuration:
      return new ConfigurationError(message);
    case ErrorCode.NotFound:
      return new NotFound(message);
    case ErrorCode.AccessDenied:
      return new AccessDenied(message);
    case ErrorCode.Conflict:
      return new Conflict(message);
    case ErrorCode.Contained:
      return new Contained(message);
    case ErrorCode.InvalidInput:
    case ErrorCode.Unauthenticated:
    case undefined:
      return new InvalidInput(message);
  }
  // A code this build does not know (the worker runs the same build, so only a forged message).
  return new InvalidInput(message);
}

/**
 * Coded errors. Services throw these; entry points (CLI, API) map `code` to an exit status or an
 * HTTP status + FHIR OperationOutcome. Messages never contain identifiers (BSN, name, address).
 */
export const ErrorCode = {
  NotFound: 'not-found',
  Unauthenticated: 'unauthenticated',
  AccessDenied: 'access-denied',
  Conflict: 'conflict',
  InvalidInput: 'invalid-input',
  IntegrityViolation: 'integrity-violation',
  DecryptionFailed: 'decryption-failed',
  Contained: 'contained',
  Configuration: 'configuration',
  KeyUnavailable: 'key-unavailable',
  Storage: 'storage',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class VaultError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class NotFound extends VaultError {
  constructor(message = 'not found', options?: { cause?: unknown }) {
    super(ErrorCode.NotFound, message, options);
  }
}

/**
 * No valid credential. One message for every cause (expired, wrong issuer, bad signature, revoked,
 * unknown key): telling them apart helps an attacker more than a legitimate client; the audit log
 * records the cause.
 */
export class Unauthenticated extends VaultError {
  /** Why, for the audit log only (never sent to the client). */
  readonly why: string;
  constructor(why: string, options?: { cause?: unknown }) {
    super(ErrorCode.Unauthenticated, 'authentication required: a valid bearer token or API key', options);
    this.why = why;
  }
}

export class AccessDenied extends VaultError {
  constructor(message = 'access denied', options?: { cause?: unknown }) {
    super(ErrorCode.AccessDenied, message, options);
  }
}

export class Conflict extends VaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Conflict, message, options);
  }
}

export class InvalidInput extends VaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.InvalidInput, message, options);
  }
}

export class IntegrityViolation extends VaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.IntegrityViolation, message, options);
  }
}

/**
 * One uniform message for every decryption failure (wrong key, flipped byte, swapped ciphertext,
 * destroyed key): telling them apart would hand an attacker an oracle.
 */
export const DECRYPTION_FAILED_MESSAGE = 'decryption failed: ciphertext cannot be authenticated with the available keys';

export class DecryptionFailed extends VaultError {
  constructor(options?: { cause?: unknown }) {
    super(ErrorCode.DecryptionFailed, DECRYPTION_FAILED_MESSAGE, options);
  }
}

export class Contained extends VaultError {
  constructor(message = 'principal is contained', options?: { cause?: unknown }) {
    super(ErrorCode.Contained, message, options);
  }
}

export class ConfigurationError extends VaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Configuration, message, options);
  }
}

export class KeyUnavailable extends VaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.KeyUnavailable, message, options);
  }
}

export class StorageError extends VaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Storage, message, options);
  }
}

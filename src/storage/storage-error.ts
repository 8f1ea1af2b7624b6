import { StorageError, VaultError } from '../domain/errors.js';

/**
 * A failure of a store call as callers see it: coded errors pass through, anything from the
 * driver becomes a StorageError with the driver error as `cause` (never in the message, which may
 * reach a client).
 */
export function storageError(cause: unknown, message = 'storage operation failed'): VaultError {
  return cause instanceof VaultError ? cause : new StorageError(message, { cause });
}

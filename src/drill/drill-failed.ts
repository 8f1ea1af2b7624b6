import { ErrorCode, VaultError } from '../domain/errors.js';

/** The drill could not be run (the lab did not load, the server did not start): one line, exit 1. */
export class DrillFailed extends VaultError {
  constructor(message: string) {
    super(ErrorCode.Storage, message);
  }
}

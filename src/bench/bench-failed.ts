import { ErrorCode, VaultError } from '../domain/errors.js';

/** The run could not be done (the server did not start, or refused the benchmark's reads): one line, exit 1. */
export class BenchFailed extends VaultError {
  constructor(message: string) {
    super(ErrorCode.Storage, message);
  }
}

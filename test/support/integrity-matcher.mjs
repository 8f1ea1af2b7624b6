// Test matcher module (loaded by a scan worker from dist/): fails as the native PRF self-check does,
// with a coded IntegrityViolation, to show the code survives the worker boundary.
import { IntegrityViolation } from '../../dist/domain/errors.js';

export function createMatcher() {
  throw new IntegrityViolation('leak scan: the native blind-index PRF disagrees with node:crypto');
}

import { describe, expect, it } from 'vitest';
import { fromWireError, toWireError } from './error-wire.js';
import { DecryptionFailed, ErrorCode, IntegrityViolation, InvalidInput, KeyUnavailable, VaultError } from './errors.js';

describe('errors across a worker boundary', () => {
  it('keep their code and class through a structured clone', () => {
    for (const e of [
      new IntegrityViolation('tree disagrees'),
      new KeyUnavailable('token removed'),
      new DecryptionFailed(),
      new InvalidInput('bad row'),
    ]) {
      const back = fromWireError(structuredClone(toWireError(e, 'failed')), 'stage: ');
      expect(back).toBeInstanceOf(e.constructor);
      expect(back.code).toBe(e.code);
      // Decryption failures keep their one uniform message (no oracle); the others are prefixed.
      expect(back.message).toBe(e instanceof DecryptionFailed ? e.message : `stage: ${e.message}`);
    }
  });

  it('an uncoded error, or a code it does not know, is invalid input with its message', () => {
    const plain = fromWireError(structuredClone(toWireError(new TypeError('x is not a function'), 'failed')));
    expect(plain).toBeInstanceOf(InvalidInput);
    expect(plain.message).toBe('x is not a function');
    expect(fromWireError(toWireError('thrown string', 'parse stage failed')).message).toBe('parse stage failed');
    const forged = fromWireError({ message: 'm', code: 'no-such-code' as ErrorCode });
    expect(forged).toBeInstanceOf(VaultError);
    expect(forged.code).toBe(ErrorCode.InvalidInput);
  });
});

describe('a coded error from another copy of errors.js', () => {
  it('keeps its code by the code it carries, when the code is one of ErrorCode', () => {
    const foreign = Object.assign(new Error('tree disagrees'), { code: 'integrity-violation' });
    expect(fromWireError(structuredClone(toWireError(foreign, 'failed')))).toBeInstanceOf(IntegrityViolation);
    const errno = Object.assign(new Error('no such file'), { code: 'ENOENT' });
    expect(toWireError(errno, 'failed')).toEqual({ message: 'no such file' });
  });
});

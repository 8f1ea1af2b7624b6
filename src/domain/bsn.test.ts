import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isValidBsn, maskBsn, normaliseBsn } from './bsn.js';

const vectors = JSON.parse(readFileSync(new URL('../../../shared/testdata/bsn-vectors.json', import.meta.url), 'utf8')) as {
  valid: string[];
  invalid: string[];
};

describe('BSN 11-proof', () => {
  it.each(vectors.valid)('accepts the shared valid vector %s', (b) => expect(isValidBsn(b)).toBe(true));
  it.each(vectors.invalid)('rejects the shared invalid vector %s', (b) => expect(isValidBsn(b)).toBe(false));

  it('normalises dots, spaces and a lost leading zero', () => {
    expect(normaliseBsn('1234.56.782')).toBe('123456782');
    expect(normaliseBsn('123 456 782')).toBe('123456782');
    expect(normaliseBsn('12345672')).toBe('012345672');
    expect(normaliseBsn('12345')).toBeNull();
    expect(normaliseBsn('12345678a')).toBeNull();
  });

  it('masks all but the last three digits', () => {
    expect(maskBsn('123456782')).toBe('******782');
  });
});

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BLIND_INDEX_BYTES, blindIndex, nameBirthDateKey, normaliseFamilyName } from './blind-index.js';

describe('blind index', () => {
  const key = randomBytes(32);

  it('is deterministic per key and truncated', () => {
    const a = blindIndex(key, 'bsn', '123456782');
    expect(a.length).toBe(BLIND_INDEX_BYTES);
    expect(blindIndex(key, 'bsn', '123456782').equals(a)).toBe(true);
  });

  it('differs under another key (tenants cannot correlate) and across domains', () => {
    expect(blindIndex(randomBytes(32), 'bsn', '123456782').equals(blindIndex(key, 'bsn', '123456782'))).toBe(false);
    expect(blindIndex(key, 'name-birthdate', '123456782').equals(blindIndex(key, 'bsn', '123456782'))).toBe(false);
  });

  it('does not contain the plaintext', () => {
    expect(blindIndex(key, 'bsn', '123456782').toString('latin1')).not.toContain('123456782');
  });

  it('normalises family names so spelling variants meet', () => {
    expect(normaliseFamilyName('van der Berg')).toBe('vanderberg');
    expect(normaliseFamilyName('Van-der Bérg')).toBe('vanderberg');
    expect(nameBirthDateKey("D'Souza", '1980-01-02')).toBe('dsouza|1980-01-02');
    expect(normaliseFamilyName('Søren-Łukasz Weiß')).toBe('sorenlukaszweiss');
  });
});

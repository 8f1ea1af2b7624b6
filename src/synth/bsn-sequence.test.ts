import { describe, expect, it } from 'vitest';
import { isValidBsn } from '../domain/bsn.js';
import { BsnSequence, withCheckDigit } from './bsn-sequence.js';
import { IdMinter } from './id-minter.js';
import { Prng } from './prng.js';

describe('BsnSequence', () => {
  it('yields unique, 11-proof-valid BSNs', () => {
    const seq = new BsnSequence(new Prng(3));
    const seen = new Set<string>();
    const invalid: string[] = [];
    for (let i = 0; i < 200_000; i++) {
      const bsn = seq.next();
      // Plain checks in the loop: an expect() per draw would dominate the test's run time.
      if (!isValidBsn(bsn)) invalid.push(bsn);
      seen.add(bsn);
    }
    expect(invalid).toEqual([]);
    expect(seen.size).toBe(200_000);
    // About one in ten starts with 0.
    const leadingZero = [...seen].filter((b) => b.startsWith('0')).length / seen.size;
    expect(leadingZero).toBeGreaterThan(0.07);
    expect(leadingZero).toBeLessThan(0.13);
  });

  it('computes the check digit of the 11-proof', () => {
    expect(withCheckDigit(12345678)).toBe('123456782');
    // 9·1 + 8·1 + … + 2·1 = 44 ≡ 0 (mod 11)
    expect(withCheckDigit(11111111)).toBe('111111110');
    // Prefixes whose check digit would be 10 have no valid BSN.
    for (let p = 0; p < 1000; p++) {
      const bsn = withCheckDigit(p);
      if (bsn !== null) expect(isValidBsn(bsn) || bsn === '000000000').toBe(true);
    }
  });
});

describe('IdMinter', () => {
  it('mints unique, random-looking ids that depend on the seed', () => {
    const a = new IdMinter(new Prng(1));
    const ids = new Set<string>();
    for (let i = 0; i < 100_000; i++) ids.add(a.next('obs-'));
    expect(ids.size).toBe(100_000);
    expect([...ids][0]).toMatch(/^obs-[0-9a-f]{4}(-[0-9a-f]{4}){3}$/);
    expect(new IdMinter(new Prng(2)).next('obs-')).not.toBe(new IdMinter(new Prng(1)).next('obs-'));
  });
});

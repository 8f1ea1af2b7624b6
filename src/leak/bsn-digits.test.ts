import { describe, expect, it } from 'vitest';
import { isValidBsn } from '../domain/bsn.js';
import { Prng } from '../synth/prng.js';
import { bsnAt, bsnLostZeroAt, bsnString, isElevenProof } from './bsn-digits.js';
import { formattedBsnAt, formattedBsnEnd } from './formatted-bsn.js';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('11-proof on digit bytes', () => {
  it('agrees with isValidBsn on 200,000 random 9-digit numbers and the edges', () => {
    const prng = new Prng(11);
    const samples = ['000000000', '999999999', '123456782', '111222333', '012345672', '000000011', '100000009'];
    for (let i = 0; i < 200_000; i++) samples.push(String(prng.int(1_000_000_000)).padStart(9, '0'));
    let valid = 0;
    for (const s of samples) {
      const expected = isValidBsn(s);
      const v = bsnAt(bytes(s), 0);
      expect(v >= 0, s).toBe(expected);
      if (expected) {
        valid++;
        expect(bsnString(v)).toBe(s);
      }
      expect(isElevenProof(Number(s))).toBe(expected);
    }
    // About one number in eleven passes: the proof is not vacuous.
    expect(valid).toBeGreaterThan(15_000);
    expect(valid).toBeLessThan(22_000);
  });

  it('restores a lost leading zero exactly when "0" + the 8 digits is valid', () => {
    const prng = new Prng(12);
    for (let i = 0; i < 50_000; i++) {
      const eight = String(prng.int(100_000_000)).padStart(8, '0');
      const v = bsnLostZeroAt(bytes(eight), 0);
      expect(v >= 0, eight).toBe(isValidBsn(`0${eight}`));
      if (v >= 0) expect(bsnString(v)).toBe(`0${eight}`);
    }
  });
});

describe('grouped BSNs', () => {
  it.each([
    ['1234.56.782', '123456782'],
    ['1234 56 782', '123456782'],
    ['123.456.782', '123456782'],
    ['123 456 782', '123456782'],
  ])('reads %s', (text, bsn) => {
    const b = bytes(`x ${text};`);
    const v = formattedBsnAt(b, 2, text.indexOf(text[3] === '.' || text[3] === ' ' ? text[3] : (text[4] as string)), b.length);
    expect(v).toBe(Number(bsn));
    expect(formattedBsnEnd).toBe(2 + text.length);
  });

  it('rejects mixed separators, groups inside longer numbers and failing check digits', () => {
    const at = (t: string, first: number): number => formattedBsnAt(bytes(t), t.search(/\d/), first, t.length);
    expect(at('1234.56 782', 4)).toBe(-1);
    expect(at('06 123 456 782', 2)).toBe(-1);
    expect(formattedBsnAt(bytes('06 123 456 782'), 3, 3, 14)).toBe(-1);
    expect(at('123 456 782 9', 3)).toBe(-1);
    expect(at('123 456 783', 3)).toBe(-1);
  });
});

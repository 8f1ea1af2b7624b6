import { isValidBsn } from '../domain/bsn.js';
import { mix32 } from './mix32.js';
import type { Prng } from './prng.js';

/** Eight leading digits; the ninth is the check digit the 11-proof dictates. */
const PREFIX_SPACE = 100_000_000;
const HALF_BITS = 14;
const HALF_MASK = (1 << HALF_BITS) - 1;
const ROUNDS = 4;

/**
 * Hands out unique, 11-proof-valid BSNs in a seeded random-looking order, with O(1) memory.
 *
 * A keyed Feistel permutation over 28 bits, cycle-walked down to the 10^8 eight-digit prefixes, is a
 * bijection on those prefixes; the check digit is a function of the prefix, so no two draws can
 * ever yield the same BSN — no "seen" set needed even for millions of persons. Prefixes whose
 * check digit would be 10 have no valid BSN and are skipped. About one in ten numbers naturally
 * starts with a zero, like real BSNs that lost their leading zero in older systems.
 */
export class BsnSequence {
  private index = 0;
  private readonly keys: Uint32Array;

  constructor(prng: Prng) {
    this.keys = new Uint32Array(ROUNDS);
    for (let i = 0; i < ROUNDS; i++) this.keys[i] = prng.uint32();
  }

  /** Next BSN; throws once the (roughly 91 million) valid numbers are exhausted. */
  next(): string {
    while (this.index < PREFIX_SPACE) {
      const prefix = this.permute(this.index++);
      const bsn = withCheckDigit(prefix);
      if (bsn !== null && isValidBsn(bsn)) return bsn;
    }
    throw new RangeError('BSN space exhausted');
  }

  private permute(i: number): number {
    let x = i;
    // Cycle walking: re-apply the 2^28 permutation until the value lands inside [0, 10^8).
    do x = this.feistel(x);
    while (x >= PREFIX_SPACE);
    return x;
  }

  private feistel(x: number): number {
    let left = x >>> HALF_BITS;
    let right = x & HALF_MASK;
    for (let r = 0; r < ROUNDS; r++) {
      const mixed = (left ^ mix32(right, this.keys[r] ?? 0)) & HALF_MASK;
      left = right;
      right = mixed;
    }
    return (left << HALF_BITS) | right;
  }
}

/** Appends the 11-proof check digit to an eight-digit prefix, or null when it would have to be 10. */
export function withCheckDigit(prefix: number): string | null {
  const digits = String(prefix).padStart(8, '0');
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += (digits.charCodeAt(i) - 48) * (9 - i);
  const check = sum % 11;
  return check === 10 ? null : digits + String(check);
}

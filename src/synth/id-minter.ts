import { mix32 } from './mix32.js';
import type { Prng } from './prng.js';

const ROUNDS = 4;
const TWO_POW_32 = 4294967296;

/** Two hex digits per byte value: formatting via toString(16)+padStart is measurably slower. */
const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex8(x: number): string {
  return (HEX[x >>> 24] as string) + (HEX[(x >>> 16) & 0xff] as string) + (HEX[(x >>> 8) & 0xff] as string) + (HEX[x & 0xff] as string);
}

/**
 * Mints pseudonymous resource ids such as `pat-3f9c-0a1b-7d2e-4c58`. The 64-bit suffix is a keyed
 * Feistel permutation of a running counter, so ids look random, carry nothing about the person
 * (never derived from the BSN) and are guaranteed unique across the whole output — a random
 * 64-bit draw would only make collisions unlikely.
 */
export class IdMinter {
  private counter = 0;
  private readonly keys: Uint32Array;

  /** Round keys come from the seeded generator, so ids differ between seeds. */
  constructor(prng: Prng) {
    this.keys = new Uint32Array(ROUNDS);
    for (let i = 0; i < ROUNDS; i++) this.keys[i] = prng.uint32();
  }

  /** Next id with the given prefix (e.g. `pat-`, `sr-`). */
  next(prefix: string): string {
    const n = this.counter++;
    let left = Math.floor(n / TWO_POW_32) >>> 0;
    let right = n >>> 0;
    for (let r = 0; r < ROUNDS; r++) {
      const mixed = (left ^ mix32(right, this.keys[r] ?? 0)) >>> 0;
      left = right;
      right = mixed;
    }
    // Grouped by four: a run of 8–9 digits could pass the BSN 11-proof, and ingest refuses ids
    // that look like a BSN (an id is stored in plaintext).
    const h = hex8(left) + hex8(right);
    return `${prefix}${h.slice(0, 4)}-${h.slice(4, 8)}-${h.slice(8, 12)}-${h.slice(12)}`;
  }
}

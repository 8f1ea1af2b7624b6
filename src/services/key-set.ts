import { randomBytes } from 'node:crypto';

/**
 * A compact set of 64-bit hashes of resource keys (FNV-1a over the key string), in typed arrays:
 * 16 bytes a key instead of ~100 for a Set of strings, so an ingest run can remember every record
 * it wrote (3.2M for the full-size lab ≈ 64 MiB) and resolve references to them without a
 * database round trip. A false "present" needs a 64-bit hash collision (~n²/2^65); the hash is
 * seeded at random per set, so a sender cannot craft ids that collide on purpose. References not
 * found here are still looked up in the store.
 */
export class KeySet {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private count = 0;
  private readonly seedA = randomBytes(4).readUInt32LE(0);
  private readonly seedB = randomBytes(4).readUInt32LE(0);

  constructor(capacity = 1 << 16) {
    const size = 1 << Math.ceil(Math.log2(Math.max(16, capacity * 2)));
    this.hi = new Uint32Array(size);
    this.lo = new Uint32Array(size);
  }

  get size(): number {
    return this.count;
  }

  add(key: string): void {
    hash(key, this.seedA, this.seedB);
    if (this.insert(hashHi, hashLo)) this.count++;
    if (this.count * 2 > this.hi.length) this.grow();
  }

  has(key: string): boolean {
    hash(key, this.seedA, this.seedB);
    const h = hashHi;
    const l = hashLo;
    const mask = this.hi.length - 1;
    for (let i = l & mask; ; i = (i + 1) & mask) {
      const sh = this.hi[i] ?? 0;
      const sl = this.lo[i] ?? 0;
      if (sh === 0 && sl === 0) return false;
      if (sh === h && sl === l) return true;
    }
  }

  private insert(h: number, l: number): boolean {
    const mask = this.hi.length - 1;
    for (let i = l & mask; ; i = (i + 1) & mask) {
      const sh = this.hi[i] ?? 0;
      const sl = this.lo[i] ?? 0;
      if (sh === 0 && sl === 0) {
        this.hi[i] = h;
        this.lo[i] = l;
        return true;
      }
      if (sh === h && sl === l) return false;
    }
  }

  private grow(): void {
    const { hi, lo } = this;
    this.hi = new Uint32Array(hi.length * 2);
    this.lo = new Uint32Array(lo.length * 2);
    for (let i = 0; i < hi.length; i++) {
      const h = hi[i] ?? 0;
      const l = lo[i] ?? 0;
      if (h !== 0 || l !== 0) this.insert(h, l);
    }
  }
}

/**
 * The result of the last hash() call. Two module variables instead of a returned pair: a pair was
 * an allocation per look-up, ~60 MB of short-lived garbage on the main thread per 100k-person ingest.
 */
let hashHi = 0;
let hashLo = 0;

/** Two independent 32-bit FNV-1a variants into hashHi/hashLo; (0,0) is reserved for empty slots. */
function hash(s: string, seedA: number, seedB: number): void {
  let a = (0x811c9dc5 ^ seedA) >>> 0;
  let b = (0x050c5d1f ^ seedB) >>> 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  hashHi = a >>> 0;
  hashLo = b >>> 0;
  if (hashHi === 0 && hashLo === 0) hashLo = 1;
}

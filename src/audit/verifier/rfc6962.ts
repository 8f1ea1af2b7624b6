import { hash } from 'node:crypto';

/**
 * RFC 6962 / RFC 9162 Merkle tree hashing and proof verification. Part of the standalone verifier:
 * imports nothing but node:crypto, so an auditor can read and run it without the application.
 *
 * Sizes and indexes are plain numbers (exact up to 2^53) and use arithmetic, not 32-bit bit
 * operators, so logs beyond 2^31 events stay correct.
 */
export const HASH_BYTES = 32;
const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

export const EMPTY_ROOT: Buffer = hash('sha256', Buffer.alloc(0), 'buffer');

/** Reused scratch for node hashes: 0x01 ‖ left ‖ right. */
const nodeScratch = Buffer.alloc(1 + 2 * HASH_BYTES);
nodeScratch[0] = NODE_PREFIX;
let leafScratch = Buffer.alloc(4096);

/** SHA-256(0x00 ‖ data). */
export function leafHash(data: Uint8Array): Buffer {
  // One-shot hash over a scratch copy is ~2× faster than createHash().update().update() here.
  if (leafScratch.length < data.length + 1) leafScratch = Buffer.alloc(Math.max(data.length + 1, leafScratch.length * 2));
  leafScratch[0] = LEAF_PREFIX;
  leafScratch.set(data, 1);
  return hash('sha256', leafScratch.subarray(0, data.length + 1), 'buffer');
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_BYTES);
  return hash('sha256', nodeScratch, 'buffer');
}

/** Largest power of two strictly below n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Merkle tree hash of a list of leaf hashes, by the RFC's recursive definition (tests, small trees). */
export function rootOfLeafHashes(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return EMPTY_ROOT;
  const rec = (lo: number, hi: number): Buffer => {
    if (hi - lo === 1) return leaves[lo] as Buffer;
    const k = splitPoint(hi - lo);
    return nodeHash(rec(lo, lo + k), rec(lo + k, hi));
  };
  return rec(0, leaves.length);
}

/**
 * The right edge of a growing tree: the roots of its perfect subtrees, largest first (one per set
 * bit of the size). Appending a leaf is amortised one node hash; the root is ≤ log2(n) hashes.
 */
export class CompactRange {
  private nodes: Buffer[] = [];
  private n = 0;

  /** `onNode(level, index, hash)` sees every completed interior node (level ≥ 1). */
  constructor(private readonly onNode?: (level: number, index: number, hash: Buffer) => void) {}

  static from(size: number, nodes: readonly Buffer[], onNode?: (level: number, index: number, hash: Buffer) => void): CompactRange {
    const r = new CompactRange(onNode);
    r.n = size;
    r.nodes = [...nodes];
    return r;
  }

  get size(): number {
    return this.n;
  }

  /** Perfect-subtree roots, largest (leftmost) first. */
  get frontier(): readonly Buffer[] {
    return this.nodes;
  }

  append(leaf: Buffer): void {
    const index = this.n;
    let node = leaf;
    let s = index;
    let level = 0;
    while (s % 2 === 1) {
      node = nodeHash(this.nodes.pop() as Buffer, node);
      s = (s - 1) / 2;
      level++;
      this.onNode?.(level, Math.floor(index / 2 ** level), node);
    }
    this.nodes.push(node);
    this.n = index + 1;
  }

  /**
   * Appends a whole perfect subtree of 2^level leaves; the size must be a multiple of 2^level (as
   * when combining aligned runs hashed elsewhere). Completed nodes are not reported to onNode.
   */
  appendSubtree(level: number, hash: Buffer): void {
    const width = 2 ** level;
    if (this.n % width !== 0) throw new RangeError('subtree is not aligned to the tree size');
    let node = hash;
    let s = this.n / width;
    while (s % 2 === 1) {
      node = nodeHash(this.nodes.pop() as Buffer, node);
      s = (s - 1) / 2;
    }
    this.nodes.push(node);
    this.n += width;
  }

  root(): Buffer {
    const last = this.nodes.length - 1;
    if (last < 0) return EMPTY_ROOT;
    let r = this.nodes[last] as Buffer;
    for (let i = last - 1; i >= 0; i--) r = nodeHash(this.nodes[i] as Buffer, r);
    return r;
  }
}

const odd = (x: number): boolean => x % 2 === 1;
const half = (x: number): number => Math.floor(x / 2);

/** RFC 9162 §2.1.3.2: does `proof` show that `leaf` is at `index` in the tree of `size` with `root`? */
export function verifyInclusion(index: number, size: number, leaf: Buffer, proof: readonly Buffer[], root: Buffer): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && r.equals(root);
}

/** RFC 9162 §2.1.4.2: is the tree of size `second` an append-only extension of the one of size `first`? */
export function verifyConsistency(first: number, second: number, firstRoot: Buffer, secondRoot: Buffer, proof: readonly Buffer[]): boolean {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) return false;
  if (first === second) return proof.length === 0 && firstRoot.equals(secondRoot);
  if (first === 0) return proof.length === 0 && firstRoot.equals(EMPTY_ROOT);
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  if (path.length === 0) return false;
  let fn = first - 1;
  let sn = second - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0] as Buffer;
  let sr = path[0] as Buffer;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && fr.equals(firstRoot) && sr.equals(secondRoot);
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

import { EMPTY_ROOT, splitPoint } from './verifier/rfc6962.js';
import type { TileNodes } from './tile-nodes.js';
import { InvalidInput } from '../domain/errors.js';

/**
 * Proof generation (RFC 6962 §2.1.1 PATH and §2.1.2 SUBPROOF) over stored tiles. The verifier side
 * is in verifier/rfc6962.ts.
 */
export async function inclusionProof(nodes: TileNodes, index: number, size: number): Promise<Buffer[]> {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new InvalidInput(`index must be below the tree size (${size})`);
  }
  const path = async (m: number, lo: number, hi: number): Promise<Buffer[]> => {
    const n = hi - lo;
    if (n === 1) return [];
    const k = splitPoint(n);
    if (m < k) return [...(await path(m, lo, lo + k)), await nodes.range(lo + k, hi)];
    return [...(await path(m - k, lo + k, hi)), await nodes.range(lo, lo + k)];
  };
  return path(index, 0, size);
}

export async function consistencyProof(nodes: TileNodes, first: number, second: number): Promise<Buffer[]> {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) {
    throw new InvalidInput('consistency needs 0 ≤ first ≤ second ≤ tree size');
  }
  if (first === 0 || first === second) return [];
  const sub = async (m: number, lo: number, hi: number, whole: boolean): Promise<Buffer[]> => {
    const n = hi - lo;
    if (m === n) return whole ? [] : [await nodes.range(lo, hi)];
    const k = splitPoint(n);
    if (m <= k) return [...(await sub(m, lo, lo + k, whole)), await nodes.range(lo + k, hi)];
    return [...(await sub(m - k, lo + k, hi, false)), await nodes.range(lo, lo + k)];
  };
  return sub(first, 0, second, true);
}

export async function rootAt(nodes: TileNodes, size: number): Promise<Buffer> {
  return size === 0 ? EMPTY_ROOT : nodes.range(0, size);
}

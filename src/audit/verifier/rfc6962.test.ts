import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CompactRange, EMPTY_ROOT, leafHash, rootOfLeafHashes, verifyConsistency, verifyInclusion } from './rfc6962.js';

const vectors = JSON.parse(readFileSync(new URL('../../../../shared/testdata/rfc6962-roots.json', import.meta.url), 'utf8')) as {
  leaves: string[];
  empty_root: string;
  roots: Record<string, string>;
};

describe('RFC 6962 Merkle tree hash', () => {
  it('reproduces the shared test vectors with the recursive definition and the compact range', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe(vectors.empty_root);
    expect(new CompactRange().root().toString('hex')).toBe(vectors.empty_root);
    const leaves = vectors.leaves.map((h) => leafHash(Buffer.from(h, 'hex')));
    for (const [n, root] of Object.entries(vectors.roots)) {
      expect(rootOfLeafHashes(leaves.slice(0, Number(n))).toString('hex')).toBe(root);
      const range = new CompactRange();
      for (const l of leaves.slice(0, Number(n))) range.append(l);
      expect(range.root().toString('hex')).toBe(root);
    }
  });

  it('rejects an inclusion proof for the wrong index, leaf, size or root', () => {
    const leaves = vectors.leaves.map((h) => leafHash(Buffer.from(h, 'hex')));
    const root = rootOfLeafHashes(leaves);
    // Proof for index 2 of 8 by hand: siblings leaf3, node(0,1), node(4..7)
    const n01 = rootOfLeafHashes(leaves.slice(0, 2));
    const n47 = rootOfLeafHashes(leaves.slice(4, 8));
    const proof = [leaves[3]!, n01, n47];
    expect(verifyInclusion(2, 8, leaves[2]!, proof, root)).toBe(true);
    expect(verifyInclusion(3, 8, leaves[2]!, proof, root)).toBe(false);
    expect(verifyInclusion(2, 8, leaves[1]!, proof, root)).toBe(false);
    expect(verifyInclusion(2, 8, leaves[2]!, proof, EMPTY_ROOT)).toBe(false);
    expect(verifyInclusion(8, 8, leaves[2]!, proof, root)).toBe(false);
    expect(verifyConsistency(4, 2, root, root, [])).toBe(false);
  });
});

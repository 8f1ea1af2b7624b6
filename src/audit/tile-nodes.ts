import { HASH_BYTES, leafHash, nodeHash } from './verifier/rfc6962.js';

/**
 * Where the Merkle tree's interior lives: complete tiles of 16 node hashes. Tile (t, j) holds the
 * hashes of the nodes at level 4t with indices 16j … 16j+15 (level 0: the leaves). A tile is
 * written once, when complete, so the table is insert-only like the events. Any node is then at
 * most 15 hashes away from stored ones: an inclusion proof at 10M events reads ~6 tiles and
 * computes ~70 hashes, with no rebuild. The right edge (incomplete tiles) is recomputed from the
 * level below, down to the events themselves for the last < 16 leaves.
 */
export const TILE_STRIDE = 4;
export const TILE_WIDTH = 16;
export const TILE_BYTES = TILE_WIDTH * HASH_BYTES;

export interface TileRecord {
  readonly level: number;
  readonly index: number;
  readonly hashes: Buffer;
}

export interface TileSource {
  /**
   * A complete tile, or null if it is not stored (yet). May instead return the entries an
   * incomplete tile has so far (fewer than 16): they are complete nodes and never change.
   */
  tile(level: number, index: number): Promise<Buffer | null>;
  /** Canonical bytes of event `seq` (only asked for the last < 16 events of the tree). */
  event(seq: number): Promise<Buffer>;
}

/** Reads node hashes through a TileSource, caching the tiles it has read. */
export class TileNodes {
  private readonly tiles = new Map<string, Buffer | null>();

  constructor(private readonly source: TileSource) {}

  /** Hash of the perfect subtree at `level` (2^level leaves) with index `index`; it must be complete. */
  async node(level: number, index: number): Promise<Buffer> {
    if (level % TILE_STRIDE === 0) {
      const t = level / TILE_STRIDE;
      const j = Math.floor(index / TILE_WIDTH);
      const key = `${t}/${j}`;
      let tile = this.tiles.get(key);
      if (tile === undefined) {
        tile = await this.source.tile(t, j);
        this.tiles.set(key, tile);
      }
      const k = index % TILE_WIDTH;
      // A source may also hand out the incomplete right-edge tile it holds in memory (shorter).
      if (tile && (k + 1) * HASH_BYTES <= tile.length) return tile.subarray(k * HASH_BYTES, (k + 1) * HASH_BYTES);
      if (level === 0) return leafHash(await this.source.event(index));
    }
    return nodeHash(await this.node(level - 1, 2 * index), await this.node(level - 1, 2 * index + 1));
  }

  /** RFC 6962 MTH of leaves [lo, hi), hi > lo, built from perfect subtrees. */
  async range(lo: number, hi: number): Promise<Buffer> {
    const n = hi - lo;
    const level = Math.log2(n);
    if (Number.isInteger(level) && lo % n === 0) return this.node(level, lo / n);
    let k = 1;
    while (k * 2 < n) k *= 2;
    return nodeHash(await this.range(lo, lo + k), await this.range(lo + k, hi));
  }
}

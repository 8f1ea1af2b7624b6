import type { AuditEvent } from '../domain/audit-event.js';
import { GENESIS_PREV, encodeEvent } from './event-codec.js';
import { TILE_STRIDE, TILE_WIDTH, TileNodes, type TileRecord, type TileSource } from './tile-nodes.js';
import { CompactRange, leafHash } from './verifier/rfc6962.js';

let nextLineage = 1;

/** One event ready to insert: its position, canonical bytes and the columns queries use. */
export interface SealedRow {
  readonly seq: number;
  readonly bytes: Buffer;
  readonly event: AuditEvent;
}

export interface SealResult {
  readonly rows: SealedRow[];
  readonly tiles: TileRecord[];
  readonly next: TreeState;
}

/**
 * The appender's view of the tree after `size` events: the previous leaf hash (for chaining), the
 * compact range (for the root) and the entries of every incomplete tile (to write each tile once,
 * when it completes). Immutable: seal() returns a new state, adopted only after the transaction
 * that stored its rows commits, so a rolled-back append leaves nothing stale behind.
 */
export class TreeState {
  private constructor(
    readonly size: number,
    private readonly prevLeaf: Buffer,
    private readonly frontier: readonly Buffer[],
    private readonly partial: readonly (readonly Buffer[])[],
    /** New for every load from storage, kept by seal(): see AuditHead.lineage. */
    readonly lineage: number = nextLineage++,
  ) {}

  static empty(): TreeState {
    return new TreeState(0, GENESIS_PREV, [], []);
  }

  /** Rebuilds the state at `size` from stored tiles (and the last < 16 events). */
  static async load(size: number, source: TileSource): Promise<TreeState> {
    if (size === 0) return TreeState.empty();
    const nodes = new TileNodes(source);
    const frontier: Buffer[] = [];
    let offset = 0;
    for (let level = Math.floor(Math.log2(size)); level >= 0; level--) {
      const width = 2 ** level;
      if (size - offset >= width) {
        frontier.push(await nodes.node(level, offset / width));
        offset += width;
      }
    }
    const partial: Buffer[][] = [];
    for (let t = 0; Math.floor(size / TILE_WIDTH ** t) > 0; t++) {
      const count = Math.floor(size / TILE_WIDTH ** t);
      const first = count - (count % TILE_WIDTH);
      const entries: Buffer[] = [];
      for (let i = first; i < count; i++) entries.push(await nodes.node(t * TILE_STRIDE, i));
      partial.push(entries);
    }
    return new TreeState(size, await nodes.node(0, size - 1), frontier, partial);
  }

  /**
   * The entries so far of the incomplete tile (level, index) on this state's right edge, or null.
   * Lets proofs near the head read the right edge from memory instead of rebuilding it.
   */
  partialTile(level: number, index: number): Buffer | null {
    const entries = this.partial[level];
    if (!entries || entries.length === 0) return null;
    const count = Math.floor(this.size / TILE_WIDTH ** level);
    return Math.floor(count / TILE_WIDTH) === index ? Buffer.concat(entries) : null;
  }

  root(): Buffer {
    return CompactRange.from(this.size, this.frontier).root();
  }

  /** Assigns positions `size`, `size+1`, … to `events`, chains and hashes them. Pure. */
  seal(events: readonly AuditEvent[]): SealResult {
    const tiles: TileRecord[] = [];
    const partial = this.partial.map((p) => [...p]);
    const add = (t: number, index: number, hash: Buffer): void => {
      const p = (partial[t] ??= []);
      p.push(hash);
      if (p.length === TILE_WIDTH) {
        tiles.push({ level: t, index: Math.floor(index / TILE_WIDTH), hashes: Buffer.concat(p) });
        partial[t] = [];
      }
    };
    const range = CompactRange.from(this.size, this.frontier, (level, index, hash) => {
      if (level % TILE_STRIDE === 0) add(level / TILE_STRIDE, index, hash);
    });
    const rows: SealedRow[] = [];
    let prev = this.prevLeaf;
    let seq = this.size;
    for (const event of events) {
      const bytes = encodeEvent(seq, prev, event);
      const leaf = leafHash(bytes);
      add(0, seq, leaf);
      range.append(leaf);
      rows.push({ seq, bytes, event });
      prev = leaf;
      seq++;
    }
    return { rows, tiles, next: new TreeState(seq, prev, range.frontier, partial, this.lineage) };
  }
}

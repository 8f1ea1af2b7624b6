import type { AuditStore, StoredCheckpoint } from '../ports/audit-store.js';
import { IntegrityViolation } from '../domain/errors.js';
import { consistencyProof, inclusionProof } from './merkle-proofs.js';
import { TileNodes } from './tile-nodes.js';
import { leafHash, verifyInclusion } from './verifier/rfc6962.js';

export interface InclusionProofResult {
  index: number;
  size: number;
  leaf_hash: string;
  root: string;
  proof: string[];
  /** The signed checkpoint for `size`, when one exists (the proof is then against a signed root). */
  checkpoint: string | null;
  verified: boolean;
}

/**
 * Proofs over the stored tree (`audit prove`): inclusion of one event and consistency between two
 * sizes, computed from the tiles and checked against the signed checkpoint of that size.
 */
export class AuditProver {
  constructor(
    private readonly store: AuditStore,
    /** A stored checkpoint's size and root as its signed note says them (null if not signed by this log). */
    private readonly signed: (cp: StoredCheckpoint) => { size: number; root: Buffer } | null,
  ) {}

  /** Reads node hashes from the store's tiles (a fresh tile cache per call). */
  nodes(): TileNodes {
    return new TileNodes({
      tile: (l, i) => this.store.getAuditTile(l, i),
      event: async (seq) => {
        const e = await this.store.getAuditEvent(seq);
        if (!e) throw new IntegrityViolation(`audit event ${seq} is missing`);
        return e;
      },
    });
  }

  /** The bare inclusion proof of event `index` in the tree of `size` (the benchmark times this). */
  async inclusionProof(index: number, size: number): Promise<Buffer[]> {
    return inclusionProof(this.nodes(), index, size);
  }

  async prove(index: number, size?: number): Promise<InclusionProofResult> {
    const head = await this.store.auditHead();
    const latest = await this.store.latestCheckpoint();
    // Default: against the latest signed head if it covers the event, else the current head.
    const n = size ?? (latest && index < latest.size ? latest.size : head.size);
    if (n > head.size) throw new IntegrityViolation(`the log holds ${head.size} events, not ${n}`);
    const nodes = this.nodes();
    const proof = await inclusionProof(nodes, index, n);
    const root = await nodes.range(0, n);
    const event = await this.store.getAuditEvent(index);
    if (!event) throw new IntegrityViolation(`audit event ${index} is missing`);
    const leaf = leafHash(event);
    // The signed note, not the stored root column, is what vouches for the root.
    const stored = (await this.store.listCheckpoints()).find((c) => c.size === n) ?? null;
    const signed = stored ? this.signed(stored) : null;
    return {
      index,
      size: n,
      leaf_hash: leaf.toString('hex'),
      root: root.toString('hex'),
      proof: proof.map((p) => p.toString('hex')),
      checkpoint: stored?.note ?? null,
      verified: verifyInclusion(index, n, leaf, proof, root) && (stored === null || (signed !== null && signed.root.equals(root))),
    };
  }

  async consistency(first: number, second: number): Promise<string[]> {
    return (await consistencyProof(this.nodes(), first, second)).map((p) => p.toString('hex'));
  }
}

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { rootAt } from '../audit/merkle-proofs.js';
import type { TileNodes } from '../audit/tile-nodes.js';
import { openNote, parseCheckpointText, parseVerifierKey, type NoteVerifier } from '../audit/verifier/signed-note.js';
import { IntegrityViolation } from '../domain/errors.js';
import type { AuditStore } from '../ports/audit-store.js';
import type { CheckpointWitness } from '../ports/checkpoint-witness.js';
import { DirectoryWitness } from '../witness/directory-witness.js';
import { errorCode, failed, isTransient, passed, type IntegrityCheck, type IntegrityProbe } from './integrity-monitor-probe.js';

/**
 * The audit log against its witness: the root the store's Merkle tiles give at the size of the
 * newest witnessed checkpoint must be the root that checkpoint signs. A store replaced by an
 * older copy, a rewritten history or an encrypted tile table all fail this, without reading the
 * events (`audit verify` does that; it takes minutes on a big log). The root comes from the
 * stored tiles through the same code as `audit prove` (a few tile reads at any size, and the
 * events of the last incomplete tile).
 *
 * Start-up reads the witness directory once for its newest copy. After that the reference only
 * moves forward: when the store's newest checkpoint is larger, its witness copy is read by size
 * (one file) and, if it verifies, becomes the reference. A store whose newest checkpoint is
 * older than the reference has lost history.
 */
export class AuditIntegrityProbe implements IntegrityProbe {
  private witnessed: { size: number; root: Buffer } | null = null;
  private readonly key: NoteVerifier;

  /**
   * `tree`: a fresh reader of the stored tiles and events per call (for SQLite as the file holds
   * them, see SqliteIntegrityProbe.storedTree); `store`: where the newest stored checkpoint is read.
   */
  constructor(
    private readonly store: Pick<AuditStore, 'latestCheckpoint'>,
    private readonly tree: () => TileNodes,
    private readonly witness: CheckpointWitness,
    verifierKey: string,
  ) {
    this.key = parseVerifierKey(verifierKey);
  }

  async full(): Promise<IntegrityCheck[]> {
    let notes: { source: string; note: string }[];
    try {
      notes = await this.witness.list();
    } catch (e) {
      return [failed('audit.witness', `the witness directory cannot be read (${errorCode(e)})`)];
    }
    // Sizes are zero-padded in the names, so the last is the newest; only that one must verify.
    const last = notes.at(-1);
    if (last) {
      const cp = this.open(last.note);
      if (!cp) return [failed('audit.witness', `witness copy ${fileName(last.source)} is not a checkpoint signed by this log`)];
      if (!this.witnessed || cp.size >= this.witnessed.size) this.witnessed = cp;
    }
    return [await this.compare()];
  }

  async cheap(): Promise<IntegrityCheck[]> {
    try {
      const problem = await this.follow();
      if (problem !== null) return [failed('audit.witness', problem)];
    } catch (e) {
      return [failed('audit.witness', `the store's checkpoints cannot be read (${errorCode(e)})`, isTransient(e))];
    }
    return [await this.compare()];
  }

  async close(): Promise<void> {}

  /** Moves the reference to the store's newest checkpoint once its witness copy exists and verifies. */
  private async follow(): Promise<string | null> {
    const latest = await this.store.latestCheckpoint();
    const known = this.witnessed?.size ?? 0;
    if (latest === null) return known > 0 ? 'the store holds no checkpoint, the witness does' : null;
    if (latest.size < known) return "the store's newest checkpoint is older than the newest witnessed one";
    if (latest.size === known) return null;
    const note = await this.witnessCopy(latest.size);
    // Not there yet: the log stores a checkpoint, then publishes it (and retries a failed publish).
    if (note === null) return null;
    const cp = this.open(note);
    if (!cp || cp.size !== latest.size) return 'the newest witness copy is not a checkpoint signed by this log';
    this.witnessed = cp;
    return null;
  }

  private async compare(): Promise<IntegrityCheck> {
    const w = this.witnessed;
    if (!w) return passed('audit.witness', 'no witnessed checkpoint yet');
    let root: Buffer;
    try {
      // A fresh tile cache per run: a tile rewritten since the last run is read again.
      root = await rootAt(this.tree(), w.size);
    } catch (e) {
      if (e instanceof IntegrityViolation) return failed('audit.witness', 'the audit log holds fewer events than the witness vouches for');
      return failed('audit.witness', `the audit tiles cannot be read (${errorCode(e)})`, isTransient(e));
    }
    return root.equals(w.root)
      ? passed('audit.witness', 'audit root at the newest witnessed size matches the witness copy')
      : failed('audit.witness', 'audit root at the newest witnessed size differs from the witness copy');
  }

  /** Size and root of a note signed by this log's key, else null. */
  private open(note: string): { size: number; root: Buffer } | null {
    const text = openNote(note, this.key);
    const cp = text === null ? null : parseCheckpointText(text);
    return cp && cp.origin === this.key.name ? { size: cp.size, root: cp.root } : null;
  }

  /**
   * The witness copy for `size`, or null. A directory witness is read by file name (one read,
   * whatever the number of copies: a server signs one a second); any other lists its copies.
   */
  private async witnessCopy(size: number): Promise<string | null> {
    if (this.witness instanceof DirectoryWitness) {
      try {
        return await fs.readFile(path.join(this.witness.location, `${String(size).padStart(16, '0')}.checkpoint`), 'utf8');
      } catch (e) {
        if (errorCode(e) === 'ENOENT') return null;
        throw e;
      }
    }
    for (const { note } of await this.witness.list()) if (this.open(note)?.size === size) return note;
    return null;
  }
}

/** `witness:0000000000001000.checkpoint` → the file name alone. */
function fileName(source: string): string {
  return source.replace(/^[a-z]+:/, '');
}

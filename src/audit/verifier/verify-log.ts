import { CompactRange } from './rfc6962.js';
import { CHUNK, scanChunk, splitLines, type ChunkResult } from './scan-chunk.js';
import { ParallelScanner } from './parallel-scanner.js';
import { openNote, parseCheckpointText, parseVerifierKey, type NoteVerifier } from './signed-note.js';

/**
 * The standalone audit-log verifier: needs only the events (their canonical bytes, in log order),
 * the signed checkpoints (from the database and from witness copies) and the log's public key.
 * It imports nothing from the application and touches no database, so an auditor can run it on an
 * export without trusting the lab.
 *
 * What it checks, in one pass:
 * - every event's `seq` equals its position (a deleted, inserted or reordered event shows at once);
 * - every event's `prev` equals the leaf hash of the event before it (an edited event shows at its
 *   successor, which committed to its old hash);
 * - every checkpoint is signed by the log's key and names its origin, and its root equals the root
 *   recomputed over the events up to its size (RFC 6962); since all roots are recomputed from one
 *   sequence, any two checkpoints that pass are consistent with each other;
 * - no checkpoint is larger than the log (a truncated tail).
 * A history rewritten consistently (re-chained and re-hashed) passes the first two checks and is
 * caught by the signatures: the first bad index is then the size of the last checkpoint that still
 * matched, the first event no signature vouches for.
 */
export interface CheckpointInput {
  /** The signed note, as stored. */
  readonly note: string;
  /** Where it came from, for the report: `store`, or the witness file name. */
  readonly source: string;
}

export interface VerifyLogInput {
  /**
   * Canonical event bytes in log order: one per item, in arrays, or packed as NDJSON (whole lines,
   * as read from an export or concatenated by the database), which costs this thread least.
   */
  readonly events: AsyncIterable<EventsItem> | Iterable<EventsItem>;
  readonly checkpoints: readonly CheckpointInput[];
  /** `<name>+<key id>+<base64 key>` (C2SP signed-note verifier key). */
  readonly verifierKey: string;
  /** Worker threads for the per-event work (0: all in this thread). Worth it above ~100k events. */
  readonly workers?: number;
  /** Events per scanned run, a power of two (default 4096); small values let tests cross many runs. */
  readonly chunk?: number;
}

export type EventsItem = Uint8Array | readonly Uint8Array[] | { readonly ndjson: Uint8Array };

export interface VerifyLogResult {
  events: number;
  /** Checkpoints whose signature verified (store and witness copies). */
  checkpoints: number;
  ok: boolean;
  first_bad_index: number | null;
  reason: string | null;
  /** Largest checkpoint size whose root matched the events. */
  verified_size: number;
  /** Events after the last matching checkpoint: consistent, but no signature vouches for them yet. */
  unsigned_tail: number;
  /** Root of the whole log as recomputed (null when it failed). */
  root: string | null;
}

interface ValidCheckpoint {
  size: number;
  root: Buffer;
  source: string;
}

const GENESIS_PREV = Buffer.alloc(32);

export async function verifyLog(input: VerifyLogInput): Promise<VerifyLogResult> {
  const result: VerifyLogResult = {
    events: 0,
    checkpoints: 0,
    ok: false,
    first_bad_index: null,
    reason: null,
    verified_size: 0,
    unsigned_tail: 0,
    root: null,
  };
  let verifier: NoteVerifier;
  try {
    verifier = parseVerifierKey(input.verifierKey);
  } catch (e) {
    result.reason = `bad verifier key: ${(e as Error).message}`;
    return result;
  }
  const problems: string[] = [];
  const checkpoints: ValidCheckpoint[] = [];
  for (const c of input.checkpoints) {
    const text = openNote(c.note, verifier);
    const cp = text === null ? null : parseCheckpointText(text);
    if (!cp) problems.push(`checkpoint from ${c.source} has no valid signature by ${verifier.name}`);
    else if (cp.origin !== verifier.name) problems.push(`checkpoint from ${c.source} is for another log (${cp.origin})`);
    else checkpoints.push({ size: cp.size, root: cp.root, source: c.source });
  }
  result.checkpoints = checkpoints.length;
  checkpoints.sort((a, b) => a.size - b.size);

  const tree = new CompactRange();
  let next = 0; // next checkpoint to check
  let prevLeaf: Buffer = GENESIS_PREV;
  let bad: { index: number; reason: string; pos: number } | null = null;
  let size = 0;
  const checkRoot = (at: number, root: () => Buffer): void => {
    while (next < checkpoints.length && (checkpoints[next] as ValidCheckpoint).size === at) {
      const cp = checkpoints[next++] as ValidCheckpoint;
      if (root().equals(cp.root)) result.verified_size = at;
      else bad ??= { index: result.verified_size, reason: `root at size ${at} does not match the checkpoint from ${cp.source}`, pos: at };
    }
  };
  const cutsIn = (from: number, to: number): number[] => checkpoints.map((c) => c.size).filter((x) => x > from && x < to);
  // Combines one scanned run (in log order) into the whole: the chain link into the run, the
  // checkpoints inside it, then its subtrees. Returns false at the first failure.
  const combine = (start: number, r: ChunkResult): boolean => {
    if (r.failure?.pos !== start && r.count > 0 && !(r.firstPrev ?? Buffer.alloc(0)).equals(prevLeaf)) {
      // Event `start` itself altered if the link out of it is broken too (or if it is the first).
      const altered = start === 0 || (r.failure?.pos === start + 1 && r.failure.kind === 'chain') ? start : start - 1;
      bad ??= { index: altered, reason: `event ${start} does not chain to event ${start - 1} (event ${altered} altered)`, pos: start };
    }
    checkRoot(start, () => tree.root());
    for (const c of r.cuts) {
      if (bad || (r.failure && r.failure.pos <= c.size)) break;
      checkRoot(c.size, () => withFrontier(tree, c.size - start, c.nodes).root());
    }
    if (r.failure) bad ??= { index: r.failure.index, reason: r.failure.reason, pos: r.failure.pos };
    if (bad) return false;
    appendFrontier(tree, r.count, r.frontier);
    if (r.lastLeaf) prevLeaf = r.lastLeaf;
    size = start + r.count;
    return true;
  };
  const chunkSize = input.chunk ?? CHUNK;
  if (!Number.isInteger(Math.log2(chunkSize))) throw new RangeError('chunk must be a power of two');
  const scanner = input.workers && input.workers > 0 ? await ParallelScanner.open(input.workers) : null;
  try {
    const pending: { start: number; result: Promise<ChunkResult> }[] = [];
    // The current run as byte ranges of newline-terminated lines, and how many events it holds.
    let parts: Uint8Array[] = [];
    let inChunk = 0;
    let read = 0;
    let stopped = false;
    const drain = async (keep: number): Promise<void> => {
      while (pending.length > keep && !stopped) {
        const p = pending.shift() as { start: number; result: Promise<ChunkResult> };
        if (!combine(p.start, await p.result)) stopped = true;
      }
    };
    const flush = async (): Promise<void> => {
      const start = read - inChunk;
      const cuts = cutsIn(start, read);
      const packed = concat(parts);
      pending.push({
        start,
        result: scanner ? scanner.scan(packed, start, cuts) : Promise.resolve(scanChunk(splitLines(packed), start, cuts)),
      });
      parts = [];
      inChunk = 0;
      await drain(scanner ? scanner.depth : 0);
    };
    outer: for await (const item of input.events) {
      if (isPacked(item)) {
        // Cut the packed lines at run boundaries without touching each event.
        const b = item.ndjson;
        let from = 0;
        while (from < b.length) {
          let at = from;
          let n = 0;
          while (n < chunkSize - inChunk) {
            const nl = b.indexOf(0x0a, at);
            at = nl < 0 ? b.length : nl + 1;
            n++;
            if (nl < 0 || at >= b.length) break;
          }
          parts.push(at === b.length && b[b.length - 1] !== 0x0a ? concat([b.subarray(from, at), NEWLINE]) : b.subarray(from, at));
          inChunk += n;
          read += n;
          from = at;
          if (inChunk === chunkSize) await flush();
          if (stopped) break outer;
        }
        continue;
      }
      for (const e of isBatch(item) ? item : [item]) {
        parts.push(e, NEWLINE);
        inChunk++;
        read++;
        if (inChunk === chunkSize) await flush();
        if (stopped) break outer;
      }
    }
    if (!stopped && inChunk > 0) await flush();
    await drain(0);
  } finally {
    await scanner?.close();
  }
  if (!bad) {
    checkRoot(size, () => tree.root());
    const beyond = checkpoints.find((c) => c.size > size);
    if (beyond)
      bad = {
        index: size,
        reason: `a signed checkpoint from ${beyond.source} covers ${beyond.size} events but the log ends at ${size} (tail truncated)`,
        pos: size,
      };
  }
  // Events read: all of them, or those before the position where the first failure showed.
  result.events = bad ? bad.pos : size;
  result.root = bad ? null : tree.root().toString('hex');
  if (bad) {
    // The loop stops at the first failure, so `events` counts only what was read.
    result.first_bad_index = bad.index;
    result.reason = bad.reason;
  } else if (problems.length > 0) {
    result.reason = problems.join('; ');
  }
  result.ok = !bad && problems.length === 0;
  result.unsigned_tail = bad ? 0 : size - result.verified_size;
  return result;
}

function isBatch(item: EventsItem): item is readonly Uint8Array[] {
  return Array.isArray(item);
}

function isPacked(item: EventsItem): item is { readonly ndjson: Uint8Array } {
  return !Array.isArray(item) && !(item instanceof Uint8Array);
}

const NEWLINE = new Uint8Array([0x0a]);

function concat(parts: readonly Uint8Array[]): Uint8Array {
  // Always a fresh buffer: the result is transferred to a worker (and Buffer#slice would be a view).
  let total = 0;
  for (const p of parts) total += p.byteLength;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Appends a compact range of `count` leaves (its perfect subtrees, largest first) to `tree`. */
function appendFrontier(tree: CompactRange, count: number, nodes: readonly Buffer[]): void {
  let k = 0;
  for (let level = Math.floor(Math.log2(Math.max(count, 1))); level >= 0 && k < nodes.length; level--) {
    if (Math.floor(count / 2 ** level) % 2 === 1) tree.appendSubtree(level, nodes[k++] as Buffer);
  }
}

function withFrontier(tree: CompactRange, count: number, nodes: readonly Buffer[]): CompactRange {
  const t = CompactRange.from(tree.size, tree.frontier);
  appendFrontier(t, count, nodes);
  return t;
}

import { CompactRange, leafHash } from './rfc6962.js';
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
  /** Canonical event bytes in log order, one per item or in arrays (batches cost less per event). */
  readonly events: AsyncIterable<Uint8Array | readonly Uint8Array[]> | Iterable<Uint8Array | readonly Uint8Array[]>;
  readonly checkpoints: readonly CheckpointInput[];
  /** `<name>+<key id>+<base64 key>` (C2SP signed-note verifier key). */
  readonly verifierKey: string;
}

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
  root: string;
}

interface ValidCheckpoint {
  size: number;
  root: Buffer;
  source: string;
}

const PREFIX = Buffer.from('{"v":1,"seq":', 'latin1');
const PREV = Buffer.from(',"prev":"', 'latin1');
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
    root: '',
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
  let bad: { index: number; reason: string } | null = null;
  const checkRootsAt = (size: number): void => {
    while (next < checkpoints.length && (checkpoints[next] as ValidCheckpoint).size === size) {
      const cp = checkpoints[next++] as ValidCheckpoint;
      if (tree.root().equals(cp.root)) result.verified_size = size;
      else bad ??= { index: result.verified_size, reason: `root at size ${size} does not match the checkpoint from ${cp.source}` };
    }
  };
  let i = 0;
  // Returns false to stop at the first failure.
  const step = (event: Uint8Array): boolean => {
    const e = Buffer.isBuffer(event) ? event : Buffer.from(event.buffer, event.byteOffset, event.byteLength);
    const seq = parseSeq(e);
    if (seq < 0) bad ??= { index: i, reason: `event ${i} is not a labvault audit event` };
    // A smaller seq means something was inserted from that index on; a larger one that events
    // are missing from this position on.
    else if (seq !== i)
      bad ??= { index: Math.min(seq, i), reason: `event at position ${i} carries seq ${seq} (events missing, inserted or reordered)` };
    else if (!prevMatches(e, seq, prevLeaf))
      bad ??= { index: i - 1, reason: `event ${i} does not chain to event ${i - 1} (event ${i - 1} altered)` };
    if (next < checkpoints.length) checkRootsAt(i);
    if (bad) return false;
    prevLeaf = leafHash(e);
    tree.append(prevLeaf);
    i++;
    return true;
  };
  outer: for await (const item of input.events) {
    if (isBatch(item)) {
      for (const e of item) if (!step(e)) break outer;
    } else if (!step(item)) break;
  }
  result.events = i;
  if (!bad) {
    checkRootsAt(i);
    const beyond = checkpoints.find((c) => c.size > i);
    if (beyond && !bad)
      bad = {
        index: i,
        reason: `a signed checkpoint from ${beyond.source} covers ${beyond.size} events but the log ends at ${i} (tail truncated)`,
      };
  }
  result.root = tree.root().toString('hex');
  if (bad) {
    // The loop stops at the first failure, so `events` counts only what was read.
    result.first_bad_index = bad.index;
    result.reason = bad.reason;
  } else if (problems.length > 0) {
    result.reason = problems.join('; ');
  }
  result.ok = !bad && problems.length === 0;
  result.unsigned_tail = bad ? 0 : i - result.verified_size;
  return result;
}

function isBatch(item: Uint8Array | readonly Uint8Array[]): item is readonly Uint8Array[] {
  return Array.isArray(item);
}

/** Reads N from `{"v":1,"seq":N,"prev":"` without a JSON parse (the hot path); -1 if malformed. */
function parseSeq(e: Buffer): number {
  if (e.length < PREFIX.length + 1 + PREV.length + 65 || e.compare(PREFIX, 0, PREFIX.length, 0, PREFIX.length) !== 0) return -1;
  let p = PREFIX.length;
  let seq = 0;
  const start = p;
  while (p < e.length && (e[p] as number) >= 0x30 && (e[p] as number) <= 0x39 && p - start < 16)
    seq = seq * 10 + ((e[p++] as number) - 0x30);
  if (p === start || (p - start > 1 && e[start] === 0x30)) return -1;
  if (e.compare(PREV, 0, PREV.length, p, p + PREV.length) !== 0 || e[p + PREV.length + 64] !== 0x22) return -1;
  return seq;
}

const HEX = Buffer.from('0123456789abcdef', 'latin1');

/** Does the `prev` of event `seq` (lower-case hex after the seq) equal `leaf`? Byte-wise, no strings. */
function prevMatches(e: Buffer, seq: number, leaf: Buffer): boolean {
  let digits = 1;
  for (let x = seq; x >= 10; x = Math.floor(x / 10)) digits++;
  let p = PREFIX.length + digits + PREV.length;
  for (let k = 0; k < 32; k++) {
    const b = leaf[k] as number;
    if (e[p++] !== HEX[b >> 4] || e[p++] !== HEX[b & 15]) return false;
  }
  return true;
}

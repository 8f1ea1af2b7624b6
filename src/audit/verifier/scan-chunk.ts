import { CompactRange, HASH_BYTES, leafHash } from './rfc6962.js';

/**
 * The per-event work of verification over one run of consecutive events starting at position
 * `start` (a multiple of the chunk size, so the run's subtrees are subtrees of the whole tree):
 * format and position of each event, the chain link to the previous event inside the run, leaf
 * hashes and the run's compact range. Runs are independent, so they can be scanned in parallel
 * (scan-worker.ts) and combined in order by verify-log.ts. node:crypto only.
 */
export const CHUNK = 4096;

export interface ChunkFailure {
  /** Position at which the failure shows (the event being read). */
  readonly pos: number;
  /** The first bad index it implies. */
  readonly index: number;
  readonly reason: string;
  readonly kind: 'format' | 'seq' | 'chain';
}

export interface ChunkResult {
  /** Events scanned (up to the failure, if any). */
  readonly count: number;
  /** The `prev` of the first event, decoded (null if it is malformed); the caller checks it. */
  readonly firstPrev: Buffer | null;
  readonly lastLeaf: Buffer | null;
  readonly failure: ChunkFailure | null;
  /** Compact range of the run's prefix at each requested absolute size (start < size, before the failure). */
  readonly cuts: readonly { size: number; nodes: Buffer[] }[];
  /** Compact range of the whole scanned run. */
  readonly frontier: Buffer[];
}

/** The events of a run packed as newline-terminated lines (canonical events hold no raw newline). */
export function splitLines(packed: Uint8Array): Uint8Array[] {
  const b = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  const out: Uint8Array[] = [];
  let from = 0;
  for (let nl = b.indexOf(0x0a, from); nl >= 0; nl = b.indexOf(0x0a, from)) {
    out.push(b.subarray(from, nl));
    from = nl + 1;
  }
  if (from < b.length) out.push(b.subarray(from));
  return out;
}

const PREFIX = Buffer.from('{"v":1,"seq":', 'latin1');
const PREV = Buffer.from(',"prev":"', 'latin1');
const HEX = Buffer.from('0123456789abcdef', 'latin1');

export function scanChunk(events: readonly Uint8Array[], start: number, cuts: readonly number[]): ChunkResult {
  const range = new CompactRange();
  const out: { size: number; nodes: Buffer[] }[] = [];
  let cut = 0;
  let prevLeaf: Buffer | null = null;
  let firstPrev: Buffer | null = null;
  let failure: ChunkFailure | null = null;
  let k = 0;
  for (; k < events.length; k++) {
    const pos = start + k;
    while (cut < cuts.length && (cuts[cut] as number) <= pos) {
      if (cuts[cut] === pos && pos > start) out.push({ size: pos, nodes: [...range.frontier] });
      cut++;
    }
    const ev = events[k] as Uint8Array;
    const e = Buffer.isBuffer(ev) ? ev : Buffer.from(ev.buffer, ev.byteOffset, ev.byteLength);
    const head = parseHead(e);
    if (!head) failure = { pos, index: pos, reason: `event ${pos} is not a labvault audit event`, kind: 'format' };
    // A smaller seq means something was inserted from that index on; a larger one that events
    // are missing from this position on.
    else if (head.seq !== pos)
      failure = {
        pos,
        index: Math.min(head.seq, pos),
        reason: `event at position ${pos} carries seq ${head.seq} (events missing, inserted or reordered)`,
        kind: 'seq',
      };
    else if (k === 0) firstPrev = decodePrev(e, head.hexAt);
    else if (!prevMatches(e, head.hexAt, prevLeaf as Buffer)) {
      // The link into `pos` is broken: event pos-1 changed, or pos itself (then its own hash
      // changed too, so the link out of it breaks as well: look one event ahead).
      const altered = nextBreaks(events[k + 1], e) ? pos : pos - 1;
      failure = {
        pos,
        index: altered,
        reason: `event ${pos} does not chain to event ${pos - 1} (event ${altered} altered)`,
        kind: 'chain',
      };
    }
    if (failure) break;
    prevLeaf = leafHash(e);
    range.append(prevLeaf);
  }
  return { count: k, firstPrev, lastLeaf: prevLeaf, failure, cuts: out, frontier: [...range.frontier] };
}

/** Does the event after `e` fail to chain to it? False when there is none to look at. */
function nextBreaks(next: Uint8Array | undefined, e: Buffer): boolean {
  if (!next) return false;
  const n = Buffer.isBuffer(next) ? next : Buffer.from(next.buffer, next.byteOffset, next.byteLength);
  const head = parseHead(n);
  return head !== null && !prevMatches(n, head.hexAt, leafHash(e));
}

/** `{"v":1,"seq":N,"prev":"` + 64 hex + `"`, read without a JSON parse; null if malformed. */
function parseHead(e: Buffer): { seq: number; hexAt: number } | null {
  if (e.length < PREFIX.length + 1 + PREV.length + 65 || e.compare(PREFIX, 0, PREFIX.length, 0, PREFIX.length) !== 0) return null;
  let p = PREFIX.length;
  let seq = 0;
  const start = p;
  while (p < e.length && (e[p] as number) >= 0x30 && (e[p] as number) <= 0x39 && p - start < 16)
    seq = seq * 10 + ((e[p++] as number) - 0x30);
  if (p === start || (p - start > 1 && e[start] === 0x30)) return null;
  if (e.compare(PREV, 0, PREV.length, p, p + PREV.length) !== 0 || e[p + PREV.length + 64] !== 0x22) return null;
  return { seq, hexAt: p + PREV.length };
}

/** Does the lower-case hex at `at` equal `leaf`? Byte-wise: no strings on the hot path. */
function prevMatches(e: Buffer, at: number, leaf: Buffer): boolean {
  let p = at;
  for (let k = 0; k < HASH_BYTES; k++) {
    const b = leaf[k] as number;
    if (e[p++] !== HEX[b >> 4] || e[p++] !== HEX[b & 15]) return false;
  }
  return true;
}

function decodePrev(e: Buffer, at: number): Buffer | null {
  const hex = e.toString('latin1', at, at + 2 * HASH_BYTES);
  return /^[0-9a-f]{64}$/.test(hex) ? Buffer.from(hex, 'hex') : null;
}

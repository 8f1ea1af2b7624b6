import { readFile } from 'node:fs/promises';

/**
 * Multi-needle byte scanner for "is there plaintext at rest" tests: finds which of tens of
 * thousands of UTF-8 strings occur anywhere in a buffer (a database file, WAL, dump) in one pass.
 *
 * Each needle is indexed by one 6-byte window inside it, picked so that few needles share a window
 * (all Dutch mobile numbers start with "+31 6 ", e-mails end in the same few domains); a 16 MiB
 * filter table rejects almost every position with a few integer operations, and only filter hits
 * compare candidate needles byte by byte. (4-byte windows were too weak: every BSN window is a
 * digit 4-gram, and database files are full of digits.)
 */
export const MIN_NEEDLE_BYTES = 6;
const WINDOW = MIN_NEEDLE_BYTES;
const FILTER_BITS = 24;

interface Candidate {
  needle: Buffer;
  text: string;
  /** Offset of the indexed window inside the needle. */
  at: number;
}

/** The 6 bytes at `i` as two integers: `hi` the first two, `lo` the last four (int32). */
const windowAt = (b: Buffer, i: number): { hi: number; lo: number } => ({
  hi: (b[i]! << 8) | b[i + 1]!,
  lo: (b[i + 2]! << 24) | (b[i + 3]! << 16) | (b[i + 4]! << 8) | b[i + 5]!,
});
/** Exact 48-bit key (a safe integer) for the bucket map. */
const exactKey = (hi: number, lo: number): number => hi * 0x1_0000_0000 + (lo >>> 0);
const slot = (hi: number, lo: number): number => (Math.imul(lo, 0x9e3779b1) ^ Math.imul(hi, 0x85ebca6b)) >>> (32 - FILTER_BITS);

export class ByteScanner {
  private readonly filter = new Uint8Array(1 << FILTER_BITS);
  private readonly buckets = new Map<number, Candidate[]>();
  readonly size: number;

  constructor(needles: Iterable<string>) {
    const unique = [...new Set(needles)];
    for (const text of unique) {
      const needle = Buffer.from(text, 'utf8');
      if (needle.length < WINDOW) throw new Error(`needle shorter than ${WINDOW} bytes: ${JSON.stringify(text)}`);
      let best = 0;
      let bestSize = Infinity;
      for (let at = 0; at + WINDOW <= needle.length; at++) {
        const w = windowAt(needle, at);
        const n = this.buckets.get(exactKey(w.hi, w.lo))?.length ?? 0;
        if (n < bestSize) {
          best = at;
          bestSize = n;
          if (n === 0) break;
        }
      }
      const w = windowAt(needle, best);
      const key = exactKey(w.hi, w.lo);
      const bucket = this.buckets.get(key) ?? [];
      bucket.push({ needle, text, at: best });
      this.buckets.set(key, bucket);
      this.filter[slot(w.hi, w.lo)] = 1;
    }
    this.size = unique.length;
  }

  /** Every needle found in `buf`, with the offset of its first occurrence. */
  scan(input: Buffer): Map<string, number> {
    const found = new Map<string, number>();
    const { filter, buckets } = this;
    // A plain Uint8Array view and int32 rolling keys keep this loop monomorphic (4x faster).
    const buf = new Uint8Array(input.buffer, input.byteOffset, input.length);
    const end = buf.length;
    if (end < WINDOW) return found;
    let hi = 0;
    let lo = 0;
    for (let i = 0; i < WINDOW - 1; i++) {
      hi = ((hi << 8) | (lo >>> 24)) & 0xffff;
      lo = (lo << 8) | buf[i]!;
    }
    for (let i = WINDOW - 1; i < end; i++) {
      hi = ((hi << 8) | (lo >>> 24)) & 0xffff;
      lo = (lo << 8) | buf[i]!;
      if (filter[(Math.imul(lo, 0x9e3779b1) ^ Math.imul(hi, 0x85ebca6b)) >>> (32 - FILTER_BITS)] === 0) continue;
      const bucket = buckets.get(exactKey(hi, lo));
      if (!bucket) continue;
      const windowStart = i - WINDOW + 1;
      for (const c of bucket) {
        const start = windowStart - c.at;
        if (start < 0 || start + c.needle.length > end) continue;
        if (found.has(c.text)) continue;
        if (input.compare(c.needle, 0, c.needle.length, start, start + c.needle.length) === 0) found.set(c.text, start);
      }
    }
    return found;
  }
}

export interface FileHit {
  file: string;
  needle: string;
  offset: number;
}

export interface FileScan {
  /** Files that existed and were read (missing ones are skipped, e.g. a -wal after a clean close). */
  scanned: { file: string; bytes: number }[];
  hits: FileHit[];
}

/** Scans each file that exists; a missing file is not an error (the caller asserts which must exist). */
export async function scanFiles(scanner: ByteScanner, files: string[]): Promise<FileScan> {
  const out: FileScan = { scanned: [], hits: [] };
  for (const file of files) {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    out.scanned.push({ file, bytes: bytes.length });
    for (const [needle, offset] of scanner.scan(bytes)) out.hits.push({ file, needle, offset });
  }
  return out;
}

/** The SQLite main file and its WAL/shared-memory companions. */
export const sqliteFiles = (dbFile: string): string[] => [dbFile, `${dbFile}-wal`, `${dbFile}-shm`];

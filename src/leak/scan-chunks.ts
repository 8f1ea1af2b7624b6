import type { ByteSource } from './byte-source.js';
import { ScanMode, type FormatScanner } from './format-scanner.js';

/** A record that does not fit the buffer is cut near its end, preferably at a line break within this distance. */
const CUT_SEARCH = 1 << 20;

export interface ChunkFill {
  n: number;
  eof: boolean;
  /** The source failed (damaged data): bytes before it are in the buffer and get scanned. */
  error?: unknown;
}

/** Fills buf from `from` to its end, or to the end of the data (or the damage that ends it). */
export async function fill(source: ByteSource, buf: Buffer, from: number): Promise<ChunkFill> {
  let n = from;
  while (n < buf.length) {
    let k: number;
    try {
      k = await source.read(buf, n, buf.length - n);
    } catch (error) {
      return { n, eof: true, error };
    }
    if (k === 0) return { n, eof: true };
    n += k;
  }
  return { n, eof: false };
}

/**
 * The chunk loop: the scanner reads the buffer up to the last whole record; `afterChunk` sees the
 * chunk while it is still there (to match it); the rest moves to the front and is read again with
 * what follows. A record longer than the buffer is cut (ScanMode.Cut). Returns the bytes scanned
 * and the source's error, if its data ended in damage.
 */
export async function scanChunks(
  source: ByteSource,
  buf: Buffer,
  first: ChunkFill,
  scanner: FormatScanner,
  afterChunk: (consumed: number) => void,
): Promise<{ bytes: number; error?: unknown }> {
  let filled = first;
  let bytes = 0;
  for (;;) {
    const eof = filled.eof;
    let consumed = scanner.scan(buf, 0, filled.n, eof ? ScanMode.End : ScanMode.Partial);
    if (consumed === 0 && !eof && filled.n === buf.length) consumed = scanner.scan(buf, 0, cutPoint(buf, filled.n), ScanMode.Cut);
    bytes += consumed;
    afterChunk(consumed);
    if (eof && consumed >= filled.n) return filled.error === undefined ? { bytes } : { bytes, error: filled.error };
    buf.copyWithin(0, consumed, filled.n);
    filled = await fill(source, buf, filled.n - consumed);
  }
}

/** Where to cut a record that fills the whole buffer: after a line break, else between two words, else anywhere. */
function cutPoint(buf: Buffer, n: number): number {
  const lf = buf.lastIndexOf(0x0a, n - 1);
  if (lf >= 0 && lf >= n - CUT_SEARCH) return lf + 1;
  for (let i = n - 1; i >= n - 4096 && i > 0; i--) {
    const b = buf[i] as number;
    if (b < 0x30 || (b > 0x39 && b < 0x41) || (b > 0x5a && b < 0x61) || (b > 0x7a && b < 0x80)) return i + 1;
  }
  return n;
}

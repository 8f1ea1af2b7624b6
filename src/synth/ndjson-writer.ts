import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';

/** Lines are encoded into chunks of about this many bytes before they hit the stream. */
const DEFAULT_CHUNK_BYTES = 1 << 20;
/** Worst-case UTF-8 bytes per UTF-16 code unit. */
const MAX_BYTES_PER_CHAR = 3;
const NEWLINE = 0x0a;

/**
 * Buffered NDJSON output with bounded memory. Millions of tiny `stream.write` calls would cost
 * more than generating the data, so lines are UTF-8-encoded straight into ~1 MB buffers (one copy,
 * no intermediate joined string). The stream may hold a few chunks in flight, so generation and
 * disk I/O overlap; beyond that `flush` waits for `drain`, which keeps memory flat however many
 * records are written.
 */
export class NdjsonWriter {
  /** Number of lines written so far. */
  count = 0;
  private chunk: Buffer;
  private used = 0;
  /** Filled chunks waiting for `flush`. */
  private pending: Buffer[] = [];
  private readonly stream: WriteStream;
  private failure: Error | null = null;

  constructor(
    readonly path: string,
    private readonly chunkBytes = DEFAULT_CHUNK_BYTES,
  ) {
    this.chunk = Buffer.allocUnsafe(chunkBytes);
    this.stream = createWriteStream(path, { highWaterMark: 4 * chunkBytes });
    // Recorded and rethrown on the next flush: an unhandled 'error' event would crash the process.
    this.stream.on('error', (err) => {
      this.failure ??= err;
    });
  }

  /** Appends one JSON value as a compact line. */
  write(value: unknown): void {
    const line = JSON.stringify(value);
    this.count++;
    const worstCase = line.length * MAX_BYTES_PER_CHAR + 1;
    if (worstCase > this.chunkBytes) {
      // A line larger than a chunk gets a buffer of its own.
      this.seal();
      this.pending.push(Buffer.from(`${line}\n`, 'utf8'));
      return;
    }
    if (this.used + worstCase > this.chunkBytes) this.seal();
    this.used += this.chunk.write(line, this.used, 'utf8');
    this.chunk[this.used++] = NEWLINE;
  }

  /** True when a full chunk is waiting; the caller should then `await flush()`. */
  get full(): boolean {
    return this.pending.length > 0;
  }

  /** Hands filled chunks to the stream, waiting for `drain` if the stream is saturated. */
  async flush(): Promise<void> {
    this.rethrow();
    const chunks = this.pending;
    this.pending = [];
    for (const c of chunks) {
      if (!this.stream.write(c)) await once(this.stream, 'drain');
      this.rethrow();
    }
  }

  /** Flushes the rest and waits until the file is completely written and closed. */
  async close(): Promise<void> {
    this.seal();
    await this.flush();
    this.stream.end();
    await finished(this.stream);
    this.rethrow();
  }

  /** Abandons the file after an error elsewhere (does not wait, never throws). */
  destroy(): void {
    this.pending = [];
    this.stream.destroy();
  }

  private rethrow(): void {
    if (this.failure) throw this.failure;
  }

  /** Moves the current chunk to the pending list and starts a new one (the old one is now owned by the stream). */
  private seal(): void {
    if (this.used === 0) return;
    this.pending.push(this.chunk.subarray(0, this.used));
    this.chunk = Buffer.allocUnsafe(this.chunkBytes);
    this.used = 0;
  }
}

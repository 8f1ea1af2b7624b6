import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Bytes of one scanned file (or byte range, or archive member), pulled into the scanner's own
 * buffer. A source throws when its data is damaged (truncated gzip, CRC mismatch); what it
 * delivered before that has been scanned, and the file is listed as skipped with the reason.
 */
export interface ByteSource {
  /** Reads up to `length` bytes into buf at `offset`; 0 at the end. */
  read(buf: Buffer, offset: number, length: number): Promise<number>;
  /** Bytes taken from the file on disk so far (compressed bytes for compressed data). */
  readonly inputBytes: number;
  close(): void;
}

/** A byte range of a plain file, read straight into the scan buffer (no copy). */
export class FileRangeSource implements ByteSource {
  private readonly fd: number;
  private pos: number;

  constructor(
    path: string,
    private readonly start: number,
    private readonly end: number,
  ) {
    this.fd = openSync(path, 'r');
    this.pos = start;
  }

  get inputBytes(): number {
    return this.pos - this.start;
  }

  async read(buf: Buffer, offset: number, length: number): Promise<number> {
    const n = readSync(this.fd, buf, offset, Math.min(length, this.end - this.pos), this.pos);
    this.pos += n;
    return n;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Chunks of a stream (a decompressor), copied into the scan buffer. */
export class IterableSource implements ByteSource {
  private readonly it: AsyncIterator<Buffer>;
  private piece: Buffer | null = null;
  private at = 0;
  private done = false;
  private failure: Error | null = null;

  constructor(
    chunks: AsyncIterable<Buffer>,
    private readonly input: () => number,
    private readonly onClose: () => void = () => undefined,
  ) {
    this.it = chunks[Symbol.asyncIterator]();
  }

  get inputBytes(): number {
    return this.input();
  }

  async read(buf: Buffer, offset: number, length: number): Promise<number> {
    if (this.failure !== null) throw this.failure;
    let n = 0;
    while (n < length && !this.done) {
      if (!this.piece || this.at >= this.piece.length) {
        let r: IteratorResult<Buffer>;
        try {
          r = await this.it.next();
        } catch (e) {
          // Hand out what came before the damage first; the error comes with the next read.
          if (n === 0) throw e;
          this.failure = e instanceof Error ? e : new Error('read failed', { cause: e });
          return n;
        }
        if (r.done) {
          this.done = true;
          break;
        }
        this.piece = r.value;
        this.at = 0;
        continue;
      }
      const k = this.piece.copy(buf, offset + n, this.at, Math.min(this.piece.length, this.at + length - n));
      this.at += k;
      n += k;
    }
    return n;
  }

  close(): void {
    this.onClose();
  }
}

/** Bytes already read (to sniff them), then the rest of the source. */
export class PrefixSource implements ByteSource {
  private at = 0;

  constructor(
    private readonly prefix: Buffer,
    private readonly rest: ByteSource,
  ) {}

  get inputBytes(): number {
    return this.rest.inputBytes;
  }

  async read(buf: Buffer, offset: number, length: number): Promise<number> {
    if (this.at < this.prefix.length) {
      const n = this.prefix.copy(buf, offset, this.at, Math.min(this.prefix.length, this.at + length));
      this.at += n;
      return n;
    }
    return this.rest.read(buf, offset, length);
  }

  close(): void {
    this.rest.close();
  }
}

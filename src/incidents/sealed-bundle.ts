import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { IntegrityViolation, InvalidInput } from '../domain/errors.js';
import type { RecipientKey } from './recipient-key.js';

/**
 * A sealed bundle: files (patient letters, a print file) encrypted to one recipient's public key,
 * streamed so a million letters never sit in memory or on disk in plaintext.
 *
 *   "LVB1\n" <compact JWE of the header: metadata and a fresh 256-bit content key> "\n"
 *   frames: u32 length ‖ AES-256-GCM(content key, nonce = 11-byte counter ‖ last-flag) of ≤ 1 MiB
 *
 * The nonce layout is the STREAM construction (as in age): frames cannot be reordered, dropped or
 * cut off at a frame boundary without the check failing, and only the last frame may carry the
 * flag. Inside, a record stream: 1 ‖ u16 name length ‖ name starts a file, 2 ‖ u32 length ‖ bytes
 * appends to it, 0 ends the bundle. The asymmetric part is jose's JWE; the bulk is node:crypto.
 */
const MAGIC = Buffer.from('LVB1\n', 'latin1');
const FRAME = 1 << 20;
const TAG = 16;
const MAX_HEADER = 64 * 1024;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export interface BundleHeader {
  kind: string;
  incident: string;
  tenant: string | null;
  created: string;
  files: number;
}

export class SealedBundleWriter {
  private readonly fd: number;
  private counter = 0n;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written = 0;
  private readonly digest = createHash('sha256');
  private closed = false;

  private constructor(
    readonly path: string,
    header: string,
    private readonly key: Buffer,
  ) {
    // 'wx': a bundle is never written over another; 0600: only the operator reads the ciphertext.
    this.fd = openSync(path, 'wx', 0o600);
    this.raw(Buffer.concat([MAGIC, Buffer.from(`${header}\n`, 'latin1')]));
  }

  static async create(file: string, to: RecipientKey, header: BundleHeader): Promise<SealedBundleWriter> {
    const key = randomBytes(32);
    const jwe = await new CompactEncrypt(Buffer.from(JSON.stringify({ ...header, v: 1, content_key: key.toString('base64url') })))
      .setProtectedHeader({ alg: to.alg, enc: 'A256GCM', kid: to.kid, typ: 'labvault-bundle+jwe', cty: 'application/json' })
      .encrypt(to.key);
    return new SealedBundleWriter(file, jwe, key);
  }

  /** Starts the next file of the bundle. */
  file(name: string): void {
    if (!NAME.test(name)) throw new InvalidInput('bundle file names are plain names');
    const n = Buffer.from(name, 'latin1');
    const head = Buffer.alloc(3);
    head[0] = 1;
    head.writeUInt16BE(n.length, 1);
    this.push(head);
    this.push(n);
  }

  /** Appends bytes to the current file. */
  write(data: Buffer): void {
    const head = Buffer.alloc(5);
    head[0] = 2;
    head.writeUInt32BE(data.length, 1);
    this.push(head);
    this.push(data);
  }

  /** Ends the bundle: last frame, fsync, close. Returns its size and SHA-256. */
  close(): { bytes: number; sha256: string } {
    if (this.closed) throw new Error('bundle already closed');
    this.push(Buffer.of(0));
    this.flush(true);
    this.closed = true;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.key.fill(0);
    return { bytes: this.written, sha256: this.digest.digest('hex') };
  }

  /** Closes without finishing (the file then fails to open: no last frame). */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
    this.key.fill(0);
  }

  private push(b: Buffer): void {
    this.pending.push(b);
    this.pendingBytes += b.length;
    if (this.pendingBytes >= FRAME) this.flush(false);
  }

  private flush(last: boolean): void {
    const all = Buffer.concat(this.pending, this.pendingBytes);
    let at = 0;
    while (all.length - at >= FRAME && !(last && all.length - at === FRAME)) {
      this.frame(all.subarray(at, at + FRAME), false);
      at += FRAME;
    }
    const rest = all.subarray(at);
    if (last) {
      this.frame(rest, true);
      this.pending = [];
      this.pendingBytes = 0;
    } else {
      this.pending = rest.length > 0 ? [Buffer.from(rest)] : [];
      this.pendingBytes = rest.length;
    }
  }

  private frame(plain: Buffer, last: boolean): void {
    const c = createCipheriv('aes-256-gcm', this.key, nonce(this.counter++, last));
    const body = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    this.raw(len);
    this.raw(body);
  }

  private raw(b: Buffer): void {
    let at = 0;
    while (at < b.length) at += writeSync(this.fd, b, at, b.length - at);
    this.written += b.length;
    this.digest.update(b);
  }
}

function nonce(counter: bigint, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  for (let i = 10, c = counter; i >= 0; i--, c >>= 8n) n[i] = Number(c & 0xffn);
  n[11] = last ? 1 : 0;
  return n;
}

/**
 * Opens a bundle with the recipient's private key and hands each file to `onFile` as it streams
 * (name, then chunks). Any tampering, truncation or a wrong key fails with one IntegrityViolation
 * before the chunk it concerns is released; a caller writing files must remove them on failure.
 */
export async function openSealedBundle(
  file: string,
  key: Parameters<typeof compactDecrypt>[1],
  on: { header(h: BundleHeader): void; file(name: string): void; data(chunk: Buffer): void },
): Promise<BundleHeader> {
  const fd = openSync(file, 'r');
  try {
    const reader = new FrameReader(fd);
    const magic = reader.take(MAGIC.length);
    if (!magic?.equals(MAGIC)) throw new InvalidInput('not a labvault sealed bundle');
    const headerLine = reader.line(MAX_HEADER);
    if (headerLine === null) throw new IntegrityViolation('sealed bundle: damaged header');
    let header: BundleHeader & { v: number; content_key: string };
    try {
      const { plaintext } = await compactDecrypt(headerLine, key);
      header = JSON.parse(Buffer.from(plaintext).toString('utf8')) as BundleHeader & { v: number; content_key: string };
    } catch (e) {
      throw new IntegrityViolation('sealed bundle: cannot be opened with this key, or its header was altered', { cause: e });
    }
    const contentKey = Buffer.from(header.content_key, 'base64url');
    const { content_key: _drop, v: _v, ...meta } = header;
    on.header(meta);
    const records = new RecordParser(on);
    let counter = 0n;
    for (;;) {
      const len = reader.take(4);
      if (!len) throw new IntegrityViolation('sealed bundle: truncated (no last frame)');
      const size = len.readUInt32BE();
      if (size < TAG || size > FRAME + TAG) throw new IntegrityViolation('sealed bundle: damaged frame');
      const body = reader.take(size);
      if (!body) throw new IntegrityViolation('sealed bundle: truncated frame');
      const plain = decryptFrame(contentKey, counter, body);
      counter++;
      if (plain.last) {
        if (reader.take(1) !== null) throw new IntegrityViolation('sealed bundle: data after the last frame');
        records.feed(plain.data, true);
        break;
      }
      records.feed(plain.data, false);
    }
    contentKey.fill(0);
    return meta;
  } finally {
    closeSync(fd);
  }
}

function decryptFrame(key: Buffer, counter: bigint, body: Buffer): { data: Buffer; last: boolean } {
  for (const last of [false, true]) {
    try {
      const d = createDecipheriv('aes-256-gcm', key, nonce(counter, last));
      d.setAuthTag(body.subarray(body.length - TAG));
      const data = Buffer.concat([d.update(body.subarray(0, body.length - TAG)), d.final()]);
      return { data, last };
    } catch {
      // Try the other flag; both failing means tampering.
    }
  }
  throw new IntegrityViolation('sealed bundle: a frame fails its check (altered, reordered or wrong key)');
}

class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  private eof = false;
  constructor(private readonly fd: number) {}

  take(n: number): Buffer | null {
    while (this.buf.length < n && !this.eof) this.fill();
    if (this.buf.length < n) return null;
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  line(max: number): string | null {
    for (;;) {
      const i = this.buf.indexOf(0x0a);
      if (i >= 0) {
        const s = this.buf.subarray(0, i).toString('latin1');
        this.buf = this.buf.subarray(i + 1);
        return s;
      }
      if (this.eof || this.buf.length > max) return null;
      this.fill();
    }
  }

  private fill(): void {
    const chunk = Buffer.allocUnsafe(FRAME + TAG + 4);
    const n = readSync(this.fd, chunk, 0, chunk.length, null);
    if (n === 0) this.eof = true;
    else this.buf = this.buf.length === 0 ? chunk.subarray(0, n) : Buffer.concat([this.buf, chunk.subarray(0, n)]);
  }
}

class RecordParser {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private open = false;
  constructor(private readonly on: { file(name: string): void; data(chunk: Buffer): void }) {}

  feed(data: Buffer, last: boolean): void {
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    for (;;) {
      if (this.buf.length === 0) break;
      if (this.ended) throw new IntegrityViolation('sealed bundle: records after its end');
      const type = this.buf[0];
      if (type === 0) {
        this.ended = true;
        this.buf = this.buf.subarray(1);
        continue;
      }
      if (type === 1) {
        if (this.buf.length < 3) break;
        const n = this.buf.readUInt16BE(1);
        if (this.buf.length < 3 + n) break;
        const name = this.buf.subarray(3, 3 + n).toString('latin1');
        if (!NAME.test(name)) throw new IntegrityViolation('sealed bundle: a file name is not a plain name');
        this.buf = this.buf.subarray(3 + n);
        this.open = true;
        this.on.file(name);
        continue;
      }
      if (type === 2) {
        if (this.buf.length < 5) break;
        const n = this.buf.readUInt32BE(1);
        if (this.buf.length < 5 + n) break;
        if (!this.open) throw new IntegrityViolation('sealed bundle: data before a file');
        this.on.data(this.buf.subarray(5, 5 + n));
        this.buf = this.buf.subarray(5 + n);
        continue;
      }
      throw new IntegrityViolation('sealed bundle: unknown record');
    }
    if (last && (!this.ended || this.buf.length > 0)) throw new IntegrityViolation('sealed bundle: incomplete');
  }
}

import type { ByteSource } from './byte-source.js';

/**
 * Members of a tar archive read as a stream (a plain .tar, or the inside of a .tar.gz), one after
 * the other, each as a ByteSource of its own bytes: leaked data often comes as a tarball of
 * exports (`tar czf dump.tgz export/`). POSIX ustar, GNU long names (`L`) and pax headers (`x`:
 * path, size) are read; directories, links and devices are passed over. A header whose checksum
 * does not add up, or an archive that ends inside a member, is damage: TarDamaged.
 */
const BLOCK = 512;
/** Longest GNU long name or pax header read: a damaged size field must not allocate gigabytes. */
const MAX_EXTENDED = 1 << 20;

export class TarDamaged extends Error {}

/** True if the 512 bytes at the start of `head` are a tar header (ustar magic at offset 257). */
export function isTarHeader(head: Uint8Array): boolean {
  if (head.length < BLOCK) return false;
  const magic = String.fromCharCode(...head.subarray(257, 262));
  return magic === 'ustar' && checksumOk(head.subarray(0, BLOCK));
}

export interface TarMember {
  name: string;
  size: number;
  /** The member's bytes; read it to its end (or not: the next call to next() skips what is left). */
  source: ByteSource;
}

export class TarReader {
  private readonly block = Buffer.alloc(BLOCK);
  /** Bytes of the current member not yet read, and the padding after it. */
  private left = 0;
  private padding = 0;

  constructor(private readonly src: ByteSource) {}

  /** The next regular file, or null at the end of the archive. */
  async next(): Promise<TarMember | null> {
    await this.discard(this.left + this.padding);
    this.left = this.padding = 0;
    let longName: string | null = null;
    let paxPath: string | null = null;
    let paxSize: number | null = null;
    for (;;) {
      const n = await this.readFully(this.block, BLOCK);
      if (n === 0) return null;
      if (n < BLOCK) throw new TarDamaged('tar: the archive ends inside a header');
      if (this.block.every((b) => b === 0)) return null;
      if (!checksumOk(this.block)) throw new TarDamaged('tar: a header fails its checksum');
      const type = String.fromCharCode(this.block[156] as number);
      const extended = type === 'L' || type === 'x' || type === 'g';
      const own = octalOrBinary(this.block.subarray(124, 136));
      const size = extended ? own : (paxSize ?? own);
      const padding = (BLOCK - (size % BLOCK)) % BLOCK;
      if (extended) {
        // Extended headers: their body names (or describes) the next member.
        if (size > MAX_EXTENDED) throw new TarDamaged('tar: an extended header is implausibly large');
        const body = Buffer.alloc(size);
        if ((await this.readFully(body, size)) < size) throw new TarDamaged('tar: the archive ends inside a header');
        await this.discard(padding);
        if (type === 'L') longName = body.toString('utf8').replace(/\0.*$/s, '');
        else if (type === 'x') ({ path: paxPath, size: paxSize } = pax(body, paxPath, paxSize));
        continue;
      }
      const name = paxPath ?? longName ?? headerName(this.block);
      if (type !== '0' && type !== '\0' && type !== '7') {
        // A directory, link, device or FIFO: no data to scan (a link's data is its target's).
        await this.discard(size + padding);
        longName = paxPath = null;
        paxSize = null;
        continue;
      }
      this.left = size;
      this.padding = padding;
      return { name, size, source: this.memberSource() };
    }
  }

  private memberSource(): ByteSource {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the member reads through its reader.
    const reader = this;
    return {
      get inputBytes() {
        return reader.src.inputBytes;
      },
      async read(buf: Buffer, offset: number, length: number): Promise<number> {
        if (reader.left === 0) return 0;
        const n = await reader.src.read(buf, offset, Math.min(length, reader.left));
        if (n === 0) throw new TarDamaged('tar: the archive ends inside a member');
        reader.left -= n;
        return n;
      },
      close: () => undefined,
    };
  }

  private async readFully(buf: Buffer, length: number): Promise<number> {
    let n = 0;
    while (n < length) {
      const k = await this.read(buf, n, length - n);
      if (k === 0) break;
      n += k;
    }
    return n;
  }

  private async discard(bytes: number): Promise<void> {
    const scratch = Buffer.allocUnsafe(Math.min(bytes, 1 << 16));
    let left = bytes;
    while (left > 0) {
      const k = await this.read(scratch, 0, Math.min(left, scratch.length));
      if (k === 0) throw new TarDamaged('tar: the archive ends inside a member');
      left -= k;
    }
  }

  /** The source's damage (a cut gzip stream) as TarDamaged, its cause kept for the reason. */
  private async read(buf: Buffer, offset: number, length: number): Promise<number> {
    try {
      return await this.src.read(buf, offset, length);
    } catch (cause) {
      throw new TarDamaged('tar: the archive cannot be read further', { cause });
    }
  }
}

function checksumOk(h: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] as number);
  try {
    return octalOrBinary(h.subarray(148, 156)) === sum;
  } catch {
    // A checksum field that is no number: not a header (false, so sniffing never throws).
    return false;
  }
}

/** A numeric header field: octal text, or (GNU, for sizes ≥ 8 GiB) base-256 with the top bit set. */
function octalOrBinary(f: Uint8Array): number {
  if (((f[0] as number) & 0x80) !== 0) {
    let v = (f[0] as number) & 0x7f;
    for (let i = 1; i < f.length; i++) v = v * 256 + (f[i] as number);
    return v;
  }
  const s = String.fromCharCode(...f)
    .replace(/\0.*$/s, '')
    .trim();
  if (!/^[0-7]*$/.test(s)) throw new TarDamaged('tar: a header holds a malformed number');
  return s === '' ? 0 : parseInt(s, 8);
}

function headerName(h: Buffer): string {
  const field = (s: number, e: number): string => h.toString('utf8', s, e).replace(/\0.*$/s, '');
  const name = field(0, 100);
  // POSIX ustar ("ustar\0") has a name prefix at 345; GNU's "ustar  " keeps times there instead.
  const prefix = String.fromCharCode(...h.subarray(257, 262)) === 'ustar' && h[262] === 0 ? field(345, 500) : '';
  return prefix ? `${prefix}/${name}` : name;
}

/** pax records "<len> <key>=<value>\n": the path and size they set for the next member. */
function pax(body: Buffer, path: string | null, size: number | null): { path: string | null; size: number | null } {
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    if (space < 0) break;
    const len = Number(body.toString('latin1', at, space));
    if (!Number.isInteger(len) || len <= 0 || at + len > body.length) throw new TarDamaged('tar: a pax header is malformed');
    const rec = body.toString('utf8', space + 1, at + len - 1);
    const eq = rec.indexOf('=');
    const key = rec.slice(0, eq);
    const value = rec.slice(eq + 1);
    if (key === 'path') path = value;
    else if (key === 'size') {
      if (!/^\d{1,15}$/.test(value)) throw new TarDamaged('tar: a pax header holds a malformed size');
      size = Number(value);
    }
    at += len;
  }
  return { path, size };
}

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * The central directory of a zip file (APPNOTE 6.3, with ZIP64), read by hand: a few structures
 * at the end of the file name every member, its compression and where its data starts, so members
 * can be scanned one by one, in parallel, streaming, without a zip library. A damaged directory
 * throws ZipDamaged with the reason, which the scan lists as a skipped file.
 */
export interface ZipMember {
  name: string;
  /** 0 stored, 8 deflate. */
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

export class ZipDamaged extends Error {}

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_COMMENT = 65535;

function readAt(fd: number, pos: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  const n = readSync(fd, b, 0, len, pos);
  if (n !== len) throw new ZipDamaged('zip: truncated (a directory structure runs past the end of the file)');
  return b;
}

function u64(b: Buffer, at: number): number {
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipDamaged('zip: a size or offset is out of range');
  return Number(v);
}

export function readZipDirectory(path: string): ZipMember[] {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const tailLen = Math.min(size, 22 + MAX_COMMENT);
    const tail = readAt(fd, size - tailLen, tailLen);
    let at = -1;
    for (let i = tailLen - 22; i >= 0; i--)
      if (tail.readUInt32LE(i) === EOCD) {
        at = i;
        break;
      }
    if (at < 0) throw new ZipDamaged('zip: no end-of-central-directory record (truncated or not a zip file)');
    let entries = tail.readUInt16LE(at + 10);
    let cdSize = tail.readUInt32LE(at + 12);
    let cdOffset = tail.readUInt32LE(at + 16);
    const eocdPos = size - tailLen + at;
    if (entries === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = readAt(fd, eocdPos - 20, 20);
      if (loc.readUInt32LE(0) !== EOCD64_LOCATOR) throw new ZipDamaged('zip: ZIP64 locator missing');
      const e64 = readAt(fd, u64(loc, 8), 56);
      if (e64.readUInt32LE(0) !== EOCD64) throw new ZipDamaged('zip: ZIP64 end record missing');
      entries = u64(e64, 32);
      cdSize = u64(e64, 40);
      cdOffset = u64(e64, 48);
    }
    if (cdOffset + cdSize > eocdPos) throw new ZipDamaged('zip: central directory lies outside the file (truncated?)');
    const cd = readAt(fd, cdOffset, cdSize);
    const members: ZipMember[] = [];
    let p = 0;
    for (let n = 0; n < entries; n++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL) throw new ZipDamaged(`zip: central directory entry ${n + 1} is damaged`);
      const flags = cd.readUInt16LE(p + 8);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      const nameBytes = cd.subarray(p + 46, p + 46 + nameLen);
      const m: ZipMember = {
        name: nameBytes.toString(flags & 0x800 ? 'utf8' : 'latin1'),
        method: cd.readUInt16LE(p + 10),
        flags,
        crc: cd.readUInt32LE(p + 16),
        compressedSize: cd.readUInt32LE(p + 20),
        size: cd.readUInt32LE(p + 24),
        localHeaderOffset: cd.readUInt32LE(p + 42),
      };
      zip64Extra(cd.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen), m);
      if (m.localHeaderOffset + m.compressedSize > cdOffset) throw new ZipDamaged(`zip: member ${m.name} lies outside the file`);
      members.push(m);
      p += 46 + nameLen + extraLen + commentLen;
    }
    return members;
  } finally {
    closeSync(fd);
  }
}

/** ZIP64 extended information: the 64-bit values of the fields set to 0xFFFFFFFF, in order. */
function zip64Extra(extra: Buffer, m: ZipMember): void {
  let q = 0;
  while (q + 4 <= extra.length) {
    const id = extra.readUInt16LE(q);
    const len = extra.readUInt16LE(q + 2);
    if (id === 0x0001) {
      let r = q + 4;
      const take = (): number => {
        if (r + 8 > q + 4 + len) throw new ZipDamaged('zip: ZIP64 extra field too short');
        const v = u64(extra, r);
        r += 8;
        return v;
      };
      if (m.size === 0xffffffff) m.size = take();
      if (m.compressedSize === 0xffffffff) m.compressedSize = take();
      if (m.localHeaderOffset === 0xffffffff) m.localHeaderOffset = take();
      return;
    }
    q += 4 + len;
  }
}

/** Offset of a member's data: after its local header, whose name and extra lengths may differ from the directory's. */
export function memberDataOffset(fd: number, m: ZipMember): number {
  const h = Buffer.alloc(30);
  if (readSync(fd, h, 0, 30, m.localHeaderOffset) !== 30 || h.readUInt32LE(0) !== LOCAL)
    throw new ZipDamaged(`zip: local header of ${m.name} is damaged`);
  return m.localHeaderOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
}

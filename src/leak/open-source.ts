import { closeSync, createReadStream, openSync } from 'node:fs';
import { PassThrough, pipeline, Readable } from 'node:stream';
import { crc32, createGunzip, createInflateRaw } from 'node:zlib';
import { FileRangeSource, IterableSource, type ByteSource } from './byte-source.js';
import type { WorkUnit } from './work-unit.js';
import { memberDataOffset, ZipDamaged, type ZipMember } from './zip-directory.js';

/** Read-ahead of compressed input. */
const HIGH_WATER = 1 << 20;

/** The bytes of a unit, decompressed (gzip, zip deflate, a ".gz" member of a zip) as they stream. */
export function openSource(unit: WorkUnit): ByteSource {
  const s = unit.source;
  switch (s.kind) {
    case 'range':
      return new FileRangeSource(unit.path, s.start, s.end);
    case 'gzip': {
      const raw = createReadStream(unit.path, { highWaterMark: HIGH_WATER });
      const out = chain(raw, [createGunzip({ chunkSize: HIGH_WATER })]);
      return new IterableSource(
        out,
        () => raw.bytesRead,
        () => out.destroy(),
      );
    }
    case 'zip':
      return zipMember(unit.path, s.member);
  }
}

function zipMember(path: string, m: ZipMember): ByteSource {
  if (m.flags & 1) throw new ZipDamaged(`zip: ${m.name} is encrypted`);
  if (m.method !== 0 && m.method !== 8) throw new ZipDamaged(`zip: ${m.name} uses compression method ${m.method}, which is not supported`);
  const fd = openSync(path, 'r');
  let start: number;
  try {
    start = memberDataOffset(fd, m);
  } finally {
    closeSync(fd);
  }
  const raw =
    m.compressedSize === 0
      ? new PassThrough().end()
      : createReadStream(path, { start, end: start + m.compressedSize - 1, highWaterMark: HIGH_WATER });
  const stages: NodeJS.ReadWriteStream[] = m.method === 8 ? [createInflateRaw({ chunkSize: HIGH_WATER })] : [];
  const verified = verify(chain(raw, stages), m);
  const gz = /\.gz(ip)?$/i.test(m.name);
  const bytesRead = (): number => ('bytesRead' in raw ? (raw as { bytesRead: number }).bytesRead : 0);
  if (!gz) return new IterableSource(verified, bytesRead, () => raw.destroy());
  const gunzip = chain(Readable.from(verified, { objectMode: false }), [createGunzip({ chunkSize: HIGH_WATER })]);
  return new IterableSource(gunzip, bytesRead, () => raw.destroy());
}

/** Pipes `src` through `stages`; an error anywhere ends the last stream with it (so a reader sees it). */
function chain(src: Readable, stages: NodeJS.ReadWriteStream[]): Readable {
  if (stages.length === 0) return src;
  const streams = [src, ...stages] as unknown as [Readable, ...NodeJS.ReadWriteStream[]];
  pipeline(streams, () => undefined);
  return stages[stages.length - 1] as unknown as Readable;
}

/** The member's CRC-32 and size, checked at its end: a damaged member is never taken for a whole one. */
async function* verify(src: AsyncIterable<Buffer>, m: ZipMember): AsyncGenerator<Buffer> {
  let crc = 0;
  let size = 0;
  for await (const b of src) {
    crc = crc32(b, crc);
    size += b.length;
    yield b;
  }
  if (size !== m.size) throw new ZipDamaged(`zip: ${m.name} has ${size} bytes, the directory says ${m.size}`);
  if (crc >>> 0 !== m.crc >>> 0) throw new ZipDamaged(`zip: ${m.name} fails its CRC-32 check`);
}

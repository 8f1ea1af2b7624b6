import { closeSync, openSync, readSync } from 'node:fs';
import type { ByteEvents } from './byte-events.js';
import { IterableSource, PrefixSource, type ByteSource } from './byte-source.js';
import { SNIFF_BYTES, sniffFormat } from './format-sniff.js';
import { openSource } from './open-source.js';
import type { FormatScanner } from './format-scanner.js';
import { fill, scanChunks } from './scan-chunks.js';
import { scanTar } from './scan-tar.js';
import { TarDamaged } from './tar-reader.js';
import { REBASE_LINES, RebasingBook } from './rebasing-book.js';
import type { ScanEngine } from './scan-engine.js';
import { distinctUnion, type UnitHit } from './unit-hits.js';
import { packHits } from './packed-hits.js';
import { emptyUnitResult, type UnitResult, type WorkUnit } from './work-unit.js';

/**
 * Scans one work unit: streams its bytes through the buffer of `events` (CHUNK bytes, in the
 * memory of the SIMD first pass), which the format's scanner reads up to the last whole record
 * (scan-chunks.ts), so memory stays at one buffer however large the file. After each chunk the
 * candidates are matched (match-chunk.ts) while the chunk is still there to read categories from.
 */
export const CHUNK = 4 << 20;

export async function scanUnit(
  unit: WorkUnit,
  engine: ScanEngine,
  events: ByteEvents,
  onProgress?: (inputBytes: number) => void,
  /** Lines after which line numbers count from a new base (rebasing-book.ts); tests make it small. */
  rebaseLines = REBASE_LINES,
): Promise<UnitResult> {
  const buf = events.buf;
  let book: RebasingBook | null = null;
  /** Unmatched BSNs and hits of tar members (each member books on its own). */
  const memberUnmatched: Uint32Array[] = [];
  const memberHits: { hits: UnitHit[]; member: string }[] = [];
  const result = emptyUnitResult(unit.id);
  let tar = false;
  let source: ByteSource | null = null;
  let scanner: FormatScanner | null = null;
  try {
    source = open(unit);
    let filled = await fill(source, buf, 0);
    let format = unit.format;
    if (!format) {
      const sniffed = sniffFormat(unit.file, buf.subarray(0, Math.min(filled.n, SNIFF_BYTES)));
      if (sniffed.kind === 'utf16') {
        source.close();
        source = utf16(open(unit), sniffed.littleEndian);
        filled = await fill(source, buf, 0);
        const again = sniffFormat(unit.file, buf.subarray(0, Math.min(filled.n, SNIFF_BYTES)));
        if (again.kind !== 'text') throw new Skip(`UTF-16 text that does not decode to text`);
        format = again;
      } else if (sniffed.kind === 'tar') {
        tar = true;
        const at = source;
        // Members book their own hits (named by member) into the result.
        await scanTar(
          new PrefixSource(Buffer.from(buf.subarray(0, filled.n)), at),
          unit.id,
          engine,
          events,
          result,
          memberUnmatched,
          memberHits,
          () => onProgress?.(at.inputBytes),
          rebaseLines,
        );
        return result;
      } else if (sniffed.kind === 'binary') throw new Skip(sniffed.reason);
      else if (sniffed.kind === 'gzip' || sniffed.kind === 'zip')
        throw new Skip(`nested ${sniffed.kind} archive inside a compressed file, not scanned`);
      else format = sniffed;
    }
    const collector = engine.collector();
    const s = unit.source;
    const midFile = s.kind === 'range' && s.start > 0;
    const sc = (scanner = engine.scanner(format.format, format.delimiter, collector, events, midFile));
    const b = (book = new RebasingBook(engine, sc, rebaseLines));
    if (midFile && s.header && sc.useHeader) sc.useHeader(readHeader(unit.path, s.header.start, s.header.length), 0, s.header.length);
    const scanned = await scanChunks(source, buf, filled, sc, () => {
      result.candidates += b.matchChunk(collector, buf, unit.id);
      onProgress?.((source as ByteSource).inputBytes);
    });
    result.bytes = scanned.bytes;
    result.lines = b.lines;
    result.endsInsideRecord = scanned.error === undefined && sc.endsInsideRecord === true;
    // Damaged data: what came before the damage was scanned above; the file is listed as skipped.
    if (scanned.error !== undefined) result.skipped = reason(scanned.error, result.bytes);
  } catch (e) {
    if (!(e instanceof Skip || e instanceof SourceError || e instanceof TarDamaged)) throw e;
    // Damage found by a source or the tar reader: the reason is the underlying error's (a zlib code).
    result.skipped = reason(e instanceof SourceError || (e instanceof TarDamaged && e.cause !== undefined) ? e.cause : e, result.bytes);
  } finally {
    result.inputBytes = source?.inputBytes ?? 0;
    try {
      source?.close();
    } catch {
      // Closing a source that failed to open fully: nothing more to release.
    }
    result.hits = !tar && book ? book.packed() : packHits(memberHits);
    result.unmatched = book ? book.unmatched() : distinctUnion(memberUnmatched);
    scanner?.close?.();
  }
  return result;
}

/** The unit is not scanned (binary, nested archive): the message is the reason. */
class Skip extends Error {}
/** The input cannot be opened or read: the unit is listed as skipped, the scan goes on. */
class SourceError extends Error {}

function open(unit: WorkUnit): ByteSource {
  try {
    return openSource(unit);
  } catch (e) {
    throw new SourceError('open', { cause: e });
  }
}

function readHeader(path: string, start: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(length);
    readSync(fd, b, 0, length, start);
    return b;
  } finally {
    closeSync(fd);
  }
}

function utf16(raw: ByteSource, littleEndian: boolean): ByteSource {
  async function* decode(): AsyncGenerator<Buffer> {
    const decoder = new TextDecoder(littleEndian ? 'utf-16le' : 'utf-16be');
    const tmp = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = await raw.read(tmp, 0, tmp.length);
      if (n === 0) break;
      yield Buffer.from(decoder.decode(tmp.subarray(0, n), { stream: true }), 'utf8');
    }
    const rest = decoder.decode();
    if (rest) yield Buffer.from(rest, 'utf8');
  }
  return new IterableSource(
    decode(),
    () => raw.inputBytes,
    () => raw.close(),
  );
}

function reason(e: unknown, scanned: number): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof Skip || e instanceof TarDamaged) return msg;
  const code = (e as { code?: unknown }).code;
  const what = typeof code === 'string' && code.startsWith('Z_') ? `compressed data damaged or truncated (${msg})` : msg;
  return scanned > 0 ? `${what}; the first ${scanned} bytes were scanned` : what;
}

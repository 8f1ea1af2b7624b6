import type { ByteEvents } from './byte-events.js';
import type { ByteSource } from './byte-source.js';
import { SNIFF_BYTES, sniffFormat, type Sniffed } from './format-sniff.js';
import { RebasingBook } from './rebasing-book.js';
import { fill, scanChunks } from './scan-chunks.js';
import { TarDamaged, TarReader } from './tar-reader.js';
import type { ScanEngine } from './scan-engine.js';
import type { UnitHit } from './unit-hits.js';
import type { UnitResult } from './work-unit.js';

/**
 * A tar archive (plain, or inside gzip) as one work unit: each regular member is sniffed and
 * scanned as a file of its own (a stream cannot be entered mid-way, so one worker reads it all),
 * its hits named by the member. Members that are not text are listed as skipped. Damage — a bad
 * header, the archive or its compression cut short — throws TarDamaged after what came before it
 * (the damaged member's readable part included) has been scanned and booked in `result`.
 */
export async function scanTar(
  source: ByteSource,
  unitId: number,
  engine: ScanEngine,
  events: ByteEvents,
  result: UnitResult,
  /** Each member's distinct unmatched BSNs are added here (the caller merges them). */
  unmatched: Uint32Array[],
  /** Each member's hits are added here, named by the member (the caller packs them into the result). */
  hits: { hits: UnitHit[]; member: string }[],
  onChunk: () => void,
  /** Lines after which a member's line numbers count from a new base (rebasing-book.ts). */
  rebaseLines: number,
): Promise<void> {
  const buf = events.buf;
  const reader = new TarReader(source);
  for (let m = await reader.next(); m !== null; m = await reader.next()) {
    const member = m.name;
    const filled = await fill(m.source, buf, 0);
    const sniffed = sniffFormat(member, buf.subarray(0, Math.min(filled.n, SNIFF_BYTES)));
    if (sniffed.kind !== 'text') {
      result.skippedMembers.push({ member, reason: memberSkipReason(sniffed) });
      if (filled.error !== undefined) throw damaged(filled.error);
      continue;
    }
    const collector = engine.collector();
    const scanner = engine.scanner(sniffed.format, sniffed.delimiter, collector, events, false);
    const book = new RebasingBook(engine, scanner, rebaseLines);
    // A member cut short is scanned up to the damage (scanChunks reads what `filled` holds first).
    let scanned: Awaited<ReturnType<typeof scanChunks>>;
    try {
      scanned = await scanChunks(m.source, buf, filled, scanner, () => {
        result.candidates += book.matchChunk(collector, buf, unitId);
        onChunk();
      });
    } finally {
      // Unmatched BSNs count even from a member whose scan failed part-way.
      unmatched.push(book.unmatched());
      scanner.close?.();
    }
    result.bytes += scanned.bytes;
    hits.push({ hits: book.hits(), member });
    if (scanned.error !== undefined) throw damaged(scanned.error);
  }
}

function damaged(e: unknown): TarDamaged {
  return e instanceof TarDamaged ? e : new TarDamaged('tar: the archive cannot be read further', { cause: e });
}

function memberSkipReason(s: Exclude<Sniffed, { kind: 'text' }>): string {
  switch (s.kind) {
    case 'binary':
      return s.reason;
    case 'utf16':
      return 'UTF-16 text inside a tar archive, not scanned: extract it and scan the result';
    case 'gzip':
    case 'zip':
    case 'tar':
      return `${s.kind} archive inside a tar archive, not scanned: extract it and scan the result`;
  }
}

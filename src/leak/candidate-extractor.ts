import { bsnString } from './bsn-digits.js';
import { ByteEvents } from './byte-events.js';
import { isoDate } from './calendar-date.js';
import type { ByteSource } from './byte-source.js';
import { CandidateCollector } from './candidate-collector.js';
import { createScanner } from './create-scanner.js';
import { SNIFF_BYTES, sniffFormat, type LeakFormat } from './format-sniff.js';
import { familyOf } from './key-occurrences.js';
import { fill, scanChunks } from './scan-chunks.js';

/**
 * Candidate extraction over bytes in memory, with the scanners and chunking the scan uses: for
 * tests, and for checking what a scan would look for in a sample. Candidates come out in the
 * order found, with their 1-based line; BSNs as 9-digit strings, name + birth date pairs as
 * "family|yyyy-mm-dd" keys.
 */
export interface ExtractedCandidates {
  bsns: { bsn: string; line: number }[];
  keys: { key: string; line: number }[];
}

export interface ExtractOptions {
  /** File name: its extension may decide the format. */
  name?: string;
  /** Overrides sniffing. */
  format?: LeakFormat;
  delimiter?: number;
  /** Buffer size (default 4 MiB); small values exercise records cut across chunks. */
  chunk?: number;
}

export async function extractCandidates(bytes: Uint8Array, opts: ExtractOptions = {}): Promise<ExtractedCandidates> {
  let format = opts.format;
  let delimiter = opts.delimiter ?? -1;
  if (!format) {
    const s = sniffFormat(opts.name ?? '', bytes.subarray(0, SNIFF_BYTES));
    if (s.kind !== 'text') throw new Error(`not text: ${s.kind}`);
    format = s.format;
    delimiter = s.delimiter;
  } else if (format === 'csv' && delimiter < 0) delimiter = 0x2c;
  const c = new CandidateCollector();
  const events = new ByteEvents(opts.chunk ?? 4 << 20);
  const scanner = createScanner(format, delimiter, c, events);
  const buf = events.buf;
  const source = memorySource(bytes);
  const out: ExtractedCandidates = { bsns: [], keys: [] };
  await scanChunks(source, buf, await fill(source, buf, 0), scanner, () => {
    c.settleColumns();
    for (let i = 0; i < c.bsnValue.length; i++) out.bsns.push({ bsn: bsnString(c.bsnValue.get(i)), line: c.bsnLine.get(i) });
    for (let i = 0; i < c.keys.length; i++)
      out.keys.push({
        key: `${familyOf(buf, c.keys.from.get(i), c.keys.to.get(i))}|${isoDate(c.keys.date.get(i))}`,
        line: c.keys.line.get(i),
      });
    c.clearChunk();
  });
  return out;
}

function memorySource(bytes: Uint8Array): ByteSource {
  let at = 0;
  return {
    get inputBytes() {
      return at;
    },
    read: async (buf, offset, length) => {
      const n = Math.min(length, bytes.length - at);
      buf.set(bytes.subarray(at, at + n), offset);
      at += n;
      return n;
    },
    close: () => undefined,
  };
}

import type { LeakFormat } from './format-sniff.js';
import { packHits, type PackedHits } from './packed-hits.js';
import type { ZipMember } from './zip-directory.js';

/**
 * A piece of work for one worker: a plain file or a byte range of one (cut at a record boundary
 * by the planner), a gzip file, or one zip member. Compressed data cannot be entered mid-way, so it
 * is always one unit.
 */
export interface WorkUnit {
  id: number;
  /** The name hits and skipped entries carry: the path, or "archive.zip!member". */
  file: string;
  /** The file on disk. */
  path: string;
  source:
    | {
        kind: 'range';
        start: number;
        end: number;
        /** For a range after the first: the line that gives its records meaning (CSV header, COPY statement), or null. */
        header: { start: number; length: number } | null;
      }
    | { kind: 'gzip' }
    | { kind: 'zip'; member: ZipMember };
  /** Known from planning for plain files; sniffed from the data otherwise. */
  format: { format: LeakFormat; delimiter: number } | null;
  /** Bytes on disk, for progress. */
  size: number;
}

export interface UnitResult {
  id: number;
  /** Bytes scanned (decompressed). */
  bytes: number;
  /** Bytes read from disk. */
  inputBytes: number;
  /** Line breaks in the unit: the line offset of the next range of the same file. */
  lines: number;
  candidates: number;
  /** Lines relative to the unit's first line (packed-hits.ts: numbers, not objects, to cross to the main thread). */
  hits: PackedHits;
  /** Distinct unmatched valid BSNs, sorted. */
  unmatched: Uint32Array;
  /** Why the unit was not scanned (to its end), or null. */
  skipped: string | null;
  /** Members of a tar archive in this unit that were not scanned, and why. */
  skippedMembers: { member: string; reason: string }[];
  /** The bytes ended inside a record (see FormatScanner.endsInsideRecord): the next range of the file started mid-record. */
  endsInsideRecord: boolean;
}

/** A unit's result before anything is scanned. */
export function emptyUnitResult(id: number): UnitResult {
  return {
    id,
    bytes: 0,
    inputBytes: 0,
    lines: 0,
    candidates: 0,
    hits: packHits([]),
    unmatched: new Uint32Array(0),
    skipped: null,
    skippedMembers: [],
    endsInsideRecord: false,
  };
}

import type { HitColumns } from './hit-columns.js';
import type { ScanWorkers } from './scan-workers.js';

/**
 * Types shared by the leak scanner (scan-leak.ts), its workers and the matchers they load.
 *
 * The scanner finds candidate identifiers in leaked bytes; a *matcher* decides which candidates
 * belong to the vault's patients. The matcher is a module the workers import themselves, so
 * candidates are matched where they are found and never leave a worker in bulk as plaintext: a
 * worker sends back hits (patient ordinals, locations) and counts only.
 */

/** Which matcher the workers load: `await import(module)` and then `createMatcher(data)`. */
export interface MatcherSpec {
  /** Absolute path or file URL of the matcher module (JavaScript in the built package). */
  module: string;
  /** Passed to `createMatcher`; must survive structured clone (it is posted to every worker). */
  data: unknown;
}

/** A matched patient: the tenant (controller) ordinal and the patient ordinal the matcher knows. */
export interface Hit {
  tenant: number;
  patient: number;
}

export interface Matcher {
  /** 9-digit BSN strings (deduplicated by the caller per batch) → for each, the hits (tenant + patient ordinal), empty when none. */
  matchBsns(bsns: readonly string[]): readonly (readonly Hit[])[];
  /** "family|yyyy-mm-dd" keys → hits. */
  matchNameDates(keys: readonly string[]): readonly (readonly Hit[])[];
  /**
   * A matcher that is the blind-index PRF over stored indexes may hand them over, so that an engine
   * computes the same answers without a call per batch (native-match.ts); others match through the
   * two methods above.
   */
  keyedTables?(): KeyedTables;
}

/** What `Matcher.keyedTables` gives: per tenant (its ordinal is its place here) its PRF key and stored indexes. */
export interface KeyedTables {
  tenants: readonly {
    /** The 32-byte AES key of the PRF (blindIndexPrfKey of the tenant's index key). */
    key: Uint8Array;
    /** Stored BSN indexes, 16 bytes each, and the patient of each. */
    bsn: Uint8Array;
    bsnPatients: Int32Array;
    /** Stored name + birth date indexes and their patients. */
    name: Uint8Array;
    namePatients: Int32Array;
  }[];
}

/** What a matcher module exports. */
export interface MatcherModule {
  createMatcher(data: unknown): Matcher | Promise<Matcher>;
}

/**
 * Data categories seen in the record around a candidate, one bit each (bit i = CATEGORY_NAMES[i]).
 * They are found by content (see record-categories.ts), so they describe what leaked, not what a
 * column was called.
 */
export const DataCategory = {
  Names: 1 << 0,
  Addresses: 1 << 1,
  BirthDates: 1 << 2,
  Contact: 1 << 3,
  Results: 1 << 4,
  NationalId: 1 << 5,
} as const;
export type DataCategory = (typeof DataCategory)[keyof typeof DataCategory];

/** Names of the category bits, by bit index. */
export const CATEGORY_NAMES = ['names', 'addresses', 'birth-dates', 'contact', 'results', 'national-id'] as const;
export type CategoryName = (typeof CATEGORY_NAMES)[number];

/** The names of the bits set in `mask`, in bit order. */
export function categoryNames(mask: number): CategoryName[] {
  return CATEGORY_NAMES.filter((_, bit) => (mask & (1 << bit)) !== 0);
}

export type HitKind = 'bsn' | 'name-date';

/**
 * One matched patient in one file, by one kind of evidence: where it was first seen (1-based line)
 * and the union of the data categories of every record it was found in, with how many times.
 */
export interface HitRecord {
  tenant: number;
  patient: number;
  kind: HitKind;
  /** Path as scanned; an archive member is "archive.zip!member". */
  file: string;
  /** 1-based line of the first occurrence in the file. */
  line: number;
  /** Bitmask of DataCategory. */
  categories: number;
  /** Occurrences in the file. */
  count: number;
}

export interface SkippedFile {
  file: string;
  reason: string;
}

export interface LeakScanResult {
  /** Bytes scanned (after decompression). */
  bytes: number;
  /** Bytes read from disk (compressed files count their compressed size). */
  inputBytes: number;
  seconds: number;
  /** Files scanned (archive members count one each), including ones cut short and listed in `skipped`. */
  files: number;
  /** Candidate occurrences that went to the matcher: 11-proof-valid BSNs and name + birth date keys. */
  candidates: number;
  /** Sorted by file, line, tenant, patient, kind (records() gives them as HitRecords). */
  hits: HitColumns;
  /** Distinct 11-proof-valid BSNs found that matched no patient. */
  unmatchedValidBsns: number;
  /**
   * Files not scanned, or not scanned to the end (truncated or corrupt compressed data): hits from
   * the part that was read are kept, the entry says where reading stopped.
   */
  skipped: SkippedFile[];
}

export interface ScanLeakOptions {
  /** Files and directories (recursive). */
  paths: string[];
  matcher: MatcherSpec;
  /** Worker threads; default availableParallelism(). The result does not depend on it. */
  workers?: number;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
  /** Size of the byte ranges large plain files are split into (default 64 MiB); for tests and tuning. */
  rangeBytes?: number;
  /** The scan-engine.ts engine; default native where its addons load. The result does not depend on it. */
  engine?: 'js' | 'native';
  /** Lines after which a unit's line numbers count from a new base (default 2^30, rebasing-book.ts); for tests. */
  rebaseLines?: number;
  /**
   * Worker threads started for this scan before its matcher existed (scan-workers.ts: their start
   * overlaps with loading the indexes); the scan sends them the matcher and runs on them, and the
   * caller closes them. Their engine and rebase options are theirs: `workers`, `engine` and
   * `rebaseLines` above are not used then.
   */
  started?: ScanWorkers;
}

/**
 * A scanner walks one file's bytes in one format, finds its records and fields, and reports digit
 * runs, family-name fields and record ends to a CandidateCollector. Bytes come in chunks (see
 * scan-chunks.ts); a scanner keeps whatever state it needs between chunks.
 */
export const ScanMode = {
  /** More bytes follow: stop before the first record the chunk does not hold completely. */
  Partial: 0,
  /** A record larger than the chunk: treat the chunk end as a record end, keep the structure. */
  Cut: 1,
  /** The last bytes of the file (or of a byte range of it). */
  End: 2,
} as const;
export type ScanMode = (typeof ScanMode)[keyof typeof ScanMode];

export interface FormatScanner {
  /**
   * Scans buf[from, to). Returns where the first record not completed within the chunk starts
   * (`to` in Cut and End mode); the caller passes those bytes again, at the start of the next chunk.
   */
  scan(buf: Buffer, from: number, to: number, mode: ScanMode): number;
  /**
   * Line breaks consumed so far (a line break is \n, \r\n or a lone \r). The caller may set it
   * between chunks: past 2^30 lines the count starts again from a base (rebasing-book.ts).
   */
  lines: number;
  /**
   * For a byte range that does not start the file: the line that gives its records their meaning
   * (a CSV header, the COPY statement of the block the range starts in), read apart.
   */
  useHeader?(buf: Buffer, s: number, e: number): void;
  /**
   * After End: the bytes ended inside a record (an open quoted field, an SQL tuple not closed), so
   * a byte range that starts where these bytes end does not start at a record boundary.
   */
  readonly endsInsideRecord?: boolean;
  /** The unit is done: the scanner's memory goes to the next one (the native scanners'); it is not used again. */
  close?(): void;
}

/** Line feed, carriage return. */
export const LF = 0x0a;
export const CR = 0x0d;

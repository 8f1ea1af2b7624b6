import type { CandidateCollector } from './candidate-collector.js';
import type { FormatScanner } from './format-scanner.js';
import { packHits, type PackedHits } from './packed-hits.js';
import type { ScanEngine, UnitBook } from './scan-engine.js';
import { distinctUnion, type UnitHit } from './unit-hits.js';

/**
 * Line numbers are 32-bit where there are many of them (the candidate columns, the hit tables of
 * both engines), but one gzip stream of a 300 GB dump holds billions of lines. So a unit's lines
 * count from a base: once the scanner has counted `limit` lines, the hits booked so far are taken
 * out with the base added (JavaScript numbers), the scanner counts from 0 again and a fresh book
 * takes the following chunks. A chunk is 4 MiB, so within one no column gets near 2^31. The same
 * holds for a patient's occurrence count, which also starts again. So does the sampling of a
 * patient's records for data categories (unit-hits.ts CATEGORY_SAMPLES): after a new base its next
 * records are read again, so the categories can only grow, never miss one.
 */
export const REBASE_LINES = 2 ** 30;

export class RebasingBook {
  private book: UnitBook;
  private base = 0;
  /** Hits of the books before this one, by tenant, patient and kind, lines absolute. */
  private readonly earlier = new Map<string, UnitHit>();
  private readonly earlierUnmatched: Uint32Array[] = [];

  constructor(
    private readonly engine: ScanEngine,
    private readonly scanner: FormatScanner,
    private readonly limit = REBASE_LINES,
  ) {
    // Past 2^30 a chunk's lines on top could overflow the 32-bit counts.
    if (!Number.isInteger(limit) || limit < 1 || limit > REBASE_LINES) throw new RangeError(`rebase limit out of range: ${limit}`);
    this.book = engine.book();
  }

  /** Matches the collector's chunk (UnitBook.matchChunk), then starts a new base when the count is high. */
  matchChunk(c: CandidateCollector, buf: Buffer, unitId: number): number {
    const n = this.book.matchChunk(c, buf, unitId);
    if (this.scanner.lines >= this.limit) this.rebase();
    return n;
  }

  /** Line breaks of the unit so far. */
  get lines(): number {
    return this.base + this.scanner.lines;
  }

  hits(): UnitHit[] {
    if (this.base === 0) return this.book.hits();
    const all = new Map(this.earlier);
    this.fold(all, this.book.hits(), this.base);
    return [...all.values()];
  }

  /** hits() packed (UnitBook.packed): the book's own numbers while no base was taken. */
  packed(): PackedHits {
    return this.base === 0 ? this.book.packed() : packHits([{ hits: this.hits() }]);
  }

  unmatched(): Uint32Array {
    const now = this.book.unmatched();
    return this.earlierUnmatched.length === 0 ? now : distinctUnion([...this.earlierUnmatched, now]);
  }

  private rebase(): void {
    this.fold(this.earlier, this.book.hits(), this.base);
    this.earlierUnmatched.push(this.book.unmatched());
    this.base += this.scanner.lines;
    this.scanner.lines = 0;
    this.book = this.engine.book();
  }

  /** Adds hits counted from `base` into `into`: the first line is the earliest, counts add up, categories join. */
  private fold(into: Map<string, UnitHit>, hits: readonly UnitHit[], base: number): void {
    for (const h of hits) {
      const key = `${h.tenant}/${h.patient}/${h.kind}`;
      const line = h.line + base;
      const had = into.get(key);
      if (!had) into.set(key, { ...h, line });
      else
        into.set(key, {
          ...had,
          line: Math.min(had.line, line),
          count: had.count + h.count,
          categories: had.categories | h.categories,
        });
    }
  }
}

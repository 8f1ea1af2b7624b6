import { readSync } from 'node:fs';

/**
 * For a SQL dump split into byte ranges: the statement a range starts inside of — a
 * `COPY … FROM stdin;` block (up to its `\.`) or an `INSERT … VALUES` list (up to the `;` that
 * ends a line) — found by reading backwards from the range start, so a range that starts among
 * COPY rows or tuples knows their columns.
 */
const BLOCK = 1 << 20;
const MARKERS = {
  copy: Buffer.from('\nCOPY '),
  copyEnd: Buffer.from('\n\\.'),
  insert: Buffer.from('INSERT INTO'),
  statementEnd: Buffer.from(';\n'),
};
const OVERLAP = 16;

/**
 * The statement head for a range starting at `pos`, or null when it starts outside any statement.
 * With `floor` (the previous range's start): undefined when no statement begins or ends between
 * `floor` and `pos`, so the range is in the same statement as the previous one — each range reads
 * back only to the one before, not, in a dump that is one long INSERT, to the file's start.
 */
export function sqlStatementBefore(fd: number, pos: number, floor = 0): { start: number; length: number } | null | undefined {
  const buf = Buffer.alloc(BLOCK + OVERLAP);
  // A marker that ends at or after `floor` starts at most OVERLAP bytes before it.
  const bottom = Math.max(0, floor - OVERLAP);
  for (let end = pos; end > bottom;) {
    const start = Math.max(bottom, end - BLOCK);
    // A few bytes past `end` too, so a marker across the block boundary is seen.
    const n = readSync(fd, buf, 0, Math.min(buf.length, pos - start), start);
    const view = buf.subarray(0, n);
    // "\nCOPY " by its rarely used "Y" (a skip search keyed on its last byte, a space, barely skips).
    const copy = lastAround(view, 0x59, 4, MARKERS.copy);
    // The short markers by their rare byte (memrchr), then a look at its neighbours: a multi-byte
    // search for ";\n" over every 1 MiB block of a long INSERT list cost a few hundred ms a file.
    const copyEnd = lastAround(view, 0x5c, 1, MARKERS.copyEnd);
    // By its "I", which data rarely holds in capitals (a Boyer-Moore-Horspool search forwards,
    // skipping on the final "O", cost 0.12 s over the bench dump's two SQL files).
    const insert = lastAround(view, 0x49, 0, MARKERS.insert);
    const stmtEnd = lastAround(view, 0x3b, 0, MARKERS.statementEnd);
    const last = Math.max(copy, copyEnd, insert, stmtEnd);
    if (last >= 0) {
      if (last === copy) return lineAt(fd, start + copy + 1, false);
      if (last === insert) return lineAt(fd, start + insert, true);
      if (last === stmtEnd) {
        // The ";" that ends a COPY line starts its rows, it does not end them. That line may
        // begin in an earlier block (the block boundary inside it).
        const lf = view.lastIndexOf(0x0a, stmtEnd);
        const lineStart = lf >= 0 || start === 0 ? start + lf + 1 : lineStartBefore(fd, start);
        if (startsCopy(fd, lineStart)) return lineAt(fd, lineStart, false);
      }
      return null;
    }
    if (start === 0) return view.subarray(0, 5).toString('latin1') === 'COPY ' ? lineAt(fd, 0, false) : null;
    end = start;
  }
  return floor > 0 ? undefined : null;
}

/** view.lastIndexOf(marker) for a marker that occurs rarely, by forward searches. */
export function lastByForward(view: Buffer, marker: Buffer): number {
  let last = -1;
  for (let i = view.indexOf(marker); i >= 0; i = view.indexOf(marker, i + 1)) last = i;
  return last;
}

/**
 * view.lastIndexOf(marker), found by the last occurrences of its byte `rare`, which sits at
 * marker[at]. Data in which that byte is not rare after all (past `limit` occurrences without the
 * marker) is searched forwards instead (lastByForward), so no data makes this a byte-by-byte loop.
 */
export function lastAround(view: Buffer, rare: number, at: number, marker: Buffer, limit = 4096): number {
  let tries = 0;
  for (let p = view.lastIndexOf(rare); p >= 0; p = p > 0 ? view.lastIndexOf(rare, p - 1) : -1) {
    if (++tries > limit) return lastByForward(view, marker);
    const s = p - at;
    if (s < 0 || s + marker.length > view.length) continue;
    let same = true;
    for (let k = 0; k < marker.length && same; k++) same = view[s + k] === marker[k];
    if (same) return s;
  }
  return -1;
}

/** Where the line holding the byte before `at` starts (after the last line feed before `at`, or 0). */
function lineStartBefore(fd: number, at: number): number {
  const b = Buffer.alloc(BLOCK);
  for (let end = at; end > 0;) {
    const start = Math.max(0, end - BLOCK);
    const n = readSync(fd, b, 0, end - start, start);
    const lf = b.subarray(0, n).lastIndexOf(0x0a);
    if (lf >= 0) return start + lf + 1;
    end = start;
  }
  return 0;
}

function startsCopy(fd: number, at: number): boolean {
  const b = Buffer.alloc(5);
  return readSync(fd, b, 0, 5, at) === 5 && b.toString('latin1') === 'COPY ';
}

/** The statement head at `start`: its first line (COPY) or up to its VALUES (INSERT). */
function lineAt(fd: number, start: number, insert: boolean): { start: number; length: number } | null {
  const b = Buffer.alloc(65536);
  const n = readSync(fd, b, 0, b.length, start);
  const view = b.subarray(0, n);
  if (insert) {
    const v = Math.max(view.indexOf('VALUES'), view.indexOf('values'));
    return v < 0 ? null : { start, length: v + 6 };
  }
  const lf = view.indexOf(0x0a);
  return lf < 0 ? null : { start, length: lf + 1 };
}

import { ByteSet, type ByteEvents } from './byte-events.js';
import type { CandidateCollector } from './candidate-collector.js';
import { fieldRole, isNameRole, Role } from './field-role.js';
import { CR, LF, ScanMode, type FormatScanner } from './format-scanner.js';
import { runEnd } from './run-end.js';

/**
 * Line records: CSV/TSV (any of , ; TAB |, RFC 4180 quotes with embedded delimiters, quotes and
 * line breaks) and plain text or logs (no delimiter: a record is a line). The first line of a CSV
 * is taken as a header when it has letters and no number of 4+ digits; its names give the columns
 * their roles (field-role.ts). Works on the events of the first pass (byte-events.ts): line
 * breaks, delimiters, quotes and the digit runs that can matter — a few per record.
 */
const QUOTE = 0x22;
const MAX_COLUMNS = 256;

export class DelimitedScanner implements FormatScanner {
  lines = 0;
  endsInsideRecord = false;
  private readonly roles = new Uint8Array(MAX_COLUMNS);
  /** Columns whose words may be the family name (a family-name or whole-name column). */
  private readonly nameColumn = new Uint8Array(MAX_COLUMNS + 1);
  private readonly delimiter: number;
  private readonly set: ByteSet;
  /** The next record is the file's first: it may be a header. */
  private headerPending: boolean;
  /** State kept across a Cut: the record goes on in the next chunk. */
  private continuing = false;
  private inQuoteAtCut = false;
  private columnAtCut = 0;

  constructor(
    private readonly c: CandidateCollector,
    private readonly events: ByteEvents,
    /** Field delimiter byte, or -1 for plain text. */
    delimiter: number,
    /** The bytes are a range after the file's first line: no header here (see useHeader). */
    midFile = false,
  ) {
    this.delimiter = delimiter;
    this.set = new ByteSet(delimiter >= 0 ? [LF, CR, delimiter, QUOTE] : [LF, CR]);
    this.headerPending = delimiter >= 0 && !midFile;
  }

  /** Reads column roles from a header line given apart (a byte range that does not start the file). */
  useHeader(buf: Buffer, s: number, e: number): void {
    this.headerPending = false;
    if (looksLikeHeader(buf, s, e)) this.readHeader(buf, s, e);
  }

  scan(buf: Buffer, from: number, to: number, mode: ScanMode): number {
    const n = this.events.scan(from, to, this.set);
    const ev = this.events.ev;
    const c = this.c;
    const roles = this.roles;
    const delimiter = this.delimiter;
    const delimited = delimiter >= 0;
    let line = this.lines;
    let recStart = from;
    let recLine = line;
    let col = 0;
    let fieldStart = from;
    let inQ = false;
    if (this.continuing) {
      col = this.columnAtCut;
      inQ = this.inQuoteAtCut;
      this.continuing = false;
    }
    const startCol = col;
    const startInQuote = inQ;
    c.begin(from, line + 1);
    // Events before `resume` lie inside a date or grouped BSN already read.
    let resume = from;
    for (let k = 0; k < n; k++) {
      const e = ev[k] as number;
      const pos = e >>> 7;
      if (pos < resume) continue;
      const kind = e & 127;
      if (kind !== 0) {
        const end = runEnd(buf, pos, kind, to);
        if (end === to && mode === ScanMode.Partial) break;
        resume = c.digits(buf, pos, end, to, line + 1, delimited ? ((roles[col] ?? Role.None) as Role) : Role.None, delimited ? col : -1);
        continue;
      }
      const b = buf[pos] as number;
      if (b === delimiter) {
        if (!inQ) {
          if (this.nameColumn[col] === 1) this.family(buf, fieldStart, pos, col);
          if (col < MAX_COLUMNS) col++;
          fieldStart = pos + 1;
        }
        continue;
      }
      if (b === QUOTE) {
        if (!inQ) {
          if (pos === fieldStart) inQ = true;
        } else if (pos + 1 >= to) {
          if (mode === ScanMode.Partial) break;
        } else if (buf[pos + 1] === QUOTE) resume = pos + 2;
        else inQ = false;
        continue;
      }
      // Line break: \n, \r\n (counted at the \n) or a lone \r.
      if (b === CR) {
        if (pos + 1 >= to) {
          if (mode === ScanMode.Partial) break;
        } else if (buf[pos + 1] === LF) continue;
      }
      line++;
      if (inQ) continue;
      const end = b === LF && pos > recStart && buf[pos - 1] === CR ? pos - 1 : pos;
      this.endRecord(buf, recStart, fieldStart, end, col);
      recStart = pos + 1;
      recLine = line;
      col = 0;
      fieldStart = recStart;
      c.begin(recStart, line + 1);
    }
    if (mode === ScanMode.Partial && recStart < to) {
      // The record at recStart has no line break yet: it goes on in the next chunk.
      c.abandon();
      this.lines = recLine;
      if (recStart === from && (startCol !== 0 || startInQuote)) {
        this.continuing = true;
        this.columnAtCut = startCol;
        this.inQuoteAtCut = startInQuote;
      }
      return recStart;
    }
    if (mode === ScanMode.Cut) {
      this.continuing = true;
      this.inQuoteAtCut = inQ;
      this.columnAtCut = col;
      c.end(buf, to);
    } else {
      if (recStart < to) this.endRecord(buf, recStart, fieldStart, to, col);
      if (mode === ScanMode.End) this.endsInsideRecord = inQ;
    }
    this.lines = line;
    return to;
  }

  private endRecord(buf: Buffer, recStart: number, fieldStart: number, end: number, col: number): void {
    if (this.headerPending) {
      this.headerPending = false;
      if (looksLikeHeader(buf, recStart, end)) {
        this.c.abandon();
        this.readHeader(buf, recStart, end);
        return;
      }
    }
    if (this.nameColumn[col] === 1) this.family(buf, fieldStart, end, col);
    if (this.delimiter >= 0 && end > recStart) this.c.row();
    this.c.end(buf, end);
  }

  private family(buf: Buffer, s: number, e: number, col: number): void {
    const full = this.roles[col] === Role.FullName;
    if (e - s >= 2 && buf[s] === QUOTE && buf[e - 1] === QUOTE) this.c.family(s + 1, e - 1, full);
    else this.c.family(s, e, full);
  }

  private readHeader(buf: Buffer, s: number, e: number): void {
    const names = headerNames(buf, s, e, this.delimiter);
    names.forEach((name, i) => {
      if (i < MAX_COLUMNS) this.roles[i] = fieldRole(name);
    });
    this.roles.forEach((r, i) => (this.nameColumn[i] = isNameRole(r) ? 1 : 0));
  }
}

/** The column names of a header line buf[s..e), unquoted and trimmed (plain text: split at commas). */
export function headerNames(buf: Buffer, s: number, e: number, delimiter: number): string[] {
  return buf
    .toString('utf8', s, e)
    .split(String.fromCharCode(delimiter < 0 ? 0x2c : delimiter))
    .map((f) => f.trim().replace(/^"|"$/g, ''));
}

/** Letters and no run of 4 or more digits: column names, not data. */
export function looksLikeHeader(buf: Uint8Array, s: number, e: number): boolean {
  let letters = 0;
  let run = 0;
  for (let i = s; i < e; i++) {
    const b = buf[i] as number;
    if (b >= 48 && b <= 57) {
      if (++run >= 4) return false;
    } else {
      run = 0;
      if ((b | 0x20) >= 97 && (b | 0x20) <= 122) letters++;
    }
  }
  return letters > 0;
}

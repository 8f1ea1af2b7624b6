import { ByteSet, type ByteEvents } from './byte-events.js';
import type { CandidateCollector } from './candidate-collector.js';
import { fieldRole, isNameRole, Role } from './field-role.js';
import { CR, LF, ScanMode, type FormatScanner } from './format-scanner.js';
import { runEnd } from './run-end.js';
import { insertValues, isCopyFromStdin, statementColumns } from './sql-statement.js';

/**
 * SQL dumps (pg_dump, mysqldump). Records: each tuple of `INSERT … VALUES (…),(…);` (one line or
 * many), each line of a PostgreSQL `COPY … FROM stdin;` block up to `\.`, and every other line
 * (DDL, comments) as text. Columns get their roles from the statement's column list; without one
 * they are known by position, like an unnamed CSV column. A byte range that starts inside a COPY
 * block (a split file) takes tab-separated lines for COPY rows until the next statement.
 */
const LINE = 0;
const INSERT = 1;
const COPY = 2;
const MAX_COLUMNS = 256;
const TAB = 0x09;
const QUOTE = 0x27;
const BACKSLASH = 0x5c;
const SET = new ByteSet([TAB, LF, CR, 0x28, 0x29, 0x2c, QUOTE, BACKSLASH, 0x3b]);

export class SqlScanner implements FormatScanner {
  lines = 0;
  endsInsideRecord = false;
  private cutInRecord = false;
  private mode = LINE;
  private roles = new Uint8Array(MAX_COLUMNS);
  private hasFamily = false;
  /** A byte range that starts mid-file: tab-separated lines are COPY rows. */
  private guessCopy: boolean;

  constructor(
    private readonly c: CandidateCollector,
    private readonly events: ByteEvents,
    startsMidFile = false,
  ) {
    this.guessCopy = startsMidFile;
  }

  /** The range starts inside the COPY block or INSERT … VALUES list whose statement head is buf[s..e). */
  useHeader(buf: Buffer, s: number, e: number): void {
    const values = insertValues(buf, s, e);
    if (values > 0) {
      this.setColumns(statementColumns(buf, s, values));
      this.mode = INSERT;
    } else if (isCopyFromStdin(buf, s, e) === true) {
      this.setColumns(statementColumns(buf, s, e));
      this.mode = COPY;
    } else return;
    this.guessCopy = false;
  }

  scan(buf: Buffer, from: number, to: number, mode: ScanMode): number {
    const n = this.events.scan(from, to, SET);
    const ev = this.events.ev;
    const c = this.c;
    let line = this.lines;
    // Snapshot: where the current record started, and the mode there.
    let recStart = from;
    let recLine = line;
    let recMode = this.mode;
    let depth = 0;
    let inStr = false;
    let col = 0;
    let fieldStart = from;
    let resume = from;
    // A line starts at `from`: see what it is.
    let lineStart = from;
    let pendingLine = this.mode !== INSERT;
    c.begin(from, line + 1);
    for (let k = 0; ; k++) {
      if (pendingLine) {
        pendingLine = false;
        const modeAtStart = this.mode;
        const r = this.lineBegins(buf, lineStart, to, mode);
        if (r < 0) break;
        resume = Math.max(resume, r);
        col = 0;
        fieldStart = r;
        depth = 0;
        inStr = false;
        recStart = lineStart;
        recLine = line;
        recMode = modeAtStart;
        c.begin(lineStart, line + 1);
      }
      if (k >= n) break;
      const e = ev[k] as number;
      const pos = e >>> 7;
      if (pos < resume) continue;
      const run = e & 127;
      if (run !== 0) {
        const end = runEnd(buf, pos, run, to);
        if (end === to && mode === ScanMode.Partial) break;
        const column = this.mode === LINE ? -1 : col;
        const role = this.mode === LINE ? Role.None : ((this.roles[col] ?? Role.None) as Role);
        resume = c.digits(buf, pos, end, to, line + 1, role, column);
        continue;
      }
      const b = buf[pos] as number;
      if (b === LF || b === CR) {
        if (b === CR && pos + 1 >= to && mode === ScanMode.Partial) break;
        if (b === CR && buf[pos + 1] === LF) continue;
        line++;
        if (this.mode === INSERT) continue;
        if (this.mode === COPY) {
          this.endField(buf, fieldStart, pos, col);
          c.row();
        }
        c.end(buf, pos);
        if (this.copyNext) {
          this.copyNext = false;
          this.mode = COPY;
        }
        lineStart = pos + 1;
        pendingLine = true;
        continue;
      }
      if (this.mode === COPY) {
        if (b === TAB) {
          this.endField(buf, fieldStart, pos, col);
          col++;
          fieldStart = pos + 1;
        }
        continue;
      }
      if (this.mode !== INSERT) continue;
      if (inStr) {
        if (b === BACKSLASH) resume = pos + 2;
        else if (b === QUOTE) {
          if (pos + 1 >= to && mode === ScanMode.Partial) break;
          if (buf[pos + 1] === QUOTE) resume = pos + 2;
          else inStr = false;
        }
        continue;
      }
      if (b === QUOTE) inStr = true;
      else if (b === 0x28) {
        if (depth++ === 0) {
          // A tuple: a record of its own.
          c.end(buf, pos);
          recStart = pos;
          recLine = line;
          recMode = INSERT;
          c.begin(pos, line + 1);
          col = 0;
          fieldStart = pos + 1;
        }
      } else if (b === 0x29) {
        if (depth > 0 && --depth === 0) {
          this.endField(buf, fieldStart, pos, col);
          c.row();
          c.end(buf, pos + 1);
          recStart = pos + 1;
          recLine = line;
          recMode = INSERT;
          c.begin(pos + 1, line + 1);
        }
      } else if (b === 0x2c) {
        if (depth === 1) {
          this.endField(buf, fieldStart, pos, col);
          col++;
          fieldStart = pos + 1;
        }
      } else if (b === 0x3b && depth === 0) {
        // End of the statement: the rest of the line is text.
        this.mode = LINE;
        c.end(buf, pos + 1);
        recStart = pos + 1;
        recLine = line;
        recMode = LINE;
        c.begin(pos + 1, line + 1);
      }
    }
    if (mode === ScanMode.Partial && recStart < to) {
      c.abandon();
      this.lines = recLine;
      this.mode = recMode;
      this.copyNext = false;
      return recStart;
    }
    c.end(buf, to);
    // A tuple larger than the buffer was cut: its depth and quote state are not carried over, so
    // from here on the end cannot be trusted to be a boundary (the range gets joined; rare).
    if (mode === ScanMode.Cut && this.mode === INSERT && (depth > 0 || inStr)) this.cutInRecord = true;
    if (mode === ScanMode.End) this.endsInsideRecord = (this.mode === INSERT && (depth > 0 || inStr)) || this.cutInRecord;
    this.lines = line;
    return to;
  }

  /** The head of the last INSERT, whose columns `roles` holds. */
  private lastHead: Buffer | null = null;
  /** The line just read was a COPY header: rows start on the next line. */
  private copyNext = false;

  /**
   * A line starts at `s` (LINE or COPY mode): an INSERT switches to tuples, a COPY header to rows
   * (from the next line), `\.` ends the rows. Returns where its events start mattering, -1 when
   * the chunk ends too early to tell.
   */
  private lineBegins(buf: Buffer, s: number, to: number, mode: ScanMode): number {
    if (this.mode === COPY) {
      if (to - s < 2 && mode === ScanMode.Partial) return -1;
      if (buf[s] === BACKSLASH && buf[s + 1] === 0x2e) this.mode = LINE;
      return s;
    }
    let i = s;
    while (i < to && (buf[i] === 0x20 || buf[i] === TAB)) i++;
    const values = insertValues(buf, i, to);
    if (values === -1 && mode === ScanMode.Partial) return -1;
    if (values > 0) {
      this.guessCopy = false;
      // pg_dump --inserts repeats one head per row: read its columns once.
      const head = this.lastHead;
      if (!head || head.length !== values - i || buf.compare(head, 0, head.length, i, values) !== 0) {
        this.setColumns(statementColumns(buf, i, values));
        this.lastHead = Buffer.from(buf.subarray(i, values));
      }
      this.mode = INSERT;
      return values;
    }
    const copy = isCopyFromStdin(buf, i, to);
    if (copy === null && mode === ScanMode.Partial) return -1;
    if (copy === true) {
      this.guessCopy = false;
      this.setColumns(statementColumns(buf, i, to));
      this.copyNext = true;
    } else if (this.guessCopy && lineHasTab(buf, s, to)) {
      this.setColumns([]);
      this.mode = COPY;
    }
    return s;
  }

  private endField(buf: Buffer, s: number, e: number, col: number): void {
    if (!this.hasFamily || col >= MAX_COLUMNS || !isNameRole(this.roles[col] as number)) return;
    let a = s;
    let b = e;
    while (a < b && (buf[a] === 0x20 || buf[a] === QUOTE)) a++;
    while (b > a && (buf[b - 1] === 0x20 || buf[b - 1] === QUOTE)) b--;
    this.c.family(a, b, this.roles[col] === Role.FullName);
  }

  private setColumns(names: readonly string[]): void {
    this.lastHead = null;
    this.roles = new Uint8Array(MAX_COLUMNS);
    names.forEach((n, i) => {
      if (i < MAX_COLUMNS) this.roles[i] = fieldRole(n);
    });
    this.hasFamily = this.roles.some(isNameRole);
  }
}

/** A tab before the end of the line at s (looked for within the line only). */
function lineHasTab(buf: Buffer, s: number, to: number): boolean {
  for (let i = s; i < to; i++) {
    const b = buf[i];
    if (b === TAB) return true;
    if (b === LF || b === CR) return false;
  }
  return false;
}

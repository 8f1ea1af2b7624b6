import { bsnAt, bsnLostZeroAt } from './bsn-digits.js';
import { compactDateAt, dateAt, dateEnd } from './calendar-date.js';
import { Role } from './field-role.js';
import { formattedBsnAt, formattedBsnEnd } from './formatted-bsn.js';
import { IntList } from './int-list.js';
import { KeyOccurrences } from './key-occurrences.js';
import { NameDateKeys } from './name-date-keys.js';
import type { RecordDates } from './record-dates.js';
import { DataCategory } from './scan-types.js';

/**
 * Where the format scanners put what they find. A scanner walks the bytes, knows records and
 * fields, and calls begin/digits/family/end; this class turns digit runs into BSN and date
 * candidates and dated records into name + birth date keys, and keeps them, per chunk, in flat
 * integer columns with the line and the record they came from (records by byte span, so the data
 * categories around a hit can be read from the chunk later, only for hits).
 *
 * A record that the chunk cuts off is abandoned (abandon()) and scanned again from its start in
 * the next chunk, so every record is seen whole (see scan-chunks.ts).
 */
const MAX_COLUMNS = 256;
const MAX_DATES = 16;
const MAX_FAMILY_FIELDS = 16;
const DASH = 0x2d;
const SLASH = 0x2f;
const DOT = 0x2e;
const SPACE = 0x20;

/** "T12:30", " 12:30", " 9:05" at `p`. */
function isTimeAt(buf: Uint8Array, p: number, limit: number): boolean {
  const sep = buf[p];
  if (sep !== 0x54 && sep !== SPACE) return false;
  let i = p + 1;
  const h = i;
  while (i < limit && i - h < 3 && ((buf[i] as number) - 48) >>> 0 < 10) i++;
  return i - h >= 1 && i - h <= 2 && i + 2 < limit && buf[i] === 0x3a && ((buf[i + 1] as number) - 48) >>> 0 < 10;
}

export class CandidateCollector {
  /** Valid BSN occurrences: value, line, record index. */
  readonly bsnValue = new IntList();
  readonly bsnLine = new IntList();
  readonly bsnRecord = new IntList();
  /** Name + birth date keys. */
  readonly keys = new KeyOccurrences();
  /** Records that hold a candidate: byte span in the chunk and categories known from their fields. */
  readonly recordStart = new IntList();
  readonly recordEnd = new IntList();
  readonly recordHint = new IntList();
  /** 8-digit values in columns not (yet) known to hold BSNs: kept until the column's verdict. */
  private readonly pendingValue = new IntList();
  private readonly pendingLine = new IntList();
  private readonly pendingRecord = new IntList();
  private readonly pendingColumn = new IntList();
  /** Per column: data rows with a valid 9-digit BSN in it, out of `rows`. */
  private readonly columnBsns = new Int32Array(MAX_COLUMNS);
  private rows = 0;

  private start = 0;
  private record = -1;
  private hint = 0;
  private readonly mark = new Int32Array(4);
  /** Columns of the current record holding a valid BSN (for the column verdicts). */
  private readonly bsnColumns = new Int32Array(8);
  private bsnColumnCount = 0;
  private readonly rec: RecordDates = {
    start: 0,
    end: 0,
    family: new Int32Array(2 * MAX_FAMILY_FIELDS),
    fullName: new Uint8Array(MAX_FAMILY_FIELDS),
    familyCount: 0,
    dates: new Int32Array(MAX_DATES),
    datePos: new Int32Array(MAX_DATES),
    dateLine: new Int32Array(MAX_DATES),
    dateBirth: new Uint8Array(MAX_DATES),
    dateCount: 0,
  };
  private readonly nameDates = new NameDateKeys();

  /**
   * A collector for the next work unit that takes over this one's column arrays, empty: a worker
   * scans one unit at a time, and each unit's collector would otherwise grow its columns afresh
   * (tens of megabytes of new pages per unit). This collector must not be used afterwards.
   */
  successor(): CandidateCollector {
    const next = new CandidateCollector();
    const mine = this.columns();
    next.columns().forEach((list, i) => {
      list.data = (mine[i] as IntList).data;
    });
    return next;
  }

  /** The columns a chunk's candidates are read from, in the order of the native scanner's output (collector.h COL_*). */
  outputColumns(): IntList[] {
    const k = this.keys;
    return [
      this.bsnValue,
      this.bsnLine,
      this.bsnRecord,
      k.h1,
      k.h2,
      k.date,
      k.from,
      k.to,
      k.line,
      k.record,
      this.recordStart,
      this.recordEnd,
      this.recordHint,
    ];
  }

  private columns(): IntList[] {
    return [...this.outputColumns(), this.pendingValue, this.pendingLine, this.pendingRecord, this.pendingColumn];
  }

  /** Starts a record at byte `start` of the chunk (on 1-based line `_line`: candidates carry their own). */
  begin(start: number, _line: number): void {
    this.start = start;
    this.record = -1;
    this.hint = 0;
    this.rec.familyCount = 0;
    this.rec.dateCount = 0;
    this.bsnColumnCount = 0;
    const m = this.mark;
    m[0] = this.bsnValue.length;
    m[1] = this.keys.length;
    m[2] = this.recordStart.length;
    m[3] = this.pendingValue.length;
  }

  /** Forgets the current record (it continues past the chunk and will be scanned again). */
  abandon(): void {
    const m = this.mark;
    for (const l of [this.bsnValue, this.bsnLine, this.bsnRecord]) l.truncate(m[0] as number);
    this.keys.truncate(m[1] as number);
    for (const l of [this.recordStart, this.recordEnd, this.recordHint]) l.truncate(m[2] as number);
    for (const l of [this.pendingValue, this.pendingLine, this.pendingRecord, this.pendingColumn]) l.truncate(m[3] as number);
    this.record = -1;
  }

  /**
   * A maximal digit run buf[s..e) on `line`, in a field with `role` (and CSV/SQL column `column`,
   * or -1). Returns where scanning continues: past a date or grouped BSN that starts here.
   */
  digits(buf: Uint8Array, s: number, e: number, limit: number, line: number, role: Role, column: number): number {
    const len = e - s;
    if (len === 9) {
      const v = bsnAt(buf, s);
      if (v >= 0) this.bsn(v, line, column);
      return e;
    }
    if (len === 8) {
      if (role === Role.Birth) this.date(compactDateAt(buf, s), s, line, role);
      else if (role === Role.Bsn) {
        const v = bsnLostZeroAt(buf, s);
        if (v >= 0) this.bsn(v, line, -1);
      } else if (column >= 0 && column < MAX_COLUMNS) {
        const v = bsnLostZeroAt(buf, s);
        if (v >= 0) this.pending(v, line, column);
      }
      return e;
    }
    if (len > 4) {
      // HL7 TS (PID-7) and some exports: yyyymmdd followed by a time. Fewer than 8 digits hold no
      // day (and reading 8 would take bytes past the run: stale ones at the end of a chunk).
      if (role === Role.Birth && len >= 8 && len <= 14 && len % 2 === 0) this.date(compactDateAt(buf, s), s, line, role);
      return e;
    }
    if (e >= limit) return e;
    const t = buf[e];
    if ((t === DASH || t === SLASH) && len !== 3) {
      const d = dateAt(buf, s, len, limit);
      if (d >= 0) {
        // A date with a time of day stamps an event (a log line, a collection), unless the field says birth date.
        if (role === Role.Birth || !isTimeAt(buf, dateEnd, limit)) this.date(d, s, line, role);
        return dateEnd;
      }
    } else if ((t === DOT || t === SPACE) && len >= 3) {
      const v = formattedBsnAt(buf, s, len, limit);
      if (v >= 0) {
        this.bsn(v, line, -1);
        return formattedBsnEnd;
      }
    }
    return e;
  }

  /** The value buf[s..e) of a name field of the current record: a family name, or (`full`) a whole name. */
  family(s: number, e: number, full = false): void {
    const r = this.rec;
    if (e <= s || r.familyCount >= MAX_FAMILY_FIELDS) return;
    r.family[2 * r.familyCount] = s;
    r.family[2 * r.familyCount + 1] = e;
    r.fullName[r.familyCount] = full ? 1 : 0;
    r.familyCount++;
    this.hint |= DataCategory.Names;
  }

  /** Counts a data row of a table (CSV, COPY, INSERT): the denominator of the column verdicts. */
  row(): void {
    this.rows++;
  }

  /** Ends the current record at byte `end`. */
  end(buf: Buffer, end: number): void {
    const r = this.rec;
    for (let i = 0; i < this.bsnColumnCount; i++) {
      const col = this.bsnColumns[i] as number;
      this.columnBsns[col] = (this.columnBsns[col] as number) + 1;
    }
    if (r.dateCount > 0) {
      r.start = this.start;
      r.end = end;
      const n = this.nameDates.build(buf, r, this.keys);
      if (n > 0) {
        const rec = this.register();
        for (let i = 0; i < n; i++) this.keys.record.push(rec);
      }
    }
    if (this.record >= 0) {
      this.recordEnd.set(this.record, end);
      this.recordHint.set(this.record, this.hint);
    }
    this.record = -1;
  }

  /** Moves 8-digit values of columns that turned out to hold BSNs to the BSN candidates. Call before matching a chunk. */
  settleColumns(): void {
    for (let i = 0; i < this.pendingValue.length; i++) {
      const c = this.pendingColumn.get(i);
      const bsns = this.columnBsns[c] as number;
      if (bsns === 0 || 2 * bsns < this.rows) continue;
      this.bsnValue.push(this.pendingValue.get(i));
      this.bsnLine.push(this.pendingLine.get(i));
      this.bsnRecord.push(this.pendingRecord.get(i));
    }
    this.pendingValue.clear();
    this.pendingLine.clear();
    this.pendingRecord.clear();
    this.pendingColumn.clear();
  }

  /** Empties the per-chunk columns (column statistics stay: they are per file). */
  clearChunk(): void {
    for (const l of [this.bsnValue, this.bsnLine, this.bsnRecord]) l.clear();
    this.keys.clear();
    for (const l of [this.recordStart, this.recordEnd, this.recordHint]) l.clear();
  }

  private register(): number {
    if (this.record < 0) {
      this.record = this.recordStart.length;
      this.recordStart.push(this.start);
      this.recordEnd.push(this.start);
      this.recordHint.push(0);
    }
    return this.record;
  }

  private bsn(v: number, line: number, column: number): void {
    const rec = this.register();
    this.bsnValue.push(v);
    this.bsnLine.push(line);
    this.bsnRecord.push(rec);
    this.hint |= DataCategory.NationalId;
    if (column >= 0 && column < MAX_COLUMNS && this.bsnColumnCount < this.bsnColumns.length) {
      for (let i = 0; i < this.bsnColumnCount; i++) if (this.bsnColumns[i] === column) return;
      this.bsnColumns[this.bsnColumnCount++] = column;
    }
  }

  private pending(v: number, line: number, column: number): void {
    this.pendingValue.push(v);
    this.pendingLine.push(line);
    this.pendingRecord.push(this.register());
    this.pendingColumn.push(column);
  }

  private date(packed: number, pos: number, line: number, role: Role): void {
    const r = this.rec;
    if (packed < 0 || r.dateCount >= MAX_DATES) return;
    const i = r.dateCount++;
    r.dates[i] = packed;
    r.datePos[i] = pos;
    r.dateLine[i] = line;
    r.dateBirth[i] = role === Role.Birth ? 1 : 0;
    // A date in a field named for something else (a collection date) is not a birth date.
    if (role === Role.Birth || role === Role.None) this.hint |= DataCategory.BirthDates;
  }

  /** Whether the current record has a date (so its family-name fields are worth reporting). */
  get hasDates(): boolean {
    return this.rec.dateCount > 0;
  }
}

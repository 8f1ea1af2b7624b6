import { ByteSet, type ByteEvents } from './byte-events.js';
import type { CandidateCollector } from './candidate-collector.js';
import { isNameRole, Role, RoleCache } from './field-role.js';
import { CR, LF, ScanMode, type FormatScanner } from './format-scanner.js';
import { learnXmlRecordDepth } from './xml-record-depth.js';
import { runEnd } from './run-end.js';

/**
 * XML. A record is an element at the record depth learned from the first chunk
 * (xml-record-depth.ts: the repeated element, e.g. `<patient>` or a Bundle's `<entry>`), with all
 * its descendants; what lies between records is a record of its own. A value is named by its
 * element, or by its attribute — except FHIR's `value="…"`, named by its element
 * (`<birthDate value="1980-03-12"/>`). Comments and CDATA are scanned as text; processing
 * instructions and doctypes are skipped.
 */
const TEXT = 0;
const TAG = 1;
const VALUE = 2;
const MAX_DEPTH = 512;
const MAX_FIELDS = 32;
const LT = 0x3c;
const GT = 0x3e;
const EQUALS = 0x3d;
const SET = new ByteSet([LT, GT, EQUALS, 0x22, 0x27, LF, CR]);

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === LF || b === CR;
}

function startsWith(buf: Buffer, at: number, s: string): boolean {
  for (let i = 0; i < s.length; i++) if (buf[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

export class XmlScanner implements FormatScanner {
  lines = 0;
  private recordDepth = 0;
  private depth = 0;
  private state = TEXT;
  private inRecord = false;
  private readonly nameStart = new Int32Array(MAX_DEPTH + 1);
  private readonly nameEnd = new Int32Array(MAX_DEPTH + 1);
  private readonly fields = new Int32Array(4 * MAX_FIELDS);
  private fieldCount = 0;
  private readonly roles = new RoleCache();
  // The tag being read: closing?, its "<", the attribute before the "=", the value's quote.
  private closing = false;
  private tagStart = 0;
  private attrStart = -1;
  private attrEnd = -1;
  private quote = 0;
  private valueStart = 0;
  private textStart = 0;

  constructor(
    private readonly c: CandidateCollector,
    private readonly events: ByteEvents,
  ) {}

  scan(buf: Buffer, from: number, to: number, mode: ScanMode): number {
    if (this.recordDepth === 0) this.recordDepth = learnXmlRecordDepth(buf, from, to, mode === ScanMode.End);
    this.nameStart.fill(-1);
    this.nameEnd.fill(-1);
    const n = this.events.scan(from, to, SET);
    const ev = this.events.ev;
    const c = this.c;
    let line = this.lines;
    let recStart = from;
    let recLine = line;
    let recDepth = this.depth;
    let recIn = this.inRecord;
    let recState = this.state;
    c.begin(from, line + 1);
    this.fieldCount = 0;
    this.textStart = from;
    this.attrStart = this.attrEnd = -1;
    let resume = from;
    let skipUntil = from;
    for (let k = 0; k < n; k++) {
      if (this.boundary >= 0) {
        // A record (or the stretch after one) began at the last tag: the state to come back to.
        recStart = this.boundary;
        recLine = this.boundaryLine;
        recDepth = this.boundaryDepth;
        recIn = false;
        recState = TEXT;
        this.boundary = -1;
      }
      const e = ev[k] as number;
      const pos = e >>> 7;
      if (pos < resume) continue;
      const run = e & 127;
      if (run !== 0) {
        const end = runEnd(buf, pos, run, to);
        if (end === to && mode === ScanMode.Partial) break;
        const role = this.state === VALUE ? this.attrRole(buf) : this.state === TEXT ? this.elementRole(buf) : Role.None;
        resume = c.digits(buf, pos, end, to, line + 1, role, -1);
        continue;
      }
      const b = buf[pos] as number;
      if (b === LF || b === CR) {
        if (b === CR && pos + 1 >= to && mode === ScanMode.Partial) break;
        if (b === LF || buf[pos + 1] !== LF) line++;
        continue;
      }
      // Inside a comment, CDATA, doctype or PI: digits and line breaks count, nothing else.
      if (pos < skipUntil) continue;
      if (this.state === TEXT) {
        if (b !== LT) continue;
        if (pos + 9 >= to && mode === ScanMode.Partial) break;
        this.textField(buf, pos);
        const next = buf[pos + 1];
        if (next === 0x21 || next === 0x3f) {
          // Comment or CDATA: their text is scanned (only its structure is skipped); doctype, PI: skipped.
          const comment = startsWith(buf, pos, '<!--');
          const cdata = startsWith(buf, pos, '<![CDATA[');
          const close = buf.indexOf(comment ? '-->' : cdata ? ']]>' : '>', pos + 2);
          if (close < 0) {
            if (mode === ScanMode.Partial) break;
            skipUntil = to;
            continue;
          }
          skipUntil = close + (comment || cdata ? 3 : 1);
          this.textStart = skipUntil;
          continue;
        }
        this.tagStart = pos;
        this.closing = next === 0x2f;
        let i = this.closing ? pos + 2 : pos + 1;
        const nameStart = i;
        while (i < to && !isSpace(buf[i] as number) && buf[i] !== GT && buf[i] !== 0x2f) i++;
        if (i === to && mode === ScanMode.Partial) break;
        if (!this.closing) this.openElement(buf, nameStart, i, line);
        this.state = TAG;
        this.attrStart = this.attrEnd = -1;
        continue;
      }
      if (this.state === TAG) {
        if (b === GT) {
          if (this.closing || buf[pos - 1] === 0x2f) this.closeElement(buf, pos + 1, line);
          this.state = TEXT;
          this.textStart = pos + 1;
        } else if (b === EQUALS) {
          let i = pos;
          while (i > this.tagStart && isSpace(buf[i - 1] as number)) i--;
          this.attrEnd = i;
          while (i > this.tagStart && !isSpace(buf[i - 1] as number)) i--;
          this.attrStart = i;
        } else if (b === 0x22 || b === 0x27) {
          this.quote = b;
          this.valueStart = pos + 1;
          this.state = VALUE;
        }
        continue;
      }
      // VALUE: until its closing quote.
      if (b === this.quote) {
        this.attrField(buf, pos);
        this.state = TAG;
      }
    }
    if (this.boundary >= 0) {
      recStart = this.boundary;
      recLine = this.boundaryLine;
      recDepth = this.boundaryDepth;
      recIn = false;
      recState = TEXT;
      this.boundary = -1;
    }
    if (mode === ScanMode.Partial && recStart < to) {
      // The record (or the stretch between records) at recStart goes on in the next chunk.
      c.abandon();
      this.lines = recLine;
      this.depth = recDepth;
      this.inRecord = recIn;
      this.state = recState;
      return recStart;
    }
    if (this.state === TEXT) this.textField(buf, to);
    this.endRecord(buf, to);
    this.lines = line;
    if (mode === ScanMode.End) {
      this.depth = 0;
      this.inRecord = false;
      this.state = TEXT;
    }
    return to;
  }

  /** Where a record (or the stretch after one) began in the tag just read, for the snapshot; -1 if none. */
  private boundary = -1;
  private boundaryLine = 0;
  private boundaryDepth = 0;

  private openElement(buf: Buffer, s: number, e: number, line: number): void {
    if (!this.inRecord && this.depth === this.recordDepth - 1) {
      this.endRecord(buf, this.tagStart);
      this.inRecord = true;
      this.c.begin(this.tagStart, line + 1);
      this.boundary = this.tagStart;
      this.boundaryLine = line;
      this.boundaryDepth = this.depth;
    }
    if (this.depth < MAX_DEPTH) this.depth++;
    this.nameStart[this.depth] = s;
    this.nameEnd[this.depth] = e;
  }

  /** An element closes at `end` (after its ">"): pops it, and ends the record when it was one. */
  private closeElement(buf: Buffer, end: number, line: number): void {
    if (this.depth > 0) this.depth--;
    if (this.inRecord && this.depth === this.recordDepth - 1) {
      this.endRecord(buf, end);
      this.inRecord = false;
      this.c.begin(end, line + 1);
      this.boundary = end;
      this.boundaryLine = line;
      this.boundaryDepth = this.depth;
    }
  }

  private elementRole(buf: Buffer): Role {
    const s = this.nameStart[this.depth] as number;
    const e = this.nameEnd[this.depth] as number;
    return s < 0 || e <= s ? Role.None : this.roles.roleOf(buf, s, e);
  }

  private isValueAttr(buf: Buffer): boolean {
    const a = this.attrStart;
    return a >= 0 && this.attrEnd - a === 5 && startsWith(buf, a, 'value');
  }

  /** Attribute values are named by the attribute, FHIR's value="…" by its element. */
  private attrRole(buf: Buffer): Role {
    if (this.attrStart < 0 || this.isValueAttr(buf)) return this.elementRole(buf);
    return this.attrEnd > this.attrStart ? this.roles.roleOf(buf, this.attrStart, this.attrEnd) : Role.None;
  }

  private textField(buf: Buffer, end: number): void {
    const s = this.textStart;
    if (end > s && this.fieldCount < MAX_FIELDS && ((buf[s] as number) | 0x20) >= 0x61)
      this.field(this.nameStart[this.depth] as number, this.nameEnd[this.depth] as number, s, end);
  }

  private attrField(buf: Buffer, end: number): void {
    const s = this.valueStart;
    if (end <= s || this.fieldCount >= MAX_FIELDS || ((buf[s] as number) | 0x20) < 0x61) return;
    if (this.attrStart < 0 || this.isValueAttr(buf))
      this.field(this.nameStart[this.depth] as number, this.nameEnd[this.depth] as number, s, end);
    else this.field(this.attrStart, this.attrEnd, s, end);
  }

  private field(ks: number, ke: number, s: number, e: number): void {
    if (ks < 0 || ke <= ks) return;
    const f = 4 * this.fieldCount++;
    this.fields[f] = ks;
    this.fields[f + 1] = ke;
    this.fields[f + 2] = s;
    this.fields[f + 3] = e;
  }

  private endRecord(buf: Buffer, end: number): void {
    if (this.c.hasDates)
      for (let f = 0; f < 4 * this.fieldCount; f += 4) {
        const role = this.roles.roleOf(buf, this.fields[f] as number, this.fields[f + 1] as number);
        if (isNameRole(role)) this.c.family(this.fields[f + 2] as number, this.fields[f + 3] as number, role === Role.FullName);
      }
    this.fieldCount = 0;
    this.c.end(buf, end);
  }
}

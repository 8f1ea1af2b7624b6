import { ByteSet, type ByteEvents } from './byte-events.js';
import type { CandidateCollector } from './candidate-collector.js';
import { isNameRole, Role, RoleCache } from './field-role.js';
import { CR, LF, ScanMode, type FormatScanner } from './format-scanner.js';
import { learnJsonListDepth, ROOT_VALUES } from './json-list-depth.js';
import { runEnd } from './run-end.js';

/**
 * JSON: NDJSON (a record per top-level value) and documents, pretty-printed or on one line. In a
 * document the records are the objects of the list that holds the data — the shallowest array of
 * two or more objects, learned from the first chunk (json-list-depth.ts): `[{…},{…}]`,
 * `{"patients":[…]}`, a FHIR Bundle's `entry`. A value of a deeper array met outside any record
 * is a record too, so a document whose first list is a header (`{"sources":[…],"data":{"patients":
 * […]}}`) still has its patients as records. Everything of one record stays together however
 * deeply nested (a FHIR Patient's identifier, name and birthDate); what lies between records (a
 * Bundle's header) is a record of its own. Fields are named by their key (values in an array by
 * the array's key); roles are looked up only where they matter, so keys cost no strings.
 */
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MAX_DEPTH = 512;
const MAX_FIELDS = 32;
const OBJ = 1;
const ARR = 2;
const SET = new ByteSet([QUOTE, BACKSLASH, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x2c, LF, CR]);

export class JsonScanner implements FormatScanner {
  lines = 0;
  /** Depth of the arrays whose objects are records; ROOT_VALUES: each top-level value is one. */
  private listDepth: number | null;
  private depth = 0;
  private readonly kind = new Uint8Array(MAX_DEPTH + 1);
  private readonly expectKey = new Uint8Array(MAX_DEPTH + 1);
  /** Span of the key that names values at each depth (-1: not in this chunk). */
  private readonly keyStart = new Int32Array(MAX_DEPTH + 1);
  private readonly keyEnd = new Int32Array(MAX_DEPTH + 1);
  private inRecord = false;
  /** Depth at which the current record's value opened (its close ends the record). */
  private recordDepth = 0;
  /** String values of the current record that may be names: key span, value span. */
  private readonly fields = new Int32Array(4 * MAX_FIELDS);
  private fieldCount = 0;
  private readonly roles = new RoleCache();
  private inString = false;

  constructor(
    private readonly c: CandidateCollector,
    private readonly events: ByteEvents,
    /** NDJSON: records are top-level values, nothing to learn. */
    lineDelimited: boolean,
  ) {
    this.listDepth = lineDelimited ? ROOT_VALUES : null;
  }

  scan(buf: Buffer, from: number, to: number, mode: ScanMode): number {
    this.listDepth ??= learnJsonListDepth(buf, from, to);
    const list = this.listDepth;
    this.keyStart.fill(-1);
    this.keyEnd.fill(-1);
    const n = this.events.scan(from, to, SET);
    const ev = this.events.ev;
    const c = this.c;
    const kinds = this.kind;
    const expect = this.expectKey;
    let line = this.lines;
    // Where the current record (or the stretch between records) started, and the state there.
    let recStart = from;
    let recLine = line;
    let recDepth = this.depth;
    let recExpect = expect[this.depth] as number;
    let recIn = this.inRecord;
    let recStr = this.inString;
    c.begin(from, line + 1);
    this.fieldCount = 0;
    let inStr = this.inString;
    let strStart = from;
    let isKey = false;
    let resume = from;
    let k = 0;
    for (; k < n; k++) {
      const e = ev[k] as number;
      const pos = e >>> 7;
      if (pos < resume) continue;
      const run = e & 127;
      if (run !== 0) {
        const end = runEnd(buf, pos, run, to);
        if (end === to && mode === ScanMode.Partial) break;
        resume = c.digits(buf, pos, end, to, line + 1, this.roleForRun(buf, pos, end, to), -1);
        continue;
      }
      const b = buf[pos] as number;
      if (b === LF || b === CR) {
        if (b === CR && pos + 1 >= to && mode === ScanMode.Partial) break;
        if (b === LF || buf[pos + 1] !== LF) line++;
        continue;
      }
      if (inStr) {
        if (b === BACKSLASH) {
          if (pos + 1 >= to && mode === ScanMode.Partial) break;
          resume = pos + 2;
        } else if (b === QUOTE) {
          inStr = false;
          const d = this.depth;
          if (isKey) {
            this.keyStart[d] = strStart;
            this.keyEnd[d] = pos;
          } else if (this.fieldCount < MAX_FIELDS && pos > strStart && ((buf[strStart] as number) | 0x20) >= 0x61)
            this.field(strStart, pos);
        }
        continue;
      }
      if (b === QUOTE) {
        inStr = true;
        strStart = pos + 1;
        isKey = kinds[this.depth] === OBJ && expect[this.depth] === 1;
      } else if (b === 0x3a) expect[this.depth] = 0;
      else if (b === 0x2c) expect[this.depth] = kinds[this.depth] === OBJ ? 1 : 0;
      else if (b === 0x7b || b === 0x5b) {
        const d = this.depth;
        // A record: a value of the record list (at the learned depth), or a value of a deeper
        // array met outside any record (a document whose first list was not its records; a row
        // of cells, `[[{…},{…}],…]`, stays one record).
        const starts = list === ROOT_VALUES ? d === 0 : kinds[d] === ARR && d >= list;
        if (!this.inRecord && starts) {
          this.endRecord(buf, pos);
          recStart = pos;
          recLine = line;
          recDepth = d;
          recExpect = expect[d] as number;
          recIn = false;
          recStr = false;
          this.inRecord = true;
          this.recordDepth = d;
          c.begin(pos, line + 1);
        }
        if (d < MAX_DEPTH) {
          this.depth = d + 1;
          kinds[d + 1] = b === 0x7b ? OBJ : ARR;
          expect[d + 1] = b === 0x7b ? 1 : 0;
          // Values in an array are named by the array's key.
          this.keyStart[d + 1] = b === 0x5b ? (this.keyStart[d] as number) : -1;
          this.keyEnd[d + 1] = b === 0x5b ? (this.keyEnd[d] as number) : -1;
        }
      } else {
        // } or ]
        if (this.depth > 0) this.depth--;
        if (this.inRecord && this.depth === this.recordDepth) {
          this.endRecord(buf, pos + 1);
          this.inRecord = false;
          recStart = pos + 1;
          recLine = line;
          recDepth = this.depth;
          recExpect = expect[this.depth] as number;
          recIn = false;
          recStr = false;
          c.begin(pos + 1, line + 1);
        }
      }
    }
    if (mode === ScanMode.Partial && recStart < to) {
      // The record (or the stretch between records) at recStart goes on in the next chunk.
      c.abandon();
      this.lines = recLine;
      this.depth = recDepth;
      expect[recDepth] = recExpect;
      this.inRecord = recIn;
      this.inString = recStr;
      return recStart;
    }
    this.endRecord(buf, to);
    this.lines = line;
    this.inString = mode === ScanMode.End ? false : inStr;
    if (mode === ScanMode.End) {
      this.depth = 0;
      this.inRecord = false;
    }
    return to;
  }

  private field(s: number, e: number): void {
    const f = 4 * this.fieldCount++;
    this.fields[f] = this.keyStart[this.depth] as number;
    this.fields[f + 1] = this.keyEnd[this.depth] as number;
    this.fields[f + 2] = s;
    this.fields[f + 3] = e;
  }

  private endRecord(buf: Buffer, end: number): void {
    // Family-name fields matter only when the record has a date to pair them with.
    if (this.c.hasDates)
      for (let f = 0; f < 4 * this.fieldCount; f += 4) {
        const ks = this.fields[f] as number;
        const role = ks < 0 ? Role.None : this.roles.roleOf(buf, ks, this.fields[f + 1] as number);
        if (isNameRole(role)) this.c.family(this.fields[f + 2] as number, this.fields[f + 3] as number, role === Role.FullName);
      }
    this.fieldCount = 0;
    this.c.end(buf, end);
  }

  /** The role of the current key, looked up only for runs whose meaning depends on it. */
  private roleForRun(buf: Buffer, s: number, e: number, to: number): Role {
    const len = e - s;
    const next = e < to ? buf[e] : 0;
    if (len === 8 || (len > 8 && len <= 14) || (len <= 4 && (next === 0x2d || next === 0x2f))) {
      const ks = this.keyStart[this.depth] as number;
      return ks < 0 ? Role.None : this.roles.roleOf(buf, ks, this.keyEnd[this.depth] as number);
    }
    return Role.None;
  }
}

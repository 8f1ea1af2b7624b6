import { ByteSet, type ByteEvents } from './byte-events.js';
import type { CandidateCollector } from './candidate-collector.js';
import { Role } from './field-role.js';
import { CR, LF, ScanMode, type FormatScanner } from './format-scanner.js';
import { runEnd } from './run-end.js';

/**
 * HL7 v2 (ER7): a record is a message, from an MSH segment to the next; segments end at \r, \n or
 * \r\n (each counts as a line). In PID, field 3 component 1 is an identifier (an 8-digit value
 * there is a BSN that lost its zero — PID-3 also holds hospital numbers, so such a value is only a
 * candidate, matched like any other), field 5 component 1 the family name (each subcomponent a
 * part: the Dutch "Vries&de&Vries" form) and field 7 the birth date (TS: yyyymmdd…). Every other
 * digit run is scanned as in plain text. MLLP framing bytes are skipped.
 */
const FIELD = 0x7c;
const COMPONENT = 0x5e;
const SUB = 0x26;
const REPEAT = 0x7e;
const SET = new ByteSet([FIELD, COMPONENT, SUB, REPEAT, LF, CR]);

export class Hl7Scanner implements FormatScanner {
  lines = 0;

  constructor(
    private readonly c: CandidateCollector,
    private readonly events: ByteEvents,
  ) {}

  scan(buf: Buffer, from: number, to: number, mode: ScanMode): number {
    const n = this.events.scan(from, to, SET);
    const ev = this.events.ev;
    const c = this.c;
    let line = this.lines;
    let recStart = from;
    let recLine = line;
    c.begin(from, line + 1);
    let pid = false;
    let field = 0;
    let component = 1;
    let partStart = from;
    let resume = from;
    let segStart = from;
    let atSegment = true;
    let broke = false;
    for (let k = 0; ; k++) {
      if (atSegment) {
        atSegment = false;
        let s = segStart;
        while (s < to && (buf[s] === 0x0b || buf[s] === 0x1c)) s++;
        if (s + 3 > to && mode === ScanMode.Partial) {
          broke = true;
          break;
        }
        if (buf[s] === 0x4d && buf[s + 1] === 0x53 && buf[s + 2] === 0x48 && s > recStart) {
          c.end(buf, s);
          recStart = s;
          recLine = line;
          c.begin(s, line + 1);
        }
        pid = buf[s] === 0x50 && buf[s + 1] === 0x49 && buf[s + 2] === 0x44;
        field = 0;
        component = 1;
        partStart = s;
      }
      if (k >= n) break;
      const e = ev[k] as number;
      const pos = e >>> 7;
      if (pos < resume) continue;
      const run = e & 127;
      if (run !== 0) {
        const end = runEnd(buf, pos, run, to);
        if (end === to && mode === ScanMode.Partial) {
          broke = true;
          break;
        }
        const role = !pid ? Role.None : field === 3 && component === 1 ? Role.Bsn : field === 7 ? Role.Birth : Role.None;
        resume = c.digits(buf, pos, end, to, line + 1, role, -1);
        continue;
      }
      const b = buf[pos] as number;
      if (b === LF || b === CR) {
        if (b === CR && pos + 1 >= to && mode === ScanMode.Partial) {
          broke = true;
          break;
        }
        this.part(pid, field, component, partStart, pos);
        if (b === CR && buf[pos + 1] === LF) continue;
        line++;
        segStart = pos + 1;
        atSegment = true;
        continue;
      }
      this.part(pid, field, component, partStart, pos);
      if (b === FIELD) {
        field++;
        component = 1;
      } else if (b === COMPONENT) component++;
      else if (b === REPEAT) component = 1;
      partStart = pos + 1;
    }
    if (broke || mode === ScanMode.Partial) {
      // The message at recStart may go on: its end is the next MSH, not in this chunk yet.
      c.abandon();
      this.lines = recLine;
      return recStart;
    }
    c.end(buf, to);
    this.lines = line;
    return to;
  }

  /** A (sub)component value ended: PID-5.1 parts are family-name parts. */
  private part(pid: boolean, field: number, component: number, s: number, e: number): void {
    if (pid && field === 5 && component === 1 && e > s) this.c.family(s, e);
  }
}

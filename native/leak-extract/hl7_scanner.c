/* hl7-scanner.ts: HL7 v2 messages (MSH to MSH); PID-3.1 BSN role, PID-5.1 family parts, PID-7 birth date. */
#include "scanner.h"

#define FIELD 0x7c
#define COMPONENT 0x5e
#define SUB 0x26
#define REPEAT 0x7e

void hl7_init(Scanner *sc) {
  static const int set[] = {FIELD, COMPONENT, SUB, REPEAT, LF, CR};
  byteset_init(&sc->set, set, 6);
}

/* A (sub)component value ended: PID-5.1 parts are family-name parts. */
static inline void part(Collector *c, int pid, int field, int component, i32 s, i32 e) {
  if (pid && field == 5 && component == 1 && e > s) coll_family(c, s, e, 0);
}

i32 hl7_scan(Scanner *sc, i32 from, i32 to, int mode) {
  Collector *c = &sc->c;
  const Bytes *B = &c->b;
  const u8 *buf = B->p;
  i32 n = events_scan(&sc->ev, buf, from, to, &sc->set);
  const i32 *evPos = sc->ev.pos;
  const u8 *evKind = sc->ev.kind;
  i32 line = sc->lines;
  i32 recStart = from, recLine = line;
  coll_begin(c, from);
  int pid = 0, field = 0, component = 1;
  i32 partStart = from, resume = from, segStart = from;
  int atSegment = 1, broke = 0;
  for (i32 k = 0;; k++) {
    if (atSegment) {
      atSegment = 0;
      i32 s = segStart;
      while (s < to && (buf[s] == 0x0b || buf[s] == 0x1c)) s++;
      if (s + 3 > to && mode == MODE_PARTIAL) {
        broke = 1;
        break;
      }
      if (at(B, s) == 0x4d && at(B, s + 1) == 0x53 && at(B, s + 2) == 0x48 && s > recStart) {
        coll_end(c, s);
        recStart = s;
        recLine = line;
        coll_begin(c, s);
      }
      pid = at(B, s) == 0x50 && at(B, s + 1) == 0x49 && at(B, s + 2) == 0x44;
      field = 0;
      component = 1;
      partStart = s;
    }
    if (k >= n) break;
    i32 pos = evPos[k];
    if (pos < resume) continue;
    int run = evKind[k];
    if (run != 0) {
      i32 end = run_end(buf, pos, run, to);
      if (end == to && mode == MODE_PARTIAL) {
        broke = 1;
        break;
      }
      int role = !pid ? ROLE_NONE : field == 3 && component == 1 ? ROLE_BSN : field == 7 ? ROLE_BIRTH : ROLE_NONE;
      resume = coll_digits(c, pos, end, to, line + 1, role, -1);
      continue;
    }
    int b = buf[pos];
    if (b == LF || b == CR) {
      if (b == CR && pos + 1 >= to && mode == MODE_PARTIAL) {
        broke = 1;
        break;
      }
      part(c, pid, field, component, partStart, pos);
      if (b == CR && at(B, pos + 1) == LF) continue;
      line++;
      segStart = pos + 1;
      atSegment = 1;
      continue;
    }
    part(c, pid, field, component, partStart, pos);
    if (b == FIELD) {
      field++;
      component = 1;
    } else if (b == COMPONENT) component++;
    else if (b == REPEAT) component = 1;
    partStart = pos + 1;
  }
  if (broke || mode == MODE_PARTIAL) {
    /* The message at recStart may go on: its end is the next MSH, not in this chunk yet. */
    coll_abandon(c);
    sc->lines = recLine;
    return recStart;
  }
  coll_end(c, to);
  sc->lines = line;
  return to;
}

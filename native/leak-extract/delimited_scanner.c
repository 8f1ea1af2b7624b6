/* delimited-scanner.ts: CSV/TSV with any delimiter (RFC 4180 quotes) and plain text (delimiter -1: a record per line). */
#include "scanner.h"

#define QUOTE 0x22

void delimited_init(Scanner *sc, int delimiter, int midFile) {
  DelimitedState *d = &sc->u.csv;
  memset(d, 0, sizeof *d);
  d->delimiter = delimiter;
  int set[4] = {LF, CR, delimiter, QUOTE};
  byteset_init(&sc->set, set, delimiter >= 0 ? 4 : 2);
  d->headerPending = delimiter >= 0 && !midFile;
}

/* Letters and no run of 4 or more digits: column names, not data. */
static int looks_like_header(const u8 *buf, i32 s, i32 e) {
  int letters = 0, run = 0;
  for (i32 i = s; i < e; i++) {
    int b = buf[i];
    if (is_digit(b)) {
      if (++run >= 4) return 0;
    } else {
      run = 0;
      if ((b | 0x20) >= 97 && (b | 0x20) <= 122) letters++;
    }
  }
  return letters > 0;
}

static void read_header(Scanner *sc, i32 s, i32 e) {
  DelimitedState *d = &sc->u.csv;
  u8 roles[MAX_COLUMNS];
  int n = sc->roles.list_roles(sc->roles.ctx, LIST_CSV_HEADER, s, e, roles, MAX_COLUMNS);
  if (n < 0) {
    sc->failed = 1;
    return;
  }
  /* As the JavaScript: names past the header's last keep their (earlier) roles. */
  for (int i = 0; i < n; i++) d->roles[i] = roles[i];
  for (int i = 0; i < MAX_COLUMNS; i++) d->nameColumn[i] = is_name_role(d->roles[i]);
}

void delimited_use_header(Scanner *sc, i32 s, i32 e) {
  sc->u.csv.headerPending = 0;
  if (looks_like_header(sc->c.b.p, s, e)) read_header(sc, s, e);
}

static void family(Scanner *sc, i32 s, i32 e, int col) {
  const u8 *buf = sc->c.b.p;
  int full = sc->u.csv.roles[col] == ROLE_FULL;
  if (e - s >= 2 && buf[s] == QUOTE && buf[e - 1] == QUOTE) coll_family(&sc->c, s + 1, e - 1, full);
  else coll_family(&sc->c, s, e, full);
}

static void end_record(Scanner *sc, i32 recStart, i32 fieldStart, i32 end, int col) {
  DelimitedState *d = &sc->u.csv;
  if (d->headerPending) {
    d->headerPending = 0;
    if (looks_like_header(sc->c.b.p, recStart, end)) {
      coll_abandon(&sc->c);
      read_header(sc, recStart, end);
      return;
    }
  }
  if (d->nameColumn[col] == 1) family(sc, fieldStart, end, col);
  if (d->delimiter >= 0 && end > recStart) coll_row(&sc->c);
  coll_end(&sc->c, end);
}

i32 delimited_scan(Scanner *sc, i32 from, i32 to, int mode) {
  DelimitedState *d = &sc->u.csv;
  Collector *c = &sc->c;
  const u8 *buf = c->b.p;
  i32 n = events_scan(&sc->ev, buf, from, to, &sc->set);
  const i32 *evPos = sc->ev.pos;
  const u8 *evKind = sc->ev.kind;
  const int delimiter = d->delimiter;
  const int delimited = delimiter >= 0;
  i32 line = sc->lines;
  i32 recStart = from, recLine = line;
  int col = 0;
  i32 fieldStart = from;
  int inQ = 0;
  if (d->continuing) {
    col = d->columnAtCut;
    inQ = d->inQuoteAtCut;
    d->continuing = 0;
  }
  const int startCol = col, startInQuote = inQ;
  coll_begin(c, from);
  /* Events before `resume` lie inside a date or grouped BSN already read. */
  i32 resume = from;
  for (i32 k = 0; k < n; k++) {
    i32 pos = evPos[k];
    if (pos < resume) continue;
    int kind = evKind[k];
    if (kind != 0) {
      i32 end = run_end(buf, pos, kind, to);
      if (end == to && mode == MODE_PARTIAL) break;
      int role = delimited && col < MAX_COLUMNS ? d->roles[col] : ROLE_NONE;
      resume = coll_digits(c, pos, end, to, line + 1, role, delimited ? col : -1);
      continue;
    }
    int b = buf[pos];
    if (b == delimiter) {
      if (!inQ) {
        if (d->nameColumn[col] == 1) family(sc, fieldStart, pos, col);
        if (col < MAX_COLUMNS) col++;
        fieldStart = pos + 1;
      }
      continue;
    }
    if (b == QUOTE) {
      if (!inQ) {
        if (pos == fieldStart) inQ = 1;
      } else if (pos + 1 >= to) {
        if (mode == MODE_PARTIAL) break;
      } else if (buf[pos + 1] == QUOTE) resume = pos + 2;
      else inQ = 0;
      continue;
    }
    /* Line break: \n, \r\n (counted at the \n) or a lone \r. */
    if (b == CR) {
      if (pos + 1 >= to) {
        if (mode == MODE_PARTIAL) break;
      } else if (buf[pos + 1] == LF) continue;
    }
    line++;
    if (inQ) continue;
    i32 end = b == LF && pos > recStart && buf[pos - 1] == CR ? pos - 1 : pos;
    end_record(sc, recStart, fieldStart, end, col);
    recStart = pos + 1;
    recLine = line;
    col = 0;
    fieldStart = recStart;
    coll_begin(c, recStart);
  }
  if (mode == MODE_PARTIAL && recStart < to) {
    /* The record at recStart has no line break yet: it goes on in the next chunk. */
    coll_abandon(c);
    sc->lines = recLine;
    if (recStart == from && (startCol != 0 || startInQuote)) {
      d->continuing = 1;
      d->columnAtCut = startCol;
      d->inQuoteAtCut = startInQuote;
    }
    return recStart;
  }
  if (mode == MODE_CUT) {
    d->continuing = 1;
    d->inQuoteAtCut = inQ;
    d->columnAtCut = col;
    coll_end(c, to);
  } else {
    if (recStart < to) end_record(sc, recStart, fieldStart, to, col);
    if (mode == MODE_END) sc->endsInsideRecord = inQ;
  }
  sc->lines = line;
  return to;
}

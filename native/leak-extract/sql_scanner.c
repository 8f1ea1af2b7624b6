/* sql-scanner.ts: INSERT … VALUES tuples, COPY … FROM stdin rows, every other line as text. */
#include "scanner.h"
#include "sql_statement.h"

#define M_LINE 0
#define M_INSERT 1
#define M_COPY 2
#define TAB 0x09
#define QUOTE 0x27
#define BACKSLASH 0x5c

void sql_init(Scanner *sc, int midFile) {
  SqlState *q = &sc->u.sql;
  memset(q, 0, sizeof *q);
  q->mode = M_LINE;
  q->guessCopy = midFile;
  q->lastHeadLen = -1;
  static const int set[] = {TAB, LF, CR, 0x28, 0x29, 0x2c, QUOTE, BACKSLASH, 0x3b};
  byteset_init(&sc->set, set, 9);
}

void sql_free(Scanner *sc) {
  free(sc->u.sql.lastHead);
  sc->u.sql.lastHead = NULL;
}

/* setColumns(statementColumns(buf, s, e)), or setColumns([]) when s < 0. */
static void set_columns(Scanner *sc, i32 s, i32 e) {
  SqlState *q = &sc->u.sql;
  q->lastHeadLen = -1;
  memset(q->roles, 0, sizeof q->roles);
  if (s >= 0) {
    int n = sc->roles.list_roles(sc->roles.ctx, LIST_SQL_COLUMNS, s, e, q->roles, MAX_COLUMNS);
    if (n < 0) sc->failed = 1;
  }
  q->hasFamily = 0;
  for (int i = 0; i < MAX_COLUMNS; i++)
    if (is_name_role(q->roles[i])) q->hasFamily = 1;
}

void sql_use_header(Scanner *sc, i32 s, i32 e) {
  SqlState *q = &sc->u.sql;
  const Bytes *b = &sc->c.b;
  i32 values = insert_values(b, s, e);
  if (values > 0) {
    set_columns(sc, s, values);
    q->mode = M_INSERT;
  } else if (is_copy_from_stdin(b, s, e) == 1) {
    set_columns(sc, s, e);
    q->mode = M_COPY;
  } else return;
  q->guessCopy = 0;
}

/* A tab before the end of the line at s (looked for within the line only). */
static int line_has_tab(const u8 *buf, i32 s, i32 to) {
  for (i32 i = s; i < to; i++) {
    int b = buf[i];
    if (b == TAB) return 1;
    if (b == LF || b == CR) return 0;
  }
  return 0;
}

/*
 * A line starts at s (LINE or COPY mode): an INSERT switches to tuples, a COPY header to rows
 * (from the next line), `\.` ends the rows. Returns where its events start mattering, -1 when
 * the chunk ends too early to tell.
 */
static i32 line_begins(Scanner *sc, i32 s, i32 to, int mode) {
  SqlState *q = &sc->u.sql;
  const Bytes *b = &sc->c.b;
  const u8 *buf = b->p;
  if (q->mode == M_COPY) {
    if (to - s < 2 && mode == MODE_PARTIAL) return -1;
    if (at(b, s) == BACKSLASH && at(b, s + 1) == 0x2e) q->mode = M_LINE;
    return s;
  }
  i32 i = s;
  while (i < to && (buf[i] == 0x20 || buf[i] == TAB)) i++;
  i32 values = insert_values(b, i, to);
  if (values == -1 && mode == MODE_PARTIAL) return -1;
  if (values > 0) {
    q->guessCopy = 0;
    /* pg_dump --inserts repeats one head per row: read its columns once. */
    i32 len = values - i;
    if (q->lastHeadLen != len || memcmp(q->lastHead, buf + i, (size_t)len) != 0) {
      set_columns(sc, i, values);
      if (q->lastHeadCap < len) {
        q->lastHead = xrealloc(q->lastHead, (size_t)len);
        q->lastHeadCap = len;
      }
      memcpy(q->lastHead, buf + i, (size_t)len);
      q->lastHeadLen = len;
    }
    q->mode = M_INSERT;
    return values;
  }
  int copy = is_copy_from_stdin(b, i, to);
  if (copy == -1 && mode == MODE_PARTIAL) return -1;
  if (copy == 1) {
    q->guessCopy = 0;
    set_columns(sc, i, to);
    q->copyNext = 1;
  } else if (q->guessCopy && line_has_tab(buf, s, to)) {
    set_columns(sc, -1, -1);
    q->mode = M_COPY;
  }
  return s;
}

static void end_field(Scanner *sc, i32 s, i32 e, i32 col) {
  SqlState *q = &sc->u.sql;
  const u8 *buf = sc->c.b.p;
  if (!q->hasFamily || col >= MAX_COLUMNS || !is_name_role(q->roles[col])) return;
  i32 a = s, b = e;
  while (a < b && (buf[a] == 0x20 || buf[a] == QUOTE)) a++;
  while (b > a && (buf[b - 1] == 0x20 || buf[b - 1] == QUOTE)) b--;
  coll_family(&sc->c, a, b, q->roles[col] == ROLE_FULL);
}

i32 sql_scan(Scanner *sc, i32 from, i32 to, int mode) {
  SqlState *q = &sc->u.sql;
  Collector *c = &sc->c;
  const Bytes *B = &c->b;
  const u8 *buf = B->p;
  i32 n = events_scan(&sc->ev, buf, from, to, &sc->set);
  const i32 *evPos = sc->ev.pos;
  const u8 *evKind = sc->ev.kind;
  i32 line = sc->lines;
  /* Snapshot: where the current record started, and the mode there. */
  i32 recStart = from, recLine = line;
  int recMode = q->mode;
  int depth = 0, inStr = 0;
  i32 col = 0;
  i32 fieldStart = from, resume = from;
  /* A line starts at `from`: see what it is. */
  i32 lineStart = from;
  int pendingLine = q->mode != M_INSERT;
  coll_begin(c, from);
  for (i32 k = 0;; k++) {
    if (pendingLine) {
      pendingLine = 0;
      int modeAtStart = q->mode;
      i32 r = line_begins(sc, lineStart, to, mode);
      if (r < 0) break;
      if (r > resume) resume = r;
      col = 0;
      fieldStart = r;
      depth = 0;
      inStr = 0;
      recStart = lineStart;
      recLine = line;
      recMode = modeAtStart;
      coll_begin(c, lineStart);
    }
    if (k >= n) break;
    i32 pos = evPos[k];
    if (pos < resume) continue;
    int run = evKind[k];
    if (run != 0) {
      i32 end = run_end(buf, pos, run, to);
      if (end == to && mode == MODE_PARTIAL) break;
      int column = q->mode == M_LINE ? -1 : col;
      int role = q->mode == M_LINE || col >= MAX_COLUMNS ? ROLE_NONE : q->roles[col];
      resume = coll_digits(c, pos, end, to, line + 1, role, column);
      continue;
    }
    int b = buf[pos];
    if (b == LF || b == CR) {
      if (b == CR && pos + 1 >= to && mode == MODE_PARTIAL) break;
      if (b == CR && at(B, pos + 1) == LF) continue;
      line++;
      if (q->mode == M_INSERT) continue;
      if (q->mode == M_COPY) {
        end_field(sc, fieldStart, pos, col);
        coll_row(c);
      }
      coll_end(c, pos);
      if (q->copyNext) {
        q->copyNext = 0;
        q->mode = M_COPY;
      }
      lineStart = pos + 1;
      pendingLine = 1;
      continue;
    }
    if (q->mode == M_COPY) {
      if (b == TAB) {
        end_field(sc, fieldStart, pos, col);
        col++;
        fieldStart = pos + 1;
      }
      continue;
    }
    if (q->mode != M_INSERT) continue;
    if (inStr) {
      if (b == BACKSLASH) resume = pos + 2;
      else if (b == QUOTE) {
        if (pos + 1 >= to && mode == MODE_PARTIAL) break;
        if (at(B, pos + 1) == QUOTE) resume = pos + 2;
        else inStr = 0;
      }
      continue;
    }
    if (b == QUOTE) inStr = 1;
    else if (b == 0x28) {
      if (depth++ == 0) {
        /* A tuple: a record of its own. */
        coll_end(c, pos);
        recStart = pos;
        recLine = line;
        recMode = M_INSERT;
        coll_begin(c, pos);
        col = 0;
        fieldStart = pos + 1;
      }
    } else if (b == 0x29) {
      if (depth > 0 && --depth == 0) {
        end_field(sc, fieldStart, pos, col);
        coll_row(c);
        coll_end(c, pos + 1);
        recStart = pos + 1;
        recLine = line;
        recMode = M_INSERT;
        coll_begin(c, pos + 1);
      }
    } else if (b == 0x2c) {
      if (depth == 1) {
        end_field(sc, fieldStart, pos, col);
        col++;
        fieldStart = pos + 1;
      }
    } else if (b == 0x3b && depth == 0) {
      /* End of the statement: the rest of the line is text. */
      q->mode = M_LINE;
      coll_end(c, pos + 1);
      recStart = pos + 1;
      recLine = line;
      recMode = M_LINE;
      coll_begin(c, pos + 1);
    }
  }
  if (mode == MODE_PARTIAL && recStart < to) {
    coll_abandon(c);
    sc->lines = recLine;
    q->mode = recMode;
    q->copyNext = 0;
    return recStart;
  }
  coll_end(c, to);
  /* A tuple larger than the buffer was cut: from here on the end cannot be trusted to be a boundary. */
  if (mode == MODE_CUT && q->mode == M_INSERT && (depth > 0 || inStr)) q->cutInRecord = 1;
  if (mode == MODE_END) sc->endsInsideRecord = (q->mode == M_INSERT && (depth > 0 || inStr)) || q->cutInRecord;
  sc->lines = line;
  return to;
}

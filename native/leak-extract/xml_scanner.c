#define _GNU_SOURCE
/* xml-scanner.ts (+ xml-record-depth.ts): a record per element at the learned record depth. */
#include "scanner.h"

#define S_TEXT 0
#define S_TAG 1
#define S_VALUE 2
#define LT 0x3c
#define GT 0x3e
#define EQUALS 0x3d
#define DEEPER_RUN 8

void xml_init(Scanner *sc) {
  XmlState *x = &sc->u.xml;
  memset(x, 0, sizeof *x);
  x->attrStart = x->attrEnd = -1;
  x->boundary = -1;
  static const int set[] = {LT, GT, EQUALS, 0x22, 0x27, LF, CR};
  byteset_init(&sc->set, set, 7);
}

static int is_space(int b) { return b == 0x20 || b == 0x09 || b == LF || b == CR; }

static int starts_with(const Bytes *b, i32 pos, const char *s) {
  for (i32 i = 0; s[i]; i++)
    if (at(b, pos + i) != (u8)s[i]) return 0;
  return 1;
}

/* Buffer.indexOf(needle, from): searched to the end of the buffer (past `to`, as the JavaScript does). */
static i32 index_of(const Bytes *b, const char *needle, i32 from) {
  size_t n = strlen(needle);
  if (from < 0) from = 0;
  if ((size_t)from + n > (size_t)b->len) return -1;
  const u8 *hit = memmem(b->p + from, (size_t)(b->len - from), needle, n);
  return hit ? (i32)(hit - b->p) : -1;
}

static int is_name_byte(int b) { return b != 0x20 && b != 0x09 && b != 0x0a && b != 0x0d && b != 0x3e && b != 0x2f; }

/* xml-record-depth.ts. */
static int learn_record_depth(const Bytes *B, i32 from, i32 to, int whole) {
  enum { D = XML_MAX_DEPTH + 2 };
  /* One block for all the tables: a failed allocation (which does not return, oom.h) leaks nothing. */
  i32 *block = xcalloc((size_t)D * (5 + D) + (size_t)(2 * D + 3) / 4, sizeof(i32));
  i32 *lastWithChildren = block, *nameHash = block + D, *run = block + 2 * D, *longest = block + 3 * D, *runName = block + 4 * D;
  /* ancestors[d][a]: the name hash at depth a when depth d's longest run last grew (a < d). */
  i32 *ancestors = block + 5 * D;
  u8 *hasChildren = (u8 *)(ancestors + (size_t)D * D), *hasAncestors = hasChildren + D;
  const u8 *buf = B->p;
  int depth = 0;
  i32 i = from;
  while (i < to) {
    if (buf[i] != 0x3c) {
      i++;
      continue;
    }
    int next = at(B, i + 1);
    if (next == 0x21 || next == 0x3f) {
      /* Comment, CDATA, doctype, processing instruction: no elements inside. */
      const char *close = next == 0x21 && at(B, i + 2) == 0x2d ? "-->" : next == 0x21 && at(B, i + 2) == 0x5b ? "]]>" : ">";
      i32 end = index_of(B, close, i + 2);
      i = end < 0 ? to : end + (i32)strlen(close);
      continue;
    }
    int closing = next == 0x2f;
    i32 j = closing ? i + 2 : i + 1;
    u32 h = 0x811c9dc5u;
    int named = 0;
    while (j < to && is_name_byte(buf[j])) {
      h = (h ^ buf[j++]) * 0x01000193u;
      named = 1;
    }
    i32 end = j;
    while (end < to && buf[end] != 0x3e) end++;
    int selfClosing = !closing && at(B, end - 1) == 0x2f;
    if (closing) {
      if (depth > 0) {
        if (hasChildren[depth] == 1) lastWithChildren[depth] = nameHash[depth];
        depth--;
      }
    } else if (depth < XML_MAX_DEPTH) {
      hasChildren[depth] = 1;
      depth++;
      /* An empty name keeps the hash's start value, a number the Int32Array never equals. */
      if (named && lastWithChildren[depth] == (i32)h && h != 0 && depth >= 2) {
        i32 n = run[depth] + 1;
        run[depth] = n;
        if (n > longest[depth]) {
          longest[depth] = n;
          runName[depth] = (i32)h;
          memcpy(ancestors + (size_t)depth * D, nameHash, (size_t)depth * sizeof(i32));
          hasAncestors[depth] = 1;
        }
      } else run[depth] = 1;
      nameHash[depth] = (i32)h;
      hasChildren[depth] = 0;
      lastWithChildren[depth + 1] = 0;
      run[depth + 1] = 0;
      if (selfClosing) depth--;
    }
    i = end + 1;
  }
  int best = 0;
  for (int d = 2; d <= XML_MAX_DEPTH; d++) {
    i32 n = longest[d];
    if (n < 2) continue;
    if (best == 0) best = d;
    /* Not when the deeper run lies inside elements of the shallower run. */
    else if (n >= DEEPER_RUN && n > 4 * longest[best] && (!hasAncestors[d] || ancestors[(size_t)d * D + best] != runName[best])) best = d;
  }
  free(block);
  if (best != 0) return best;
  return whole ? 1 : 2;
}

static void field(XmlState *x, i32 ks, i32 ke, i32 s, i32 e) {
  if (ks < 0 || ke <= ks) return;
  int f = 4 * x->fieldCount++;
  x->fields[f] = ks;
  x->fields[f + 1] = ke;
  x->fields[f + 2] = s;
  x->fields[f + 3] = e;
}

static void end_record(Scanner *sc, i32 end) {
  XmlState *x = &sc->u.xml;
  if (coll_has_dates(&sc->c))
    for (int f = 0; f < 4 * x->fieldCount; f += 4) {
      int role = role_of(&sc->roleCache, &sc->roles, sc->c.b.p, x->fields[f], x->fields[f + 1]);
      if (is_name_role(role)) coll_family(&sc->c, x->fields[f + 2], x->fields[f + 3], role == ROLE_FULL);
    }
  x->fieldCount = 0;
  coll_end(&sc->c, end);
}

static void open_element(Scanner *sc, i32 s, i32 e, i32 line) {
  XmlState *x = &sc->u.xml;
  if (!x->inRecord && x->depth == x->recordDepth - 1) {
    end_record(sc, x->tagStart);
    x->inRecord = 1;
    coll_begin(&sc->c, x->tagStart);
    x->boundary = x->tagStart;
    x->boundaryLine = line;
    x->boundaryDepth = x->depth;
  }
  if (x->depth < XML_MAX_DEPTH) x->depth++;
  x->nameStart[x->depth] = s;
  x->nameEnd[x->depth] = e;
}

/* An element closes at `end` (after its ">"): pops it, and ends the record when it was one. */
static void close_element(Scanner *sc, i32 end, i32 line) {
  XmlState *x = &sc->u.xml;
  if (x->depth > 0) x->depth--;
  if (x->inRecord && x->depth == x->recordDepth - 1) {
    end_record(sc, end);
    x->inRecord = 0;
    coll_begin(&sc->c, end);
    x->boundary = end;
    x->boundaryLine = line;
    x->boundaryDepth = x->depth;
  }
}

static int element_role(Scanner *sc) {
  XmlState *x = &sc->u.xml;
  i32 s = x->nameStart[x->depth], e = x->nameEnd[x->depth];
  return s < 0 || e <= s ? ROLE_NONE : role_of(&sc->roleCache, &sc->roles, sc->c.b.p, s, e);
}

static int is_value_attr(Scanner *sc) {
  XmlState *x = &sc->u.xml;
  i32 a = x->attrStart;
  return a >= 0 && x->attrEnd - a == 5 && starts_with(&sc->c.b, a, "value");
}

/* Attribute values are named by the attribute, FHIR's value="…" by its element. */
static int attr_role(Scanner *sc) {
  XmlState *x = &sc->u.xml;
  if (x->attrStart < 0 || is_value_attr(sc)) return element_role(sc);
  return x->attrEnd > x->attrStart ? role_of(&sc->roleCache, &sc->roles, sc->c.b.p, x->attrStart, x->attrEnd) : ROLE_NONE;
}

static void text_field(Scanner *sc, i32 end) {
  XmlState *x = &sc->u.xml;
  i32 s = x->textStart;
  if (end > s && x->fieldCount < XML_MAX_FIELDS && (sc->c.b.p[s] | 0x20) >= 0x61)
    field(x, x->nameStart[x->depth], x->nameEnd[x->depth], s, end);
}

static void attr_field(Scanner *sc, i32 end) {
  XmlState *x = &sc->u.xml;
  i32 s = x->valueStart;
  if (end <= s || x->fieldCount >= XML_MAX_FIELDS || (sc->c.b.p[s] | 0x20) < 0x61) return;
  if (x->attrStart < 0 || is_value_attr(sc)) field(x, x->nameStart[x->depth], x->nameEnd[x->depth], s, end);
  else field(x, x->attrStart, x->attrEnd, s, end);
}

i32 xml_scan(Scanner *sc, i32 from, i32 to, int mode) {
  XmlState *x = &sc->u.xml;
  Collector *c = &sc->c;
  const Bytes *B = &c->b;
  const u8 *buf = B->p;
  if (x->recordDepth == 0) x->recordDepth = learn_record_depth(B, from, to, mode == MODE_END);
  for (int d = 0; d <= XML_MAX_DEPTH; d++) x->nameStart[d] = x->nameEnd[d] = -1;
  i32 n = events_scan(&sc->ev, buf, from, to, &sc->set);
  const i32 *evPos = sc->ev.pos;
  const u8 *evKind = sc->ev.kind;
  i32 line = sc->lines;
  i32 recStart = from, recLine = line;
  int recDepth = x->depth, recIn = x->inRecord, recState = x->state;
  coll_begin(c, from);
  x->fieldCount = 0;
  x->textStart = from;
  x->attrStart = x->attrEnd = -1;
  i32 resume = from, skipUntil = from;
  for (i32 k = 0; k < n; k++) {
    if (x->boundary >= 0) {
      /* A record (or the stretch after one) began at the last tag: the state to come back to. */
      recStart = x->boundary;
      recLine = x->boundaryLine;
      recDepth = x->boundaryDepth;
      recIn = 0;
      recState = S_TEXT;
      x->boundary = -1;
    }
    i32 pos = evPos[k];
    if (pos < resume) continue;
    int run = evKind[k];
    if (run != 0) {
      i32 end = run_end(buf, pos, run, to);
      if (end == to && mode == MODE_PARTIAL) break;
      int role = x->state == S_VALUE ? attr_role(sc) : x->state == S_TEXT ? element_role(sc) : ROLE_NONE;
      resume = coll_digits(c, pos, end, to, line + 1, role, -1);
      continue;
    }
    int b = buf[pos];
    if (b == LF || b == CR) {
      if (b == CR && pos + 1 >= to && mode == MODE_PARTIAL) break;
      if (b == LF || at(B, pos + 1) != LF) line++;
      continue;
    }
    /* Inside a comment, CDATA, doctype or PI: digits and line breaks count, nothing else. */
    if (pos < skipUntil) continue;
    if (x->state == S_TEXT) {
      if (b != LT) continue;
      if (pos + 9 >= to && mode == MODE_PARTIAL) break;
      text_field(sc, pos);
      int next = at(B, pos + 1);
      if (next == 0x21 || next == 0x3f) {
        /* Comment or CDATA: their text is scanned (only its structure is skipped); doctype, PI: skipped. */
        int comment = starts_with(B, pos, "<!--");
        int cdata = starts_with(B, pos, "<![CDATA[");
        i32 close = index_of(B, comment ? "-->" : cdata ? "]]>" : ">", pos + 2);
        if (close < 0) {
          if (mode == MODE_PARTIAL) break;
          skipUntil = to;
          continue;
        }
        skipUntil = close + (comment || cdata ? 3 : 1);
        x->textStart = skipUntil;
        continue;
      }
      x->tagStart = pos;
      x->closing = next == 0x2f;
      i32 i = x->closing ? pos + 2 : pos + 1;
      i32 nameStart = i;
      while (i < to && !is_space(buf[i]) && buf[i] != GT && buf[i] != 0x2f) i++;
      if (i == to && mode == MODE_PARTIAL) break;
      if (!x->closing) open_element(sc, nameStart, i, line);
      x->state = S_TAG;
      x->attrStart = x->attrEnd = -1;
      continue;
    }
    if (x->state == S_TAG) {
      if (b == GT) {
        if (x->closing || at(B, pos - 1) == 0x2f) close_element(sc, pos + 1, line);
        x->state = S_TEXT;
        x->textStart = pos + 1;
      } else if (b == EQUALS) {
        i32 i = pos;
        while (i > x->tagStart && is_space(buf[i - 1])) i--;
        x->attrEnd = i;
        while (i > x->tagStart && !is_space(buf[i - 1])) i--;
        x->attrStart = i;
      } else if (b == 0x22 || b == 0x27) {
        x->quote = b;
        x->valueStart = pos + 1;
        x->state = S_VALUE;
      }
      continue;
    }
    /* VALUE: until its closing quote. */
    if (b == x->quote) {
      attr_field(sc, pos);
      x->state = S_TAG;
    }
  }
  if (x->boundary >= 0) {
    recStart = x->boundary;
    recLine = x->boundaryLine;
    recDepth = x->boundaryDepth;
    recIn = 0;
    recState = S_TEXT;
    x->boundary = -1;
  }
  if (mode == MODE_PARTIAL && recStart < to) {
    /* The record (or the stretch between records) at recStart goes on in the next chunk. */
    coll_abandon(c);
    sc->lines = recLine;
    x->depth = recDepth;
    x->inRecord = recIn;
    x->state = recState;
    return recStart;
  }
  if (x->state == S_TEXT) text_field(sc, to);
  end_record(sc, to);
  sc->lines = line;
  if (mode == MODE_END) {
    x->depth = 0;
    x->inRecord = 0;
    x->state = S_TEXT;
  }
  return to;
}

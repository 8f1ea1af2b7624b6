/* json-scanner.ts (+ json-list-depth.ts): NDJSON and JSON documents, a record per object of the data list. */
#include "scanner.h"

#define QUOTE 0x22
#define BACKSLASH 0x5c
#define OBJ 1
#define ARR 2
#define ROOT_VALUES (-1)
#define NOT_LEARNED (-2)

void json_init(Scanner *sc, int lineDelimited) {
  JsonState *j = &sc->u.json;
  memset(j, 0, sizeof *j);
  j->listDepth = lineDelimited ? ROOT_VALUES : NOT_LEARNED;
  static const int set[] = {QUOTE, BACKSLASH, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x2c, LF, CR};
  byteset_init(&sc->set, set, 10);
}

/* json-list-depth.ts: depth of the shallowest array of two or more objects in the chunk. */
static int learn_list_depth(const u8 *buf, i32 from, i32 to) {
  u8 isArray[JSON_MAX_DEPTH + 1];
  i32 objects[JSON_MAX_DEPTH + 1];
  memset(isArray, 0, sizeof isArray);
  memset(objects, 0, sizeof objects);
  int depth = 0, rootValues = 0, best = 0x7fffffff, inStr = 0;
  for (i32 i = from; i < to; i++) {
    int b = buf[i];
    if (inStr) {
      if (b == 0x5c) i++;
      else if (b == 0x22) inStr = 0;
      continue;
    }
    if (b == 0x22) inStr = 1;
    else if (b == 0x7b || b == 0x5b) {
      if (depth > 0 && isArray[depth] == 1 && b == 0x7b) {
        i32 n = objects[depth] + 1;
        objects[depth] = n;
        if (n >= 2 && depth < best) best = depth;
      }
      if (depth < JSON_MAX_DEPTH) {
        depth++;
        isArray[depth] = b == 0x5b;
        objects[depth] = 0;
      }
    } else if (b == 0x7d || b == 0x5d) {
      if (depth > 0 && --depth == 0) rootValues++;
    }
  }
  if (rootValues >= 2 || best == 0x7fffffff) return ROOT_VALUES;
  return best;
}

static void field(JsonState *j, i32 s, i32 e) {
  int f = 4 * j->fieldCount++;
  j->fields[f] = j->keyStart[j->depth];
  j->fields[f + 1] = j->keyEnd[j->depth];
  j->fields[f + 2] = s;
  j->fields[f + 3] = e;
}

static void end_record(Scanner *sc, i32 end) {
  JsonState *j = &sc->u.json;
  /* Family-name fields matter only when the record has a date to pair them with. */
  if (coll_has_dates(&sc->c))
    for (int f = 0; f < 4 * j->fieldCount; f += 4) {
      i32 ks = j->fields[f];
      int role = ks < 0 ? ROLE_NONE : role_of(&sc->roleCache, &sc->roles, sc->c.b.p, ks, j->fields[f + 1]);
      if (is_name_role(role)) coll_family(&sc->c, j->fields[f + 2], j->fields[f + 3], role == ROLE_FULL);
    }
  j->fieldCount = 0;
  coll_end(&sc->c, end);
}

/* The role of the current key, looked up only for runs whose meaning depends on it. */
static int role_for_run(Scanner *sc, i32 s, i32 e, i32 to) {
  JsonState *j = &sc->u.json;
  const u8 *buf = sc->c.b.p;
  i32 len = e - s;
  int next = e < to ? buf[e] : 0;
  if (len == 8 || (len > 8 && len <= 14) || (len <= 4 && (next == 0x2d || next == 0x2f))) {
    i32 ks = j->keyStart[j->depth];
    return ks < 0 ? ROLE_NONE : role_of(&sc->roleCache, &sc->roles, buf, ks, j->keyEnd[j->depth]);
  }
  return ROLE_NONE;
}

i32 json_scan(Scanner *sc, i32 from, i32 to, int mode) {
  JsonState *j = &sc->u.json;
  Collector *c = &sc->c;
  const Bytes *B = &c->b;
  const u8 *buf = B->p;
  if (j->listDepth == NOT_LEARNED) j->listDepth = learn_list_depth(buf, from, to);
  const int list = j->listDepth;
  for (int d = 0; d <= JSON_MAX_DEPTH; d++) j->keyStart[d] = j->keyEnd[d] = -1;
  i32 n = events_scan(&sc->ev, buf, from, to, &sc->set);
  const i32 *evPos = sc->ev.pos;
  const u8 *evKind = sc->ev.kind;
  u8 *kinds = j->kind, *expect = j->expectKey;
  i32 line = sc->lines;
  /* Where the current record (or the stretch between records) started, and the state there. */
  i32 recStart = from, recLine = line;
  int recDepth = j->depth;
  int recExpect = expect[j->depth];
  int recIn = j->inRecord, recStr = j->inString;
  coll_begin(c, from);
  j->fieldCount = 0;
  int inStr = j->inString;
  i32 strStart = from;
  int isKey = 0;
  i32 resume = from;
  for (i32 k = 0; k < n; k++) {
    i32 pos = evPos[k];
    if (pos < resume) continue;
    int run = evKind[k];
    if (run != 0) {
      i32 end = run_end(buf, pos, run, to);
      if (end == to && mode == MODE_PARTIAL) break;
      resume = coll_digits(c, pos, end, to, line + 1, role_for_run(sc, pos, end, to), -1);
      continue;
    }
    int b = buf[pos];
    if (b == LF || b == CR) {
      if (b == CR && pos + 1 >= to && mode == MODE_PARTIAL) break;
      if (b == LF || at(B, pos + 1) != LF) line++;
      continue;
    }
    if (inStr) {
      if (b == BACKSLASH) {
        if (pos + 1 >= to && mode == MODE_PARTIAL) break;
        resume = pos + 2;
      } else if (b == QUOTE) {
        inStr = 0;
        int d = j->depth;
        if (isKey) {
          j->keyStart[d] = strStart;
          j->keyEnd[d] = pos;
        } else if (j->fieldCount < JSON_MAX_FIELDS && pos > strStart && (buf[strStart] | 0x20) >= 0x61)
          field(j, strStart, pos);
      }
      continue;
    }
    if (b == QUOTE) {
      inStr = 1;
      strStart = pos + 1;
      isKey = kinds[j->depth] == OBJ && expect[j->depth] == 1;
    } else if (b == 0x3a) expect[j->depth] = 0;
    else if (b == 0x2c) expect[j->depth] = kinds[j->depth] == OBJ ? 1 : 0;
    else if (b == 0x7b || b == 0x5b) {
      int d = j->depth;
      /* A record: a value of the record list, or of a deeper array met outside any record. */
      int starts = list == ROOT_VALUES ? d == 0 : kinds[d] == ARR && d >= list;
      if (!j->inRecord && starts) {
        end_record(sc, pos);
        recStart = pos;
        recLine = line;
        recDepth = d;
        recExpect = expect[d];
        recIn = 0;
        recStr = 0;
        j->inRecord = 1;
        j->recordDepth = d;
        coll_begin(c, pos);
      }
      if (d < JSON_MAX_DEPTH) {
        j->depth = d + 1;
        kinds[d + 1] = b == 0x7b ? OBJ : ARR;
        expect[d + 1] = b == 0x7b ? 1 : 0;
        /* Values in an array are named by the array's key. */
        j->keyStart[d + 1] = b == 0x5b ? j->keyStart[d] : -1;
        j->keyEnd[d + 1] = b == 0x5b ? j->keyEnd[d] : -1;
      }
    } else {
      /* } or ] */
      if (j->depth > 0) j->depth--;
      if (j->inRecord && j->depth == j->recordDepth) {
        end_record(sc, pos + 1);
        j->inRecord = 0;
        recStart = pos + 1;
        recLine = line;
        recDepth = j->depth;
        recExpect = expect[j->depth];
        recIn = 0;
        recStr = 0;
        coll_begin(c, pos + 1);
      }
    }
  }
  if (mode == MODE_PARTIAL && recStart < to) {
    /* The record (or the stretch between records) at recStart goes on in the next chunk. */
    coll_abandon(c);
    sc->lines = recLine;
    j->depth = recDepth;
    expect[recDepth] = (u8)recExpect;
    j->inRecord = recIn;
    j->inString = recStr;
    return recStart;
  }
  end_record(sc, to);
  sc->lines = line;
  j->inString = mode == MODE_END ? 0 : inStr;
  if (mode == MODE_END) {
    j->depth = 0;
    j->inRecord = 0;
  }
  return to;
}

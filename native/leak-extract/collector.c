#include "collector.h"

#include "digits.h"

/* scan-types.ts DataCategory bits the collector hints. */
#define CAT_NATIONAL_ID (1 << 5)
#define CAT_NAMES (1 << 0)
#define CAT_BIRTH_DATES (1 << 2)

IList *coll_column(Collector *c, int col) {
  switch (col) {
    case COL_BSN_VALUE: return &c->bsnValue;
    case COL_BSN_LINE: return &c->bsnLine;
    case COL_BSN_RECORD: return &c->bsnRecord;
    case COL_KEY_H1: return &c->keys.h1;
    case COL_KEY_H2: return &c->keys.h2;
    case COL_KEY_DATE: return &c->keys.date;
    case COL_KEY_FROM: return &c->keys.from;
    case COL_KEY_TO: return &c->keys.to;
    case COL_KEY_LINE: return &c->keys.line;
    case COL_KEY_RECORD: return &c->keys.record;
    case COL_RECORD_START: return &c->recordStart;
    case COL_RECORD_END: return &c->recordEnd;
    default: return &c->recordHint;
  }
}

void coll_reset_chunk(Collector *c, i32 recordBase) {
  for (int i = 0; i < COL_COUNT; i++) coll_column(c, i)->n = 0;
  c->pendingValue.n = c->pendingLine.n = c->pendingRecord.n = c->pendingColumn.n = 0;
  c->recordBase = recordBase;
  c->record = -1;
}

void coll_free(Collector *c) {
  for (int i = 0; i < COL_COUNT; i++) ilist_free(coll_column(c, i));
  ilist_free(&c->pendingValue);
  ilist_free(&c->pendingLine);
  ilist_free(&c->pendingRecord);
  ilist_free(&c->pendingColumn);
}

void coll_begin(Collector *c, i32 start) {
  c->start = start;
  c->record = -1;
  c->hint = 0;
  c->rec.familyCount = 0;
  c->rec.dateCount = 0;
  c->bsnColumnCount = 0;
  c->mark[0] = c->bsnValue.n;
  c->mark[1] = c->keys.h1.n;
  c->mark[2] = c->recordStart.n;
  c->mark[3] = c->pendingValue.n;
}

void coll_abandon(Collector *c) {
  ilist_truncate(&c->bsnValue, c->mark[0]);
  ilist_truncate(&c->bsnLine, c->mark[0]);
  ilist_truncate(&c->bsnRecord, c->mark[0]);
  KeyOut *k = &c->keys;
  IList *kl[7] = {&k->h1, &k->h2, &k->date, &k->from, &k->to, &k->line, &k->record};
  for (int i = 0; i < 7; i++) ilist_truncate(kl[i], c->mark[1]);
  ilist_truncate(&c->recordStart, c->mark[2]);
  ilist_truncate(&c->recordEnd, c->mark[2]);
  ilist_truncate(&c->recordHint, c->mark[2]);
  ilist_truncate(&c->pendingValue, c->mark[3]);
  ilist_truncate(&c->pendingLine, c->mark[3]);
  ilist_truncate(&c->pendingRecord, c->mark[3]);
  ilist_truncate(&c->pendingColumn, c->mark[3]);
  c->record = -1;
}

static i32 register_record(Collector *c) {
  if (c->record < 0) {
    c->record = c->recordStart.n;
    ilist_push(&c->recordStart, c->start);
    ilist_push(&c->recordEnd, c->start);
    ilist_push(&c->recordHint, 0);
  }
  return c->record;
}

static void bsn(Collector *c, i32 v, i32 line, int column) {
  i32 rec = register_record(c);
  ilist_push(&c->bsnValue, v);
  ilist_push(&c->bsnLine, line);
  ilist_push(&c->bsnRecord, rec + c->recordBase);
  c->hint |= CAT_NATIONAL_ID;
  if (column >= 0 && column < MAX_COLUMNS && c->bsnColumnCount < 8) {
    for (int i = 0; i < c->bsnColumnCount; i++)
      if (c->bsnColumns[i] == column) return;
    c->bsnColumns[c->bsnColumnCount++] = column;
  }
}

static void pending(Collector *c, i32 v, i32 line, int column) {
  ilist_push(&c->pendingValue, v);
  ilist_push(&c->pendingLine, line);
  ilist_push(&c->pendingRecord, register_record(c) + c->recordBase);
  ilist_push(&c->pendingColumn, column);
}

static void date(Collector *c, i32 packed, i32 pos, i32 line, int role) {
  RecordDates *r = &c->rec;
  if (packed < 0 || r->dateCount >= MAX_DATES) return;
  int i = r->dateCount++;
  r->dates[i] = packed;
  r->datePos[i] = pos;
  r->dateLine[i] = line;
  r->dateBirth[i] = role == ROLE_BIRTH;
  /* A date in a field named for something else (a collection date) is not a birth date. */
  if (role == ROLE_BIRTH || role == ROLE_NONE) c->hint |= CAT_BIRTH_DATES;
}

i32 coll_digits(Collector *c, i32 s, i32 e, i32 limit, i32 line, int role, int column) {
  const u8 *buf = c->b.p;
  i32 len = e - s;
  if (len == 9) {
    i32 v = bsn_at(buf, s);
    if (v >= 0) bsn(c, v, line, column);
    return e;
  }
  if (len == 8) {
    if (role == ROLE_BIRTH) date(c, compact_date_at(buf, s), s, line, role);
    else if (role == ROLE_BSN) {
      i32 v = bsn_lost_zero_at(buf, s);
      if (v >= 0) bsn(c, v, line, -1);
    } else if (column >= 0 && column < MAX_COLUMNS) {
      i32 v = bsn_lost_zero_at(buf, s);
      if (v >= 0) pending(c, v, line, column);
    }
    return e;
  }
  if (len > 4) {
    /* HL7 TS (PID-7) and some exports: yyyymmdd followed by a time. Fewer than 8 digits hold no
     * day (and reading 8 would take bytes past the run). */
    if (role == ROLE_BIRTH && len >= 8 && len <= 14 && len % 2 == 0) date(c, compact_date_at(buf, s), s, line, role);
    return e;
  }
  if (e >= limit) return e;
  int t = buf[e];
  if ((t == 0x2d || t == 0x2f) && len != 3) {
    i32 end = 0;
    i32 d = date_at(&c->b, s, len, limit, &end);
    if (d >= 0) {
      /* A date with a time of day stamps an event (a log line, a collection), unless the field says birth date. */
      if (role == ROLE_BIRTH || !is_time_at(&c->b, end, limit)) date(c, d, s, line, role);
      return end;
    }
  } else if ((t == 0x2e || t == 0x20) && len >= 3) {
    i32 end = 0;
    i32 v = formatted_bsn_at(&c->b, s, len, limit, &end);
    if (v >= 0) {
      bsn(c, v, line, -1);
      return end;
    }
  }
  return e;
}

void coll_family(Collector *c, i32 s, i32 e, int full) {
  RecordDates *r = &c->rec;
  if (e <= s || r->familyCount >= MAX_FAMILY_FIELDS) return;
  r->family[2 * r->familyCount] = s;
  r->family[2 * r->familyCount + 1] = e;
  r->fullName[r->familyCount] = full ? 1 : 0;
  r->familyCount++;
  c->hint |= CAT_NAMES;
}

void coll_end(Collector *c, i32 end) {
  RecordDates *r = &c->rec;
  for (int i = 0; i < c->bsnColumnCount; i++) c->columnBsns[c->bsnColumns[i]]++;
  if (r->dateCount > 0) {
    r->start = c->start;
    r->end = end;
    int n = ndk_build(&c->nameDates, c->b.p, r, &c->keys);
    if (n > 0) {
      i32 rec = register_record(c) + c->recordBase;
      for (int i = 0; i < n; i++) ilist_push(&c->keys.record, rec);
    }
  }
  if (c->record >= 0) {
    c->recordEnd.d[c->record] = end;
    c->recordHint.d[c->record] = c->hint;
  }
  c->record = -1;
}

void coll_settle(Collector *c) {
  for (i32 i = 0; i < c->pendingValue.n; i++) {
    i32 col = c->pendingColumn.d[i];
    i32 bsns = c->columnBsns[col];
    if (bsns == 0 || 2 * bsns < c->rows) continue;
    ilist_push(&c->bsnValue, c->pendingValue.d[i]);
    ilist_push(&c->bsnLine, c->pendingLine.d[i]);
    ilist_push(&c->bsnRecord, c->pendingRecord.d[i]);
  }
  c->pendingValue.n = c->pendingLine.n = c->pendingRecord.n = c->pendingColumn.n = 0;
}

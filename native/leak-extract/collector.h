/* Where the scanners put what they find (candidate-collector.ts), with its columns in C. */
#ifndef LEAK_EXTRACT_COLLECTOR_H
#define LEAK_EXTRACT_COLLECTOR_H

#include "common.h"
#include "name_date_keys.h"

#define MAX_COLUMNS 256

/* Field roles (field-role.ts Role). */
enum { ROLE_NONE = 0, ROLE_BSN = 1, ROLE_BIRTH = 2, ROLE_FAMILY = 3, ROLE_GIVEN = 4, ROLE_OTHER = 5, ROLE_FULL = 6 };
static inline int is_name_role(int r) { return r == ROLE_FAMILY || r == ROLE_FULL; }

/* The output columns, in the order the JavaScript wrapper copies them out. */
enum {
  COL_BSN_VALUE,
  COL_BSN_LINE,
  COL_BSN_RECORD,
  COL_KEY_H1,
  COL_KEY_H2,
  COL_KEY_DATE,
  COL_KEY_FROM,
  COL_KEY_TO,
  COL_KEY_LINE,
  COL_KEY_RECORD,
  COL_RECORD_START,
  COL_RECORD_END,
  COL_RECORD_HINT,
  COL_COUNT
};

typedef struct {
  IList bsnValue, bsnLine, bsnRecord;
  KeyOut keys;
  IList recordStart, recordEnd, recordHint;
  IList pendingValue, pendingLine, pendingRecord, pendingColumn;
  /* Per column (per file): data rows with a valid BSN in it, out of `rows`. */
  i32 columnBsns[MAX_COLUMNS];
  i32 rows;
  /* Added to record indexes: the JavaScript collector's records before this scan call. */
  i32 recordBase;
  i32 start, record, hint;
  i32 mark[4];
  i32 bsnColumns[8];
  int bsnColumnCount;
  RecordDates rec;
  NameDateKeys nameDates;
  /* The bytes being scanned. */
  Bytes b;
} Collector;

void coll_reset_chunk(Collector *c, i32 recordBase);
void coll_begin(Collector *c, i32 start);
void coll_abandon(Collector *c);
i32 coll_digits(Collector *c, i32 s, i32 e, i32 limit, i32 line, int role, int column);
void coll_family(Collector *c, i32 s, i32 e, int full);
static inline void coll_row(Collector *c) { c->rows++; }
void coll_end(Collector *c, i32 end);
void coll_settle(Collector *c);
static inline int coll_has_dates(const Collector *c) { return c->rec.dateCount > 0; }
IList *coll_column(Collector *c, int col);
void coll_free(Collector *c);

#endif

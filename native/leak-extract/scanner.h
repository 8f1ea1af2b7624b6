/* The format scanners (delimited-, json-, sql-, xml-, hl7-scanner.ts) over one file's chunks. */
#ifndef LEAK_EXTRACT_SCANNER_H
#define LEAK_EXTRACT_SCANNER_H

#include "byte_events.h"
#include "collector.h"
#include "field_roles.h"

enum { FORMAT_DELIMITED = 0, FORMAT_JSON = 1, FORMAT_SQL = 2, FORMAT_XML = 3, FORMAT_HL7 = 4 };

#define JSON_MAX_DEPTH 512
#define JSON_MAX_FIELDS 32
#define XML_MAX_DEPTH 512
#define XML_MAX_FIELDS 32

typedef struct {
  u8 roles[MAX_COLUMNS + 1];
  u8 nameColumn[MAX_COLUMNS + 1];
  int delimiter;
  int headerPending;
  int continuing, inQuoteAtCut, columnAtCut;
} DelimitedState;

typedef struct {
  int listDepth; /* -2: not learned yet; -1: ROOT_VALUES */
  int depth;
  u8 kind[JSON_MAX_DEPTH + 1], expectKey[JSON_MAX_DEPTH + 1];
  i32 keyStart[JSON_MAX_DEPTH + 1], keyEnd[JSON_MAX_DEPTH + 1];
  int inRecord, recordDepth;
  i32 fields[4 * JSON_MAX_FIELDS];
  int fieldCount;
  int inString;
} JsonState;

typedef struct {
  int cutInRecord;
  int mode;
  u8 roles[MAX_COLUMNS];
  int hasFamily;
  int guessCopy;
  u8 *lastHead; /* NULL: none */
  i32 lastHeadLen, lastHeadCap;
  int copyNext;
} SqlState;

typedef struct {
  int recordDepth, depth, state, inRecord;
  i32 nameStart[XML_MAX_DEPTH + 1], nameEnd[XML_MAX_DEPTH + 1];
  i32 fields[4 * XML_MAX_FIELDS];
  int fieldCount;
  int closing;
  i32 tagStart, attrStart, attrEnd;
  int quote;
  i32 valueStart, textStart;
  i32 boundary, boundaryLine;
  int boundaryDepth;
} XmlState;

typedef struct Scanner {
  int format;
  i32 lines;
  int endsInsideRecord;
  Collector c;
  Events ev;
  ByteSet set;
  RoleSource roles;
  RoleCache roleCache;
  /* A JavaScript callback threw: the scan stops, the exception goes to the caller. */
  int failed;
  /* Inside scan()/useHeader(): a field-role callback into JavaScript must not re-enter them. */
  int busy;
  /* An allocation failed mid-scan (oom.h): the state is not whole, so the scanner refuses to go on. */
  int retired;
  /* release() was called: its memory went to the next scanner. */
  int released;
  union {
    DelimitedState csv;
    JsonState json;
    SqlState sql;
    XmlState xml;
  } u;
} Scanner;

/*
 * The large buffers a scanner grows (the first pass's events, the candidate lists): a scanner
 * released after its work unit leaves them to the next one on the same thread, which would
 * otherwise fault in tens of megabytes of fresh pages per unit. One spare per thread (N-API
 * instance data): a worker scans one unit at a time.
 */
#define SPARE_LISTS (COL_COUNT + 4)
typedef struct {
  Events ev;
  IList lists[SPARE_LISTS];
  int full;
} ScannerSpare;

void scanner_init(Scanner *sc, int format, int delimiter, int midFile);
/* Moves the spare's buffers (if any) into a freshly initialised scanner. */
void scanner_take_spare(Scanner *sc, ScannerSpare *spare);
/* Moves the scanner's buffers into the spare (if it is empty), then frees the rest of its memory. */
void scanner_release(Scanner *sc, ScannerSpare *spare);
void scanner_spare_free(ScannerSpare *spare);
void scanner_free(Scanner *sc);
/* Scans buf[from, to) (Bytes: the whole buffer); returns where the unfinished record starts (format-scanner.ts). */
i32 scanner_scan(Scanner *sc, const Bytes *buf, i32 from, i32 to, int mode);
/* useHeader of the format (delimited, sql); others ignore it. */
void scanner_use_header(Scanner *sc, const Bytes *buf, i32 s, i32 e);

void delimited_init(Scanner *sc, int delimiter, int midFile);
i32 delimited_scan(Scanner *sc, i32 from, i32 to, int mode);
void delimited_use_header(Scanner *sc, i32 s, i32 e);
void json_init(Scanner *sc, int lineDelimited);
i32 json_scan(Scanner *sc, i32 from, i32 to, int mode);
void sql_init(Scanner *sc, int midFile);
i32 sql_scan(Scanner *sc, i32 from, i32 to, int mode);
void sql_use_header(Scanner *sc, i32 s, i32 e);
void sql_free(Scanner *sc);
void xml_init(Scanner *sc);
i32 xml_scan(Scanner *sc, i32 from, i32 to, int mode);
void hl7_init(Scanner *sc);
i32 hl7_scan(Scanner *sc, i32 from, i32 to, int mode);

#endif

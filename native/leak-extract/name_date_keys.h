/* Name + birth date keys of one record (name-date-keys.ts, record-dates.ts, generic-name-words.ts). */
#ifndef LEAK_EXTRACT_NAME_DATE_KEYS_H
#define LEAK_EXTRACT_NAME_DATE_KEYS_H

#include "common.h"

#define MAX_DATES 16
#define MAX_FAMILY_FIELDS 16
#define MAX_TOKENS 64

/* The record a collector hands over (record-dates.ts RecordDates). */
typedef struct {
  i32 start, end;
  i32 family[2 * MAX_FAMILY_FIELDS];
  u8 fullName[MAX_FAMILY_FIELDS];
  int familyCount;
  i32 dates[MAX_DATES], datePos[MAX_DATES], dateLine[MAX_DATES];
  u8 dateBirth[MAX_DATES];
  int dateCount;
} RecordDates;

/* The key columns (key-occurrences.ts), appended to. */
typedef struct {
  IList h1, h2, date, from, to, line, record;
} KeyOut;

typedef struct {
  i32 tokStart[MAX_TOKENS], tokEnd[MAX_TOKENS];
  u8 joins[MAX_TOKENS], ascii[MAX_TOKENS], particle[MAX_TOKENS], eligible[MAX_TOKENS];
  u32 h1[MAX_TOKENS], h2[MAX_TOKENS], pow1[MAX_TOKENS], pow2[MAX_TOKENS];
  i32 chars[MAX_TOKENS];
  i32 fieldFirst[MAX_FAMILY_FIELDS + 1];
  i32 order[MAX_TOKENS], dist[MAX_TOKENS];
  i32 chosen[4];
  int count;
  const u8 *buf;
  KeyOut *out;
  i32 first;
} NameDateKeys;

/* Appends the keys of record r to out; returns how many. */
int ndk_build(NameDateKeys *k, const u8 *buf, const RecordDates *r, KeyOut *out);

/* normaliseFamilyName of the UTF-8 bytes buf[s..e), as it is hashed: calls fn per character. */
void family_fold(const u8 *buf, i32 s, i32 e, void (*fn)(void *ctx, int ch), void *ctx);

#endif

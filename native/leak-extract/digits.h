/* BSNs and dates in digit bytes (bsn-digits.ts, formatted-bsn.ts, calendar-date.ts, the time-of-day rule). */
#ifndef LEAK_EXTRACT_DIGITS_H
#define LEAK_EXTRACT_DIGITS_H

#include "common.h"

/* buf[s..s+9) are digits: the BSN when it passes the 11-proof, else -1. */
i32 bsn_at(const u8 *buf, i32 s);
/* buf[s..s+8) are digits of a BSN that lost its leading zero: the number, else -1. */
i32 bsn_lost_zero_at(const u8 *buf, i32 s);
/* A grouped BSN whose first group is buf[s..s+firstLen): the BSN or -1; *end gets its end. */
i32 formatted_bsn_at(const Bytes *b, i32 s, i32 firstLen, i32 limit, i32 *end);
/* A separated date whose first run is buf[s..s+firstLen): packed yyyymmdd or -1; *end gets its end. */
i32 date_at(const Bytes *b, i32 s, i32 firstLen, i32 limit, i32 *end);
/* yyyymmdd at buf[s..s+8): packed or -1. */
i32 compact_date_at(const u8 *buf, i32 s);
/* "T12:30", " 12:30", " 9:05" at p. */
int is_time_at(const Bytes *b, i32 p, i32 limit);

#endif

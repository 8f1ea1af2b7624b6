/* The first pass (byte-events.ts, event-scan-js.ts): structural bytes of a format and the digit runs that can matter. */
#ifndef LEAK_EXTRACT_BYTE_EVENTS_H
#define LEAK_EXTRACT_BYTE_EVENTS_H

#include "common.h"

/* Kind of a long digit run: 63 or more digits (the JavaScript packs the kind in 7 bits). */
#define LONG_RUN 63

typedef struct {
  u8 has[256];
} ByteSet;

/* Events of the last scan: position and kind (0: a byte of the set, else the run's length, at most LONG_RUN). */
typedef struct {
  i32 *pos;
  u8 *kind;
  i32 n, cap;
} Events;

void byteset_init(ByteSet *s, const int *bytes, int n);
/* Events of buf[from, to); returns their count. */
i32 events_scan(Events *ev, const u8 *buf, i32 from, i32 to, const ByteSet *set);
void events_free(Events *ev);
/* End of the digit run at pos whose kind is `kind` (run-end.ts). */
static inline i32 run_end(const u8 *buf, i32 pos, int kind, i32 to) {
  if (kind < LONG_RUN) return pos + kind;
  i32 i = pos + LONG_RUN;
  while (i < to && is_digit(buf[i])) i++;
  return i;
}

#endif

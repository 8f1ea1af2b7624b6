/*
 * Shared types of the native candidate extraction (a port of the src/leak scanners and
 * candidate-collector.ts that must produce exactly what the JavaScript produces).
 */
#ifndef LEAK_EXTRACT_COMMON_H
#define LEAK_EXTRACT_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef uint8_t u8;
typedef int32_t i32;
typedef uint32_t u32;
typedef uint64_t u64;

/* Scan modes (format-scanner.ts ScanMode). */
enum { MODE_PARTIAL = 0, MODE_CUT = 1, MODE_END = 2 };

#define LF 0x0a
#define CR 0x0d

/*
 * The bytes a scan reads: the whole JavaScript Buffer, not just [from, to). The JavaScript
 * scanners read a few bytes past `to` (a CR's next byte, a comment's end searched with
 * Buffer.indexOf); those reads see the same stale buffer bytes here, and beyond the buffer's
 * length they see "undefined" (-1), never memory outside it.
 */
typedef struct {
  const u8 *p;
  i32 len;
} Bytes;

static inline int at(const Bytes *b, long i) { return i >= 0 && i < b->len ? b->p[i] : -1; }
static inline int is_digit(int b) { return b >= 0x30 && b <= 0x39; }
static inline int is_alpha(int b) { return (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a); }

/* A growable list of 32-bit integers (int-list.ts). A failed allocation does not return: it
 * jumps back to the N-API call that is scanning (oom.h), which throws and retires the scanner. */
typedef struct {
  i32 *d;
  i32 n, cap;
} IList;

void ilist_grow(IList *l);
static inline void ilist_push(IList *l, i32 v) {
  if (__builtin_expect(l->n == l->cap, 0)) ilist_grow(l);
  l->d[l->n++] = v;
}
static inline void ilist_truncate(IList *l, i32 n) {
  if (n < l->n) l->n = n;
}
void ilist_free(IList *l);
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
void *xcalloc(size_t n, size_t size);

#endif

#include <stdio.h>

#include "common.h"
#include "oom.h"

__thread jmp_buf *oom_target;

/*
 * Fault injection for the tests: LEAK_EXTRACT_FAIL_ALLOC=N makes every allocation after the
 * first N of the process fail, as a machine out of memory would.
 */
static long fail_after = -1;
static long allocations;
__attribute__((constructor)) static void read_fail_after(void) {
  const char *v = getenv("LEAK_EXTRACT_FAIL_ALLOC");
  if (v != NULL && *v != '\0') fail_after = strtol(v, NULL, 10);
}

static int injected_failure(void) { return fail_after >= 0 && __atomic_fetch_add(&allocations, 1, __ATOMIC_RELAXED) >= fail_after; }

_Noreturn void out_of_memory(void) {
  if (oom_target != NULL) longjmp(*oom_target, 1);
  /* Unreachable from JavaScript: every entry point that allocates is guarded. */
  fputs("leak_extract: out of memory outside a guarded call\n", stderr);
  abort();
}

void *xmalloc(size_t n) { return xrealloc(NULL, n); }

void *xrealloc(void *p, size_t n) {
  void *q = injected_failure() ? NULL : realloc(p, n ? n : 1);
  if (!q) out_of_memory();
  return q;
}

void *xcalloc(size_t n, size_t size) {
  void *q = injected_failure() ? NULL : calloc(n ? n : 1, size ? size : 1);
  if (!q) out_of_memory();
  return q;
}

void ilist_grow(IList *l) {
  /* The lists hold a chunk's candidates (a few million at most); 2^31 entries is a bug's doing. */
  if (l->cap > INT32_MAX / 2) out_of_memory();
  i32 cap = l->cap ? l->cap * 2 : 1024;
  l->d = xrealloc(l->d, (size_t)cap * sizeof(i32));
  l->cap = cap;
}

void ilist_free(IList *l) {
  free(l->d);
  l->d = NULL;
  l->n = l->cap = 0;
}

#include <stdio.h>

#include "common.h"
#include "oom.h"

__thread jmp_buf *oom_target;

/*
 * Fault injection for the tests: failAllocationsAfter(N) makes every allocation after the next N
 * of the process fail (every thread's: the scan's workers share this library), as a machine out
 * of memory would. A call from JavaScript in the process, never the environment: whoever can set
 * a scan's environment must not be able to make it fail.
 */
static long fail_after = -1;
static long allocations;

void fail_allocations_after(long n) {
  __atomic_store_n(&allocations, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&fail_after, n, __ATOMIC_RELAXED);
}

static int injected_failure(void) {
  const long after = __atomic_load_n(&fail_after, __ATOMIC_RELAXED);
  return after >= 0 && __atomic_fetch_add(&allocations, 1, __ATOMIC_RELAXED) >= after;
}

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

#include <stdio.h>

#include "common.h"

void *xmalloc(size_t n) { return xrealloc(NULL, n); }

void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    fputs("leak_extract: out of memory\n", stderr);
    abort();
  }
  return q;
}

void ilist_grow(IList *l) {
  l->cap = l->cap ? l->cap * 2 : 1024;
  l->d = xrealloc(l->d, (size_t)l->cap * sizeof(i32));
}

void ilist_free(IList *l) {
  free(l->d);
  l->d = NULL;
  l->n = l->cap = 0;
}

/* The one way the addon grows its arrays: doubling, from 1024 elements, with overflow checks. */
#include <stdint.h>
#include <stdlib.h>

#include "grow_array.h"

int grow_array(void **p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return 0;
  size_t next = *cap < 1024 ? 1024 : *cap;
  while (next < need) {
    if (next > SIZE_MAX / 2) return -1;
    next *= 2;
  }
  if (next > SIZE_MAX / size) return -1;
  void *q = realloc(*p, next * size);
  if (q == NULL) return -1;
  *p = q;
  *cap = next;
  return 0;
}

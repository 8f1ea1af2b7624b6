#include "distinct_values.h"

#include <stdlib.h>
#include <string.h>

#define COMPACT_FROM ((size_t)1 << 22)

void distinct_values_init(distinct_values *d) { memset(d, 0, sizeof(*d)); }

void distinct_values_free(distinct_values *d) {
  free(d->data);
  memset(d, 0, sizeof(*d));
}

static int compare_u32(const void *a, const void *b) {
  const uint32_t x = *(const uint32_t *)a;
  const uint32_t y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

void distinct_values_compact(distinct_values *d) {
  if (d->len == 0) return;
  qsort(d->data, d->len, sizeof(uint32_t), compare_u32);
  size_t w = 1;
  for (size_t r = 1; r < d->len; r++)
    if (d->data[r] != d->data[w - 1]) d->data[w++] = d->data[r];
  d->len = d->compacted = w;
}

int distinct_values_add(distinct_values *d, uint32_t v) {
  if (d->len == d->cap) {
    /* Mostly distinct already (the BSN table marks what a unit counted): sorting pays only once the list is large. */
    if (d->len >= COMPACT_FROM && d->len >= 2 * d->compacted) distinct_values_compact(d);
    if (grow_array((void **)&d->data, &d->cap, d->len + 1, sizeof(uint32_t)) != 0) return -1;
  }
  d->data[d->len++] = v;
  return 0;
}

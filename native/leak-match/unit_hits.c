#include "unit_hits.h"

#include <stdlib.h>
#include <string.h>

int unit_hits_init(unit_hits *u) {
  memset(u, 0, sizeof(*u));
  return 0;
}

void unit_hits_free(unit_hits *u) {
  for (size_t p = 0; p < u->npages; p++) free(u->pages[p]);
  free(u->pages);
  free(u->entries);
  memset(u, 0, sizeof(*u));
}

int32_t unit_hits_add(unit_hits *u, int32_t ord, int kind) {
  if (ord < 0 || ord >= (1 << 30)) return -1;
  const size_t key = (size_t)ord * 2 + (size_t)kind;
  const size_t p = key >> PAGE_BITS;
  if (p >= u->npages) {
    size_t n = u->npages > 0 ? u->npages : 16;
    while (n <= p) n *= 2;
    int32_t **pages = realloc(u->pages, n * sizeof(*pages));
    if (pages == NULL) return -1;
    memset(pages + u->npages, 0, (n - u->npages) * sizeof(*pages));
    u->pages = pages;
    u->npages = n;
  }
  if (u->pages[p] == NULL && (u->pages[p] = calloc(PAGE_KEYS, sizeof(int32_t))) == NULL) return -1;
  int32_t *slot = u->pages[p] + (key & (PAGE_KEYS - 1));
  if (*slot != 0) return *slot - 1;
  if (grow_array((void **)&u->entries, &u->cap, (u->len + 1) * 4, sizeof(int32_t)) != 0) return -1;
  int32_t *at = u->entries + u->len * 4;
  at[0] = (int32_t)(uint32_t)(key + 1);
  at[1] = 0;
  at[2] = 0;
  at[3] = INT32_MAX;
  *slot = (int32_t)++u->len;
  return (int32_t)(u->len - 1);
}

size_t unit_hits_list(const unit_hits *u, int32_t *out) {
  size_t n = 0;
  for (size_t i = 0; i < u->len; i++) {
    const int32_t *at = u->entries + i * 4;
    if (at[1] == 0) continue;
    const uint32_t key = (uint32_t)at[0] - 1;
    int32_t *o = out + n * 5;
    o[0] = (int32_t)(key >> 1);
    o[1] = (int32_t)(key & 1);
    o[2] = at[3];
    o[3] = at[2];
    o[4] = at[1];
    n++;
  }
  return n;
}

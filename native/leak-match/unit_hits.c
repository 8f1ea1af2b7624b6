#include "unit_hits.h"

#include <stdlib.h>
#include <string.h>

#define START_KEYS 256

int unit_hits_init(unit_hits *u) {
  memset(u, 0, sizeof(*u));
  u->index = calloc(START_KEYS, sizeof(int32_t));
  if (u->index == NULL) return -1;
  u->index_cap = START_KEYS;
  return 0;
}

void unit_hits_free(unit_hits *u) {
  free(u->index);
  free(u->entries);
  memset(u, 0, sizeof(*u));
}

/* Room in the index for `key`: doubled until it fits, the new part zero (no entry). */
static int index_room(unit_hits *u, size_t key) {
  size_t cap = u->index_cap;
  while (cap <= key) cap *= 2;
  int32_t *index = realloc(u->index, cap * sizeof(int32_t));
  if (index == NULL) return -1;
  memset(index + u->index_cap, 0, (cap - u->index_cap) * sizeof(int32_t));
  u->index = index;
  u->index_cap = cap;
  return 0;
}

int32_t unit_hits_entry(unit_hits *u, int32_t ord, int kind) {
  if (ord < 0 || ord >= (1 << 30)) return -1;
  const size_t key = (size_t)ord * 2 + (size_t)kind;
  if (key >= u->index_cap && index_room(u, key) != 0) return -1;
  const int32_t e = u->index[key];
  if (e != 0) return e - 1;
  if (grow_array((void **)&u->entries, &u->cap, (u->len + 1) * 4, sizeof(int32_t)) != 0) return -1;
  int32_t *at = u->entries + u->len * 4;
  at[0] = (int32_t)key + 1;
  at[1] = 0;
  at[2] = 0;
  at[3] = INT32_MAX;
  u->index[key] = (int32_t)++u->len;
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

#include "unit_hits.h"

#include <stdlib.h>
#include <string.h>

#define START_SLOTS (1u << 8)

int unit_hits_init(unit_hits *u) {
  memset(u, 0, sizeof(*u));
  u->slots = calloc((size_t)START_SLOTS * 4, sizeof(int32_t));
  if (u->slots == NULL) return -1;
  u->mask = START_SLOTS - 1;
  u->shift = 24;
  return 0;
}

void unit_hits_free(unit_hits *u) {
  free(u->slots);
  free(u->order);
  memset(u, 0, sizeof(*u));
}

static inline uint32_t hash_of(uint32_t key, int shift) { return (key * 0x9e3779b1u) >> shift; }

/* Doubles the table; the order of entries is kept. */
static int grow(unit_hits *u) {
  size_t size = ((size_t)u->mask + 1) * 2;
  if (size > (1u << 30)) return -1;
  int32_t *slots = calloc(size * 4, sizeof(int32_t));
  if (slots == NULL) return -1;
  const uint32_t mask = (uint32_t)size - 1;
  const int shift = u->shift - 1;
  for (size_t i = 0; i < u->order_len; i++) {
    const int32_t *old = u->slots + (size_t)u->order[i] * 4;
    uint32_t s = hash_of((uint32_t)old[0], shift);
    while (slots[(size_t)s * 4] != 0) s = (s + 1) & mask;
    memcpy(slots + (size_t)s * 4, old, 4 * sizeof(int32_t));
    u->order[i] = (int32_t)s;
  }
  free(u->slots);
  u->slots = slots;
  u->mask = mask;
  u->shift = shift;
  return 0;
}

int32_t unit_hits_entry(unit_hits *u, int32_t ord, int kind) {
  const uint32_t key = (uint32_t)ord * 2 + (uint32_t)kind + 1;
  for (;;) {
    uint32_t s = hash_of(key, u->shift);
    int32_t *slots = u->slots;
    for (;;) {
      const uint32_t k = (uint32_t)slots[(size_t)s * 4];
      if (k == key) return (int32_t)s;
      if (k == 0) break;
      s = (s + 1) & u->mask;
    }
    if ((u->order_len + 1) * 2 > (size_t)u->mask + 1) {
      if (grow(u) != 0) return -1;
      continue;
    }
    if (grow_array((void **)&u->order, &u->order_cap, u->order_len + 1, sizeof(int32_t)) != 0) return -1;
    int32_t *at = slots + (size_t)s * 4;
    at[0] = (int32_t)key;
    at[3] = INT32_MAX;
    u->order[u->order_len++] = (int32_t)s;
    return (int32_t)s;
  }
}

size_t unit_hits_list(const unit_hits *u, int32_t *out) {
  size_t n = 0;
  for (size_t i = 0; i < u->order_len; i++) {
    const int32_t *at = u->slots + (size_t)u->order[i] * 4;
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

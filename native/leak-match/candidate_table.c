/*
 * The candidate tables (candidate_table.h). Lookups come a chunk at a time, in two passes. The
 * first only probes, with the slot of the candidate PREFETCH_AHEAD places on prefetched, so the
 * cache misses of a table of 10^5–10^6 candidates overlap instead of waiting one by one; nearly
 * all candidates of a dump were seen before, so it finds nearly all. The second enters the rest,
 * after growing the table for them if need be (growing moves slots: then every candidate is looked
 * up again). The table is sized by the candidates it holds — at most half full — not by the
 * chunk's occurrences, so it stays as small as the JavaScript table's contents allow.
 */
#include "candidate_table.h"

#include <stdlib.h>
#include <string.h>

#define START_SLOTS (1u << 14)
#define MAX_SLOTS (1u << 30)
#define PREFETCH_AHEAD 16

static inline uint32_t hash_of(int keys, int shift, int32_t a, int32_t date) {
  /* Keys: hash 1 mixed with the date (namesakes share hash 1, not the day); BSNs: the number. */
  const uint32_t k = keys ? (uint32_t)a ^ ((uint32_t)date * 0x85ebca6bu) : (uint32_t)a;
  return (k * 0x9e3779b1u) >> shift;
}

int candidate_table_init(candidate_table *t, int key_words) {
  memset(t, 0, sizeof(*t));
  t->key_words = key_words;
  t->slots = calloc((size_t)START_SLOTS * 4, sizeof(int32_t));
  if (t->slots == NULL) return -1;
  t->mask = START_SLOTS - 1;
  t->shift = 32 - 14;
  return 0;
}

void candidate_table_free(candidate_table *t) {
  free(t->slots);
  free(t->lists);
  free(t->pending);
  free(t->pending_key);
  memset(t, 0, sizeof(*t));
}

/* Room for n more candidates at a load of at most 1/2: 1 if the table grew (slots moved), 0 if not, -1 no memory. */
static int ensure(candidate_table *t, size_t n) {
  size_t size = (size_t)t->mask + 1;
  if ((t->count + n) * 2 <= size) return 0;
  int shift = t->shift;
  while ((t->count + n) * 2 > size) {
    size *= 2;
    shift--;
  }
  if (size > MAX_SLOTS) return -1;
  int32_t *slots = calloc(size * 4, sizeof(int32_t));
  if (slots == NULL) return -1;
  const int w = t->key_words;
  const int keys = w != 1;
  const uint32_t mask = (uint32_t)size - 1;
  for (size_t at = 0; at < ((size_t)t->mask + 1) * 4; at += 4) {
    const int32_t *old = t->slots + at;
    if (old[w] == SLOT_EMPTY) continue;
    uint32_t s = hash_of(keys, shift, old[0], old[2]);
    while (slots[(size_t)s * 4 + (size_t)w] != SLOT_EMPTY) s = (s + 1) & mask;
    memcpy(slots + (size_t)s * 4, old, 4 * sizeof(int32_t));
  }
  free(t->slots);
  t->slots = slots;
  t->mask = mask;
  t->shift = shift;
  return 1;
}

/* The slot of candidate (a, b, d): its own, or the empty one where it would go. */
static inline int32_t *probe(const candidate_table *t, int keys, int32_t a, int32_t b, int32_t d, uint32_t *at) {
  const int w = t->key_words;
  uint32_t s = hash_of(keys, t->shift, a, d);
  for (;;) {
    int32_t *slot = t->slots + (size_t)s * 4;
    if (slot[w] == SLOT_EMPTY || (slot[0] == a && (!keys || (slot[1] == b && slot[2] == d)))) {
      *at = s;
      return slot;
    }
    s = (s + 1) & t->mask;
  }
}

/* Where a lookup counts unmatched BSNs. */
typedef struct {
  int32_t unit;
  distinct_values *values;
  int failed;
} unmatched_sink;

/* The id of a found candidate (candidate_table.h). */
static inline int32_t id_of(int keys, int32_t *slot, uint32_t s, unmatched_sink *u) {
  const int32_t state = slot[keys ? 3 : 1];
  if (state >= SLOT_FIRST_RESULT) return state - SLOT_FIRST_RESULT;
  if (state == SLOT_NO_HITS) {
    if (!keys && unmatched_in(slot, u->unit, u->values) != 0) u->failed = 1;
    return ID_SKIP;
  }
  return -(int32_t)s - 1;
}

/* Probes candidates [0, n) without entering any: ids, or ID_MISSING. Returns how many are missing. */
static size_t find_all(const candidate_table *t, const int32_t *k1, const int32_t *k2, const int32_t *k3, size_t n,
                       int32_t *ids, unmatched_sink *u) {
  const int keys = t->key_words != 1;
  const int w = t->key_words;
  size_t missing = 0;
  for (size_t i = 0; i < n && i < PREFETCH_AHEAD; i++)
    __builtin_prefetch(t->slots + (size_t)hash_of(keys, t->shift, k1[i], keys ? k3[i] : 0) * 4);
  for (size_t i = 0; i < n; i++) {
    if (i + PREFETCH_AHEAD < n) {
      const size_t j = i + PREFETCH_AHEAD;
      __builtin_prefetch(t->slots + (size_t)hash_of(keys, t->shift, k1[j], keys ? k3[j] : 0) * 4);
    }
    uint32_t s;
    int32_t *slot = probe(t, keys, k1[i], keys ? k2[i] : 0, keys ? k3[i] : 0, &s);
    if (slot[w] == SLOT_EMPTY) {
      ids[i] = ID_MISSING;
      missing++;
    } else {
      ids[i] = id_of(keys, slot, s, u);
    }
  }
  return missing;
}

/* Enters (or finds: an earlier occurrence of the chunk may have entered it) candidate i; -1 out of memory. */
static int enter(candidate_table *t, const int32_t *k1, const int32_t *k2, const int32_t *k3, size_t i, int32_t *ids,
                 unmatched_sink *u) {
  const int keys = t->key_words != 1;
  const int w = t->key_words;
  const int32_t a = k1[i];
  uint32_t s;
  int32_t *slot = probe(t, keys, a, keys ? k2[i] : 0, keys ? k3[i] : 0, &s);
  if (slot[w] == SLOT_EMPTY) {
    if (grow_array((void **)&t->pending, &t->pending_cap, t->pending_len + 1, sizeof(int32_t)) != 0 ||
        grow_array((void **)&t->pending_key, &t->pending_key_cap, t->pending_len + 1, sizeof(int32_t)) != 0)
      return -1;
    slot[0] = a;
    if (keys) {
      slot[1] = k2[i];
      slot[2] = k3[i];
    } else {
      slot[2] = -1; /* counted unmatched by no unit yet (bsn-table.ts) */
    }
    slot[w] = SLOT_PENDING;
    t->pending[t->pending_len] = (int32_t)s;
    t->pending_key[t->pending_len++] = keys ? (int32_t)i : a;
    t->count++;
  }
  ids[i] = id_of(keys, slot, s, u);
  return u->failed ? -1 : 0;
}

int candidate_table_lookup(candidate_table *t, const int32_t *k1, const int32_t *k2, const int32_t *k3, size_t n,
                           int32_t *ids, int32_t unit, distinct_values *unmatched) {
  t->pending_len = 0;
  unmatched_sink u = {unit, unmatched, 0};
  const size_t missing = find_all(t, k1, k2, k3, n, ids, &u);
  if (u.failed) return -1;
  if (missing == 0) return 0;
  const int grew = ensure(t, missing);
  if (grew < 0) return -1;
  /* In first-seen order, so pending (and the Matcher's batches) come in the JavaScript's order. */
  for (size_t i = 0; i < n; i++)
    if ((grew || ids[i] == ID_MISSING) && enter(t, k1, k2, k3, i, ids, &u) != 0) return -1;
  return 0;
}

int candidate_table_settle(candidate_table *t, size_t from, size_t n, const int32_t *counts, const int32_t *ords,
                           size_t nords) {
  if (from > t->pending_len || n > t->pending_len - from) return -2;
  size_t total = 0;
  for (size_t k = 0; k < n; k++) {
    if (counts[k] < 0) return -2;
    total += (size_t)counts[k];
  }
  if (total != nords) return -2;
  /* Ordinals become unit keys ord * 2 + kind + 1 (unit_hits.c). */
  for (size_t k = 0; k < nords; k++)
    if (ords[k] < 0 || ords[k] >= (1 << 30)) return -2;
  if (t->lists_len + n + nords > (size_t)INT32_MAX - SLOT_FIRST_RESULT) return -1;
  if (grow_array((void **)&t->lists, &t->lists_cap, t->lists_len + n + nords, sizeof(int32_t)) != 0) return -1;
  size_t o = 0;
  for (size_t k = 0; k < n; k++) {
    int32_t *slot = slot_of(t, t->pending[from + k]);
    const int32_t c = counts[k];
    if (c == 0) {
      slot[t->key_words] = SLOT_NO_HITS;
      continue;
    }
    const size_t h = t->lists_len;
    t->lists[h] = c;
    memcpy(t->lists + h + 1, ords + o, (size_t)c * sizeof(int32_t));
    t->lists_len += 1 + (size_t)c;
    o += (size_t)c;
    slot[t->key_words] = SLOT_FIRST_RESULT + (int32_t)h;
  }
  return 0;
}

void candidate_table_trim(candidate_table *t, size_t keep) {
  if (t->count < keep) return;
  memset(t->slots, 0, ((size_t)t->mask + 1) * 4 * sizeof(int32_t));
  t->count = 0;
  t->lists_len = 0;
  t->pending_len = 0;
}

#ifndef UNIT_HITS_H
#define UNIT_HITS_H

#include "leak_match.h"

/*
 * A work unit's hits (unit-hits.ts UnitHits): one entry per (patient ordinal, kind), an
 * open-addressing table of 4-word slots (key + 1, count, categories, first line) sized by the
 * patients the unit finds, with the slots in the order their entries were made.
 */
typedef struct {
  int32_t *slots;
  uint32_t mask;
  int shift;
  int32_t *order;
  size_t order_len, order_cap;
} unit_hits;

int unit_hits_init(unit_hits *u);
void unit_hits_free(unit_hits *u);

/* The entry (a slot) of ordinal `ord` and kind (0: BSN, 1: name + birth date), made on first use; -1 out of memory. */
int32_t unit_hits_entry(unit_hits *u, int32_t ord, int kind);

/* Prefetches the slot where the entry of (ord, kind) starts its probe (booking looks a few occurrences ahead). */
static inline void unit_hits_prefetch(const unit_hits *u, int32_t ord, int kind) {
  const uint32_t key = (uint32_t)ord * 2 + (uint32_t)kind + 1;
  __builtin_prefetch(u->slots + (size_t)((key * 0x9e3779b1u) >> u->shift) * 4);
}

/*
 * Whether this occurrence of entry e should have its record read for categories: one of its first
 * CATEGORY_SAMPLES (unit-hits.ts wantsCategories) — unless the entry already has every category
 * reading can find, when the read could add nothing and is skipped (same categories; in a dump of
 * the lab's own rows most patients have them all after their first record).
 */
static inline int unit_hits_wants_categories(const unit_hits *u, int32_t e) {
  const int32_t *at = u->slots + (size_t)e * 4;
  return at[1] < CATEGORY_SAMPLES && (at[2] & RECORD_CATEGORIES) != RECORD_CATEGORIES;
}

static inline void unit_hits_occur(unit_hits *u, int32_t e, int32_t line, int32_t categories) {
  int32_t *at = u->slots + (size_t)e * 4;
  at[1]++;
  at[2] |= categories;
  if (line < at[3]) at[3] = line;
}

/*
 * Entries with occurrences, in first-seen order, 5 words each (ordinal, kind, line, categories,
 * count), into out (room for order_len * 5); returns how many.
 */
size_t unit_hits_list(const unit_hits *u, int32_t *out);

#endif

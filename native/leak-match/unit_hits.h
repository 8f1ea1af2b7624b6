#ifndef UNIT_HITS_H
#define UNIT_HITS_H

#include "leak_match.h"

/*
 * A work unit's hits (unit-hits.ts UnitHits): one entry per (patient ordinal, kind), 4 words each
 * (key + 1, count, categories, first line), in the order they were made, which is the list's
 * order. Ordinals are a worker's small numbers from 0 (PatientOrdinals), so an entry is found by
 * indexing, not hashing: every occurrence of a hit looks its entry up, and a probed hash table of
 * ~10^4-10^5 entries missed the cache on most of them. The index (entry + 1 per key ord * 2 + kind,
 * 0: none yet) is paged: a page of PAGE_KEYS keys exists once one of its keys is used, so a small
 * unit late in a worker's life (a tar member, one hit) does not pay for all the ordinals before it.
 */
#define PAGE_BITS 8
#define PAGE_KEYS (1u << PAGE_BITS)

typedef struct {
  int32_t **pages;
  size_t npages;
  int32_t *entries;
  size_t len, cap;
} unit_hits;

int unit_hits_init(unit_hits *u);
void unit_hits_free(unit_hits *u);

/* unit_hits_entry for an entry not made yet (or a page not there yet): makes it; -1 out of memory or range. */
int32_t unit_hits_add(unit_hits *u, int32_t ord, int kind);

/* The entry of ordinal `ord` (0 <= ord < 2^30) and kind (0: BSN, 1: name + birth date), made on first use; -1 out of memory. */
static inline int32_t unit_hits_entry(unit_hits *u, int32_t ord, int kind) {
  const size_t key = (size_t)(uint32_t)ord * 2 + (size_t)kind;
  const size_t p = key >> PAGE_BITS;
  if (ord >= 0 && p < u->npages && u->pages[p] != NULL) {
    const int32_t e = u->pages[p][key & (PAGE_KEYS - 1)];
    if (e != 0) return e - 1;
  }
  return unit_hits_add(u, ord, kind);
}

/* Prefetches where the entry of (ord, kind) is found (booking looks a few occurrences ahead). */
static inline void unit_hits_prefetch(const unit_hits *u, int32_t ord, int kind) {
  const size_t key = (size_t)(uint32_t)ord * 2 + (size_t)kind;
  const size_t p = key >> PAGE_BITS;
  if (p < u->npages && u->pages[p] != NULL) __builtin_prefetch(u->pages[p] + (key & (PAGE_KEYS - 1)));
}

/*
 * Whether this occurrence of entry e should have its record read for categories: one of its first
 * CATEGORY_SAMPLES (unit-hits.ts wantsCategories) — unless the entry already has every category
 * reading can find, when the read could add nothing and is skipped (same categories; in a dump of
 * the lab's own rows most patients have them all after their first record).
 */
static inline int unit_hits_wants_categories(const unit_hits *u, int32_t e) {
  const int32_t *at = u->entries + (size_t)e * 4;
  return at[1] < CATEGORY_SAMPLES && (at[2] & RECORD_CATEGORIES) != RECORD_CATEGORIES;
}

static inline void unit_hits_occur(unit_hits *u, int32_t e, int32_t line, int32_t categories) {
  int32_t *at = u->entries + (size_t)e * 4;
  at[1]++;
  at[2] |= categories;
  if (line < at[3]) at[3] = line;
}

/*
 * Entries with occurrences, in first-seen order, 5 words each (ordinal, kind, line, categories,
 * count), into out (room for len * 5); returns how many.
 */
size_t unit_hits_list(const unit_hits *u, int32_t *out);

#endif

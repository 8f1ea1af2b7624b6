#ifndef CANDIDATE_TABLE_H
#define CANDIDATE_TABLE_H

#include "distinct_values.h"
#include "leak_match.h"

/*
 * A worker's memory of candidates (bsn-table.ts, key-table.ts): open addressing in one array of
 * 4-word slots keyed by a BSN number (word 0; word 2 is the last unit that counted it unmatched)
 * or by a name + birth date key (words 0-2: hash 1, hash 2, date). The state word (1 for BSNs, 3
 * for keys) is EMPTY, PENDING (entered, not yet matched), NO_HITS, or FIRST_RESULT + h where
 * lists[h] is the number of patient ordinals of the result and lists[h + 1 ..] the ordinals.
 */
enum { SLOT_EMPTY = 0, SLOT_PENDING = 1, SLOT_NO_HITS = 2, SLOT_FIRST_RESULT = 3 };

/* Ids of looked-up candidates (candidate_table_lookup) below every result handle and slot id. */
#define ID_SKIP INT32_MIN
#define ID_MISSING (INT32_MIN + 1)

typedef struct {
  /* 1: BSN (state in word 1), 3: key (state in word 3). */
  int key_words;
  int32_t *slots;
  uint32_t mask;
  int shift;
  size_t count;
  int32_t *lists;
  size_t lists_len, lists_cap;
  /* Slots entered by the last lookup, in first-seen order (what the Matcher is sent), with the BSN
   * number or (keys) the occurrence that entered them (its family name is read from there). */
  int32_t *pending, *pending_key;
  size_t pending_len, pending_cap, pending_key_cap;
} candidate_table;

int candidate_table_init(candidate_table *t, int key_words);
void candidate_table_free(candidate_table *t);

/*
 * ids[i] for the n candidates: the result handle (>= 0) of a candidate matched before, ID_SKIP for
 * one known to match nobody, else (new, entered as pending) -(slot + 1). Keys: k1/k2/k3 = hash 1,
 * hash 2, date; BSNs: k1 only. A BSN known to match nobody is counted unmatched in `unit` here,
 * while its slot is at hand (unmatched_in; booking would read the slot a second time): the unit's
 * distinct unmatched values come out as match-chunk.ts counts them. Slots stay put until the next
 * lookup. Returns 0, or -1 out of memory.
 */
int candidate_table_lookup(candidate_table *t, const int32_t *k1, const int32_t *k2, const int32_t *k3, size_t n,
                           int32_t *ids, int32_t unit, distinct_values *unmatched);

/* Counts the BSN in `slot` unmatched in `unit` unless it was (bsn-table.ts markUnmatched); -1 out of memory. */
static inline int unmatched_in(int32_t *slot, int32_t unit, distinct_values *unmatched) {
  if (slot[2] == unit) return 0;
  slot[2] = unit;
  return distinct_values_add(unmatched, (uint32_t)slot[0]);
}

static inline int32_t *slot_of(const candidate_table *t, int32_t s) { return t->slots + (size_t)s * 4; }

/* The result handle of a candidate new in this chunk (id -(slot + 1)), or -1 when it matched nobody. */
static inline int32_t settled_result(const candidate_table *t, int32_t id) {
  const int32_t st = slot_of(t, -id - 1)[t->key_words];
  return st >= SLOT_FIRST_RESULT ? st - SLOT_FIRST_RESULT : -1;
}

/*
 * Settles pending[from .. from + n): counts[k] ordinals each, one after another in ords (nords in
 * all). Returns 0, -1 out of memory, -2 arguments out of range.
 */
int candidate_table_settle(candidate_table *t, size_t from, size_t n, const int32_t *counts, const int32_t *ords,
                           size_t nords);

/* Empties the table once it holds `keep` candidates (between chunks only: ids are slots). */
void candidate_table_trim(candidate_table *t, size_t keep);

#endif

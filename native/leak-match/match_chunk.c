/*
 * match-chunk.ts booking in C: per occurrence, the result handle found at lookup (or, for a
 * candidate new in this chunk, its slot's state word), the result's ordinals, and the unit's entry.
 * Records are read for categories only for an entry's first CATEGORY_SAMPLES occurrences, once per
 * record and chunk. A name + birth date key in a record whose BSN named patients books only those
 * of its patients that a BSN of the record named (namesakes born the same day share a key).
 */
#include "match_chunk.h"

#include "record_categories.h"

#include <stdlib.h>
#include <string.h>

/* bsn-table.ts / key-table.ts KEEP: the tables are emptied between chunks once this large. */
#define KEEP ((size_t)1 << 19)
/*
 * Booking looks ahead: the result list of the occurrence 2 * AHEAD on is prefetched, and the unit
 * entry of the first patient of the one AHEAD on (its list arrived meanwhile), so an occurrence's
 * dependent loads — result, then unit entry — overlap with the booking of those before it.
 */
#define AHEAD 8

static inline void prefetch_ahead(const int32_t *ids, size_t i, size_t n, const int32_t *lists, const unit_hits *u,
                                  int kind) {
  if (i + 2 * AHEAD < n && ids[i + 2 * AHEAD] >= 0) __builtin_prefetch(lists + ids[i + 2 * AHEAD]);
  if (i + AHEAD < n && ids[i + AHEAD] >= 0) unit_hits_prefetch(u, lists[ids[i + AHEAD] + 1], kind);
}

int chunk_matcher_init(chunk_matcher *m) {
  memset(m, 0, sizeof(*m));
  record_categories_init();
  if (candidate_table_init(&m->bsns, 1) != 0 || candidate_table_init(&m->keys, 3) != 0) {
    chunk_matcher_free(m);
    return MATCH_NO_MEMORY;
  }
  return MATCH_OK;
}

void chunk_matcher_free(chunk_matcher *m) {
  candidate_table_free(&m->bsns);
  candidate_table_free(&m->keys);
  free(m->bsn_ids);
  free(m->key_ids);
  free(m->cats);
  free(m->named);
  free(m->more_head);
  free(m->more);
  memset(m, 0, sizeof(*m));
}

int chunk_matcher_lookup(chunk_matcher *m, const int32_t *bsn_value, size_t nb, const int32_t *h1, const int32_t *h2,
                         const int32_t *date, size_t nk, int32_t unit, distinct_values *unmatched) {
  m->looked_up = 0;
  if (grow_array((void **)&m->bsn_ids, &m->bsn_ids_cap, nb, sizeof(int32_t)) != 0 ||
      grow_array((void **)&m->key_ids, &m->key_ids_cap, nk, sizeof(int32_t)) != 0)
    return MATCH_NO_MEMORY;
  if (candidate_table_lookup(&m->bsns, bsn_value, NULL, NULL, nb, m->bsn_ids, unit, unmatched) != 0 ||
      candidate_table_lookup(&m->keys, h1, h2, date, nk, m->key_ids, unit, unmatched) != 0)
    return MATCH_NO_MEMORY;
  m->nb = nb;
  m->nk = nk;
  m->unit = unit;
  m->unmatched = unmatched;
  m->looked_up = 1;
  return MATCH_OK;
}

static inline int in_result(const int32_t *lists, int32_t h, int32_t ord) {
  const int32_t *o = lists + h + 1;
  for (int32_t j = 0, n = lists[h]; j < n; j++)
    if (o[j] == ord) return 1;
  return 0;
}

/* Whether patient `ord` is among those the BSNs of record `rec` named (result handle `first`, then those in `more`). */
static int named_in(const chunk_matcher *m, int32_t first, int32_t rec, int32_t ord) {
  const int32_t *lists = m->bsns.lists;
  if (in_result(lists, first, ord)) return 1;
  for (int32_t p = m->more_head[rec]; p >= 0; p = m->more[p + 1])
    if (in_result(lists, m->more[p], ord)) return 1;
  return 0;
}

/* Categories of record rec (spans checked by columns_in_range): read once per chunk, with the hints its fields gave. */
static inline int32_t categories_of(chunk_matcher *m, const chunk_columns *c, int32_t rec) {
  int32_t k = m->cats[rec];
  if (k < 0) {
    k = record_categories(c->buf, c->buf_len, (size_t)c->record_start[rec], (size_t)c->record_end[rec]) |
        c->record_hint[rec];
    m->cats[rec] = k;
  }
  return k;
}

/* Every record index names a record, every record span lies in the buffer (before booking anything). */
static int columns_in_range(const chunk_columns *c, size_t nb, size_t nk) {
  const size_t records = c->records;
  for (size_t r = 0; r < records; r++) {
    const int32_t s = c->record_start[r];
    const int32_t e = c->record_end[r];
    if (s < 0 || e < s || (size_t)e > c->buf_len) return 0;
  }
  for (size_t i = 0; i < nb; i++)
    if ((uint32_t)c->bsn_record[i] >= records) return 0;
  for (size_t i = 0; i < nk; i++)
    if ((uint32_t)c->key_record[i] >= records) return 0;
  return 1;
}

int chunk_matcher_book(chunk_matcher *m, const chunk_columns *c, size_t nb, size_t nk, int32_t unit, unit_hits *u,
                       distinct_values *unmatched) {
  if (!m->looked_up) return MATCH_ORDER;
  /* The chunk, unit and unmatched set of the lookup (the lookup counted some of its unmatched BSNs). */
  if (nb != m->nb || nk != m->nk || unit != m->unit || unmatched != m->unmatched) return MATCH_ORDER;
  m->looked_up = 0;
  if (!columns_in_range(c, nb, nk)) return MATCH_OUT_OF_RANGE;
  const size_t records = c->records;
  if (grow_array((void **)&m->cats, &m->cats_cap, records, sizeof(int32_t)) != 0 ||
      grow_array((void **)&m->named, &m->named_cap, records, sizeof(int32_t)) != 0 ||
      grow_array((void **)&m->more_head, &m->more_head_cap, records, sizeof(int32_t)) != 0)
    return MATCH_NO_MEMORY;
  if (records > 0) {
    memset(m->cats, 0xff, records * sizeof(int32_t));
    memset(m->named, 0, records * sizeof(int32_t));
    memset(m->more_head, 0xff, records * sizeof(int32_t));
  }
  m->more_len = 0;

  candidate_table *bsns = &m->bsns;
  const int32_t *ids = m->bsn_ids;
  for (size_t i = 0; i < nb; i++) {
    prefetch_ahead(ids, i, nb, bsns->lists, u, 0);
    const int32_t id = ids[i];
    if (id == ID_SKIP) continue;
    int32_t h = id;
    if (id < 0 && (h = settled_result(bsns, id)) < 0) {
      /* New in this chunk and matched nobody: counted here (known ones were at lookup). */
      if (unmatched_in(slot_of(bsns, -id - 1), unit, unmatched) != 0) return MATCH_NO_MEMORY;
      continue;
    }
    const int32_t rec = c->bsn_record[i];
    /* Records whose BSN named a patient: their name + birth date pairs are about that patient. */
    const int32_t before = m->named[rec];
    if (before == 0)
      m->named[rec] = h + 1;
    else if (before != h + 1) {
      if (grow_array((void **)&m->more, &m->more_cap, m->more_len + 2, sizeof(int32_t)) != 0) return MATCH_NO_MEMORY;
      m->more[m->more_len] = h;
      m->more[m->more_len + 1] = m->more_head[rec];
      m->more_head[rec] = (int32_t)m->more_len;
      m->more_len += 2;
    }
    const int32_t line = c->bsn_line[i];
    const int32_t *ords = bsns->lists + h + 1;
    for (int32_t j = 0, n = bsns->lists[h]; j < n; j++) {
      const int32_t e = unit_hits_entry(u, ords[j], 0);
      if (e < 0) return MATCH_NO_MEMORY;
      const int32_t cats = unit_hits_wants_categories(u, e) ? categories_of(m, c, rec) : c->record_hint[rec];
      unit_hits_occur(u, e, line, cats | CAT_NATIONAL_ID);
    }
  }

  candidate_table *keys = &m->keys;
  ids = m->key_ids;
  for (size_t i = 0; i < nk; i++) {
    prefetch_ahead(ids, i, nk, keys->lists, u, 1);
    const int32_t id = ids[i];
    if (id == ID_SKIP) continue;
    const int32_t h = id >= 0 ? id : settled_result(keys, id);
    if (h < 0) continue;
    const int32_t rec = c->key_record[i];
    const int32_t named = m->named[rec];
    const int32_t line = c->key_line[i];
    const int32_t *ords = keys->lists + h + 1;
    for (int32_t j = 0, n = keys->lists[h]; j < n; j++) {
      const int32_t ord = ords[j];
      /* Namesakes born the same day share a key; a BSN in the record tells which one it is. */
      if (named != 0 && !named_in(m, named - 1, rec, ord)) continue;
      const int32_t e = unit_hits_entry(u, ord, 1);
      if (e < 0) return MATCH_NO_MEMORY;
      const int32_t cats = unit_hits_wants_categories(u, e) ? categories_of(m, c, rec) : c->record_hint[rec];
      unit_hits_occur(u, e, line, cats | CAT_NAMES | CAT_BIRTH_DATES);
    }
  }
  candidate_table_trim(bsns, KEEP);
  candidate_table_trim(keys, KEEP);
  return MATCH_OK;
}

#ifndef MATCH_CHUNK_H
#define MATCH_CHUNK_H

#include "candidate_table.h"
#include "distinct_values.h"
#include "unit_hits.h"

/* A worker's tables and the per-chunk scratch of match-chunk.ts. */
typedef struct {
  candidate_table bsns, keys;
  /* Per candidate of the chunk looked up last: result handle, ID_SKIP or -(slot + 1) (candidate_table_lookup). */
  int32_t *bsn_ids, *key_ids;
  size_t bsn_ids_cap, key_ids_cap;
  size_t nb, nk;
  int32_t unit;
  distinct_values *unmatched;
  int looked_up;
  /* Per record of the chunk: categories (-1: not read yet), 1 + the first BSN result naming it
   * (0: none), and the head of its list of further results in `more` (pairs: handle, next). */
  int32_t *cats, *named, *more_head;
  size_t cats_cap, named_cap, more_head_cap;
  int32_t *more;
  size_t more_len, more_cap;
} chunk_matcher;

/* The columns of a chunk that booking reads (candidate-collector.ts). */
typedef struct {
  const uint8_t *buf;
  size_t buf_len;
  const int32_t *bsn_line, *bsn_record;
  const int32_t *key_line, *key_record;
  const int32_t *record_start, *record_end, *record_hint;
  size_t records;
} chunk_columns;

enum { MATCH_OK = 0, MATCH_NO_MEMORY = -1, MATCH_OUT_OF_RANGE = -2, MATCH_ORDER = -3 };

int chunk_matcher_init(chunk_matcher *m);
void chunk_matcher_free(chunk_matcher *m);

/*
 * Looks up a chunk's nb BSNs and nk keys (match-chunk.ts up to m.resolve()): new ones become
 * pending; BSNs known to match nobody are counted unmatched in `unit` now (candidate_table_lookup).
 */
int chunk_matcher_lookup(chunk_matcher *m, const int32_t *bsn_value, size_t nb, const int32_t *h1, const int32_t *h2,
                         const int32_t *date, size_t nk, int32_t unit, distinct_values *unmatched);

/* Books the chunk looked up last into u and unmatched (match-chunk.ts after m.resolve()), then trims the tables. */
int chunk_matcher_book(chunk_matcher *m, const chunk_columns *c, size_t nb, size_t nk, int32_t unit, unit_hits *u,
                       distinct_values *unmatched);

#endif

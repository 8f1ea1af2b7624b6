/*
 * The N-API surface of the leak matcher (src/leak/native-match.ts is its only caller). State lives
 * in externals with finalizers, type-tagged so that one kind cannot be passed for another: a
 * worker's matcher (candidate tables and per-chunk scratch), and per work unit its hits and its
 * unmatched BSNs. A chunk costs lookup, settle (only when it has new candidates, per Matcher
 * batch) and book: no call per occurrence. Errors name what was wrong, never a value.
 */
#include <stdlib.h>
#include <string.h>

#include "keyed_index_napi.h"
#include "match_chunk.h"
#include "napi_args.h"
#include "record_categories.h"

static const napi_type_tag MATCHER_TAG = {0x6c65616b6d617463ULL, 0x686572000000001ULL};
static const napi_type_tag HITS_TAG = {0x6c65616b6d617463ULL, 0x686974730000002ULL};
static const napi_type_tag VALUES_TAG = {0x6c65616b6d617463ULL, 0x76616c7565730003ULL};

/* Throws for a failed matcher/booking call; returns NULL for the caller to return. */
static napi_value throw_status(napi_env env, int status) {
  if (status == MATCH_NO_MEMORY)
    napi_throw_error(env, "ENOMEM", "leak-match: out of memory");
  else if (status == MATCH_ORDER)
    napi_throw_error(env, NULL, "leak-match: book without a lookup of the same chunk and unit");
  else
    napi_throw_range_error(env, NULL, "leak-match: candidate columns out of range");
  return NULL;
}

static void free_matcher(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  chunk_matcher_free((chunk_matcher *)data);
  free(data);
}

static void free_hits(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  unit_hits_free((unit_hits *)data);
  free(data);
}

static void free_values(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  distinct_values_free((distinct_values *)data);
  free(data);
}

static napi_value create_matcher(napi_env env, napi_callback_info info) {
  (void)info;
  chunk_matcher *m = malloc(sizeof(*m));
  if (m == NULL || chunk_matcher_init(m) != MATCH_OK) {
    free(m);
    return throw_status(env, MATCH_NO_MEMORY);
  }
  napi_value out = wrap(env, m, free_matcher, &MATCHER_TAG);
  if (out == NULL) free_matcher(env, m, NULL);
  return out;
}

static napi_value create_hits(napi_env env, napi_callback_info info) {
  (void)info;
  unit_hits *u = malloc(sizeof(*u));
  if (u == NULL || unit_hits_init(u) != 0) {
    free(u);
    return throw_status(env, MATCH_NO_MEMORY);
  }
  napi_value out = wrap(env, u, free_hits, &HITS_TAG);
  if (out == NULL) free_hits(env, u, NULL);
  return out;
}

static napi_value create_values(napi_env env, napi_callback_info info) {
  (void)info;
  distinct_values *d = malloc(sizeof(*d));
  if (d == NULL) return throw_status(env, MATCH_NO_MEMORY);
  distinct_values_init(d);
  napi_value out = wrap(env, d, free_values, &VALUES_TAG);
  if (out == NULL) free_values(env, d, NULL);
  return out;
}

/*
 * lookup(matcher, unmatched, unit, bsnValue, nb, h1, h2, date, nk): null when every candidate was
 * seen before, else an Int32Array [new BSNs, new keys, their BSN numbers…, the occurrence index of
 * each new key…] (the caller reads a new key's family name from its occurrence) for settle().
 * BSNs known to match nobody are counted in `unmatched` for `unit` here; book() must follow with
 * the same chunk, unit and unmatched set.
 */
static napi_value lookup(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 9) return napi_throw_type_error(env, NULL, "leak-match: lookup takes 9 arguments"), NULL;
  chunk_matcher *m = get_tagged(env, argv[0], &MATCHER_TAG, "leak-match: not a matcher");
  if (m == NULL) return NULL;
  distinct_values *d = get_tagged(env, argv[1], &VALUES_TAG, "leak-match: not a unit's unmatched values");
  if (d == NULL) return NULL;
  int32_t unit;
  if (napi_get_value_int32(env, argv[2], &unit) != napi_ok)
    return napi_throw_type_error(env, NULL, "leak-match: bad unit"), NULL;
  size_t nb, nk;
  if (get_count(env, argv[4], "leak-match: bad BSN count", &nb) ||
      get_count(env, argv[8], "leak-match: bad key count", &nk))
    return NULL;
  const int32_t *values = get_array(env, argv[3], napi_int32_array, nb, "leak-match: bad BSN column", NULL);
  if (values == NULL) return NULL;
  const int32_t *h1 = get_array(env, argv[5], napi_int32_array, nk, "leak-match: bad key column", NULL);
  if (h1 == NULL) return NULL;
  const int32_t *h2 = get_array(env, argv[6], napi_int32_array, nk, "leak-match: bad key column", NULL);
  if (h2 == NULL) return NULL;
  const int32_t *date = get_array(env, argv[7], napi_int32_array, nk, "leak-match: bad key column", NULL);
  if (date == NULL) return NULL;
  const int status = chunk_matcher_lookup(m, values, nb, h1, h2, date, nk, unit, d);
  if (status != MATCH_OK) return throw_status(env, status);
  const size_t pb = m->bsns.pending_len;
  const size_t pk = m->keys.pending_len;
  napi_value out;
  if (pb == 0 && pk == 0) {
    CHECK(env, napi_get_null(env, &out));
    return out;
  }
  napi_value ab;
  void *data = NULL;
  CHECK(env, napi_create_arraybuffer(env, (2 + pb + pk) * sizeof(int32_t), &data, &ab));
  int32_t *o = data;
  o[0] = (int32_t)pb;
  o[1] = (int32_t)pk;
  /* A table that never had a new candidate has no pending list at all (NULL). */
  if (pb > 0) memcpy(o + 2, m->bsns.pending_key, pb * sizeof(int32_t));
  if (pk > 0) memcpy(o + 2 + pb, m->keys.pending_key, pk * sizeof(int32_t));
  CHECK(env, napi_create_typedarray(env, napi_int32_array, 2 + pb + pk, ab, 0, &out));
  return out;
}

/* settle(matcher, kind (0: BSNs, 1: keys), from, counts, n, ords, nords): results of pending[from .. from + n). */
static napi_value settle(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 7) return napi_throw_type_error(env, NULL, "leak-match: settle takes 7 arguments"), NULL;
  chunk_matcher *m = get_tagged(env, argv[0], &MATCHER_TAG, "leak-match: not a matcher");
  if (m == NULL) return NULL;
  size_t kind, from, n, nords;
  if (get_count(env, argv[1], "leak-match: bad kind", &kind) ||
      get_count(env, argv[2], "leak-match: bad offset", &from) ||
      get_count(env, argv[4], "leak-match: bad count", &n) || get_count(env, argv[6], "leak-match: bad count", &nords))
    return NULL;
  if (kind > 1) return napi_throw_range_error(env, NULL, "leak-match: bad kind"), NULL;
  const int32_t *counts = get_array(env, argv[3], napi_int32_array, n, "leak-match: bad result counts", NULL);
  if (counts == NULL) return NULL;
  const int32_t *ords = get_array(env, argv[5], napi_int32_array, nords, "leak-match: bad ordinals", NULL);
  if (ords == NULL) return NULL;
  const int status = candidate_table_settle(kind == 0 ? &m->bsns : &m->keys, from, n, counts, ords, nords);
  if (status == -1) return throw_status(env, MATCH_NO_MEMORY);
  if (status != 0) return napi_throw_range_error(env, NULL, "leak-match: results out of range"), NULL;
  return NULL;
}

/*
 * book(matcher, hits, unmatched, unit, buf, bsnLine, bsnRecord, nb, keyLine, keyRecord, nk,
 * recordStart, recordEnd, recordHint, records): books the chunk looked up last.
 */
static napi_value book(napi_env env, napi_callback_info info) {
  size_t argc = 15;
  napi_value argv[15];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 15) return napi_throw_type_error(env, NULL, "leak-match: book takes 15 arguments"), NULL;
  chunk_matcher *m = get_tagged(env, argv[0], &MATCHER_TAG, "leak-match: not a matcher");
  if (m == NULL) return NULL;
  unit_hits *u = get_tagged(env, argv[1], &HITS_TAG, "leak-match: not a unit's hits");
  if (u == NULL) return NULL;
  distinct_values *d = get_tagged(env, argv[2], &VALUES_TAG, "leak-match: not a unit's unmatched values");
  if (d == NULL) return NULL;
  int32_t unit;
  if (napi_get_value_int32(env, argv[3], &unit) != napi_ok)
    return napi_throw_type_error(env, NULL, "leak-match: bad unit"), NULL;
  size_t nb, nk, records;
  if (get_count(env, argv[7], "leak-match: bad BSN count", &nb) ||
      get_count(env, argv[10], "leak-match: bad key count", &nk) ||
      get_count(env, argv[14], "leak-match: bad record count", &records))
    return NULL;
  chunk_columns c;
  c.buf = get_array(env, argv[4], napi_uint8_array, 0, "leak-match: bad buffer", &c.buf_len);
  if (c.buf == NULL) return NULL;
  c.records = records;
  if (!(c.bsn_line = get_array(env, argv[5], napi_int32_array, nb, "leak-match: bad BSN column", NULL)) ||
      !(c.bsn_record = get_array(env, argv[6], napi_int32_array, nb, "leak-match: bad BSN column", NULL)) ||
      !(c.key_line = get_array(env, argv[8], napi_int32_array, nk, "leak-match: bad key column", NULL)) ||
      !(c.key_record = get_array(env, argv[9], napi_int32_array, nk, "leak-match: bad key column", NULL)) ||
      !(c.record_start = get_array(env, argv[11], napi_int32_array, records, "leak-match: bad record column", NULL)) ||
      !(c.record_end = get_array(env, argv[12], napi_int32_array, records, "leak-match: bad record column", NULL)) ||
      !(c.record_hint = get_array(env, argv[13], napi_int32_array, records, "leak-match: bad record column", NULL)))
    return NULL;
  const int status = chunk_matcher_book(m, &c, nb, nk, unit, u, d);
  if (status != MATCH_OK) return throw_status(env, status);
  return NULL;
}

/* list(hits): Int32Array, 5 words per entry with occurrences (first-seen order): ordinal, kind, line, cats, count. */
static napi_value list(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  unit_hits *u = argc == 1 ? get_tagged(env, argv[0], &HITS_TAG, "leak-match: not a unit's hits") : NULL;
  if (u == NULL) return throw_pending_or(env, "leak-match: not a unit's hits"), NULL;
  napi_value ab, out;
  void *data = NULL;
  CHECK(env, napi_create_arraybuffer(env, u->len * 5 * sizeof(int32_t), &data, &ab));
  const size_t n = u->len > 0 ? unit_hits_list(u, data) : 0;
  CHECK(env, napi_create_typedarray(env, napi_int32_array, n * 5, ab, 0, &out));
  return out;
}

/* values(unmatched): the distinct values, sorted, as a new Uint32Array. */
static napi_value values(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  distinct_values *d =
      argc == 1 ? get_tagged(env, argv[0], &VALUES_TAG, "leak-match: not a unit's unmatched values") : NULL;
  if (d == NULL) return throw_pending_or(env, "leak-match: not a unit's unmatched values"), NULL;
  distinct_values_compact(d);
  napi_value ab, out;
  void *data = NULL;
  CHECK(env, napi_create_arraybuffer(env, d->len * sizeof(uint32_t), &data, &ab));
  if (d->len > 0) memcpy(data, d->data, d->len * sizeof(uint32_t));
  CHECK(env, napi_create_typedarray(env, napi_uint32_array, d->len, ab, 0, &out));
  return out;
}

/* recordCategories(buf, s, e): record_categories on buf[s .. e), for tests against record-categories.ts. */
static napi_value categories(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 3) return napi_throw_type_error(env, NULL, "leak-match: recordCategories takes 3 arguments"), NULL;
  size_t len, s, e;
  const uint8_t *buf = get_array(env, argv[0], napi_uint8_array, 0, "leak-match: bad buffer", &len);
  if (buf == NULL || get_count(env, argv[1], "leak-match: bad record start", &s) ||
      get_count(env, argv[2], "leak-match: bad record end", &e))
    return NULL;
  if (s > e || e > len) return napi_throw_range_error(env, NULL, "leak-match: record out of range"), NULL;
  record_categories_init();
  napi_value out;
  CHECK(env, napi_create_int32(env, record_categories(buf, len, s, e), &out));
  return out;
}

NAPI_MODULE_INIT() {
  const napi_property_descriptor props[] = {
      {"createMatcher", NULL, create_matcher, NULL, NULL, NULL, napi_default, NULL},
      {"createHits", NULL, create_hits, NULL, NULL, NULL, napi_default, NULL},
      {"createValues", NULL, create_values, NULL, NULL, NULL, napi_default, NULL},
      {"lookup", NULL, lookup, NULL, NULL, NULL, napi_default, NULL},
      {"settle", NULL, settle, NULL, NULL, NULL, napi_default, NULL},
      {"book", NULL, book, NULL, NULL, NULL, napi_default, NULL},
      {"list", NULL, list, NULL, NULL, NULL, napi_default, NULL},
      {"values", NULL, values, NULL, NULL, NULL, napi_default, NULL},
      {"recordCategories", NULL, categories, NULL, NULL, NULL, napi_default, NULL},
      {"createIndex", NULL, keyed_create_index, NULL, NULL, NULL, napi_default, NULL},
      {"matchBsns", NULL, keyed_match_bsns, NULL, NULL, NULL, napi_default, NULL},
      {"matchKeys", NULL, keyed_match_keys, NULL, NULL, NULL, napi_default, NULL},
      {"indexesOf", NULL, keyed_indexes_of, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return NULL;
  return exports;
}

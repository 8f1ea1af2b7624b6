#include "keyed_index_napi.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "keyed_index.h"

static const napi_type_tag INDEX_TAG = {0x6c65616b6d617463ULL, 0x696e646578000004ULL};

static napi_value throw_keyed(napi_env env, int status) {
  if (status == KEYED_NO_MEMORY)
    napi_throw_error(env, "ENOMEM", "leak-match: out of memory");
  else if (status == KEYED_CRYPTO)
    napi_throw_error(env, NULL, "leak-match: the blind-index PRF failed");
  else
    napi_throw_range_error(env, NULL, "leak-match: index arguments out of range");
  return NULL;
}

static void free_index(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  keyed_index_free((keyed_index *)data);
  free(data);
}

static const char *const FIELDS[5] = {"key", "bsn", "bsnPatients", "name", "namePatients"};

static int add_tenant(napi_env env, keyed_index *k, size_t t, napi_value obj) {
  /* Every property first (a getter may run JavaScript), then the arrays' memory, with none run in between. */
  napi_value v[5];
  for (int f = 0; f < 5; f++)
    if (napi_get_named_property(env, obj, FIELDS[f], &v[f]) != napi_ok) {
      throw_pending_or(env, "leak-match: bad index tenant");
      return -1;
    }
  size_t key_len, nb_bytes, nb, nn_bytes, nn;
  const uint8_t *key = get_array(env, v[0], napi_uint8_array, 0, "leak-match: bad index tenant", &key_len);
  if (key == NULL) return -1;
  const uint8_t *bsn = get_array(env, v[1], napi_uint8_array, 0, "leak-match: bad index tenant", &nb_bytes);
  if (bsn == NULL) return -1;
  const int32_t *bsn_patients = get_array(env, v[2], napi_int32_array, 0, "leak-match: bad index tenant", &nb);
  if (bsn_patients == NULL) return -1;
  const uint8_t *name = get_array(env, v[3], napi_uint8_array, 0, "leak-match: bad index tenant", &nn_bytes);
  if (name == NULL) return -1;
  const int32_t *name_patients = get_array(env, v[4], napi_int32_array, 0, "leak-match: bad index tenant", &nn);
  if (name_patients == NULL) return -1;
  if (key_len != 32 || nb_bytes != nb * 16 || nn_bytes != nn * 16) {
    napi_throw_range_error(env, NULL, "leak-match: an index tenant's key or indexes have the wrong length");
    return -1;
  }
  const int status = keyed_index_set_tenant(k, t, key, bsn, bsn_patients, nb, name, name_patients, nn);
  if (status != KEYED_OK) {
    throw_keyed(env, status);
    return -1;
  }
  return 0;
}

napi_value keyed_create_index(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is = false;
  uint32_t tenants = 0;
  if (argc != 1 || napi_is_array(env, argv[0], &is) != napi_ok || !is ||
      napi_get_array_length(env, argv[0], &tenants) != napi_ok)
    return napi_throw_type_error(env, NULL, "leak-match: createIndex takes an array of tenants"), NULL;
  keyed_index *k = malloc(sizeof(*k));
  if (k == NULL || keyed_index_init(k, tenants) != KEYED_OK) {
    free(k);
    return throw_keyed(env, KEYED_NO_MEMORY);
  }
  for (uint32_t t = 0; t < tenants; t++) {
    napi_value obj;
    if (napi_get_element(env, argv[0], t, &obj) != napi_ok || add_tenant(env, k, t, obj) != 0) {
      throw_pending_or(env, "leak-match: bad index tenant");
      free_index(env, k, NULL);
      return NULL;
    }
  }
  napi_value out = wrap(env, k, free_index, &INDEX_TAG);
  if (out == NULL) free_index(env, k, NULL);
  return out;
}

/* The last match's counts and pairs as a new Int32Array. */
static napi_value match_result(napi_env env, const keyed_index *k) {
  napi_value ab, out;
  void *data = NULL;
  CHECK(env, napi_create_arraybuffer(env, k->out_len * sizeof(int32_t), &data, &ab));
  if (k->out_len > 0) memcpy(data, k->out, k->out_len * sizeof(int32_t));
  CHECK(env, napi_create_typedarray(env, napi_int32_array, k->out_len, ab, 0, &out));
  return out;
}

/* Clears and frees candidate messages (bytes of them). */
static void drop_messages(uint8_t *msg, size_t bytes) {
  OPENSSL_cleanse(msg, bytes);
  free(msg);
}

/* Matches the n messages in msg (size bytes each), then clears and frees them. */
static napi_value match_messages(napi_env env, keyed_index *k, int kind, uint8_t *msg, size_t n, size_t size) {
  const int status = keyed_index_match(k, kind, msg, n);
  drop_messages(msg, n * size);
  if (status != KEYED_OK) return throw_keyed(env, status);
  return match_result(env, k);
}

napi_value keyed_match_bsns(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 3) return napi_throw_type_error(env, NULL, "leak-match: matchBsns takes 3 arguments"), NULL;
  keyed_index *k = get_tagged(env, argv[0], &INDEX_TAG, "leak-match: not an index");
  if (k == NULL) return NULL;
  size_t n;
  if (get_count(env, argv[2], "leak-match: bad BSN count", &n)) return NULL;
  const int32_t *values = get_array(env, argv[1], napi_int32_array, n, "leak-match: bad BSN column", NULL);
  if (values == NULL) return NULL;
  uint8_t *msg = malloc((n > 0 ? n : 1) * 16);
  if (msg == NULL) return throw_keyed(env, KEYED_NO_MEMORY);
  /* Each value read once: what is checked is what is used (the array's memory may be shared). */
  for (size_t i = 0; i < n; i++) {
    const int32_t v = values[i];
    if (v < 0 || v > 999999999) {
      drop_messages(msg, n * 16);
      return throw_keyed(env, KEYED_RANGE);
    }
    keyed_bsn_message(msg + i * 16, v);
  }
  return match_messages(env, k, KEYED_BSN, msg, n, 16);
}

napi_value keyed_match_keys(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 7) return napi_throw_type_error(env, NULL, "leak-match: matchKeys takes 7 arguments"), NULL;
  keyed_index *k = get_tagged(env, argv[0], &INDEX_TAG, "leak-match: not an index");
  if (k == NULL) return NULL;
  size_t n, buf_len, nfrom, nto, ndate;
  if (get_count(env, argv[6], "leak-match: bad key count", &n)) return NULL;
  const uint8_t *buf = get_array(env, argv[1], napi_uint8_array, 0, "leak-match: bad buffer", &buf_len);
  if (buf == NULL) return NULL;
  const int32_t *from = get_array(env, argv[2], napi_int32_array, 0, "leak-match: bad key column", &nfrom);
  if (from == NULL) return NULL;
  const int32_t *to = get_array(env, argv[3], napi_int32_array, 0, "leak-match: bad key column", &nto);
  if (to == NULL) return NULL;
  const int32_t *date = get_array(env, argv[4], napi_int32_array, 0, "leak-match: bad key column", &ndate);
  if (date == NULL) return NULL;
  const int32_t *at = get_array(env, argv[5], napi_int32_array, n, "leak-match: bad key occurrences", NULL);
  if (at == NULL) return NULL;
  uint8_t *msg = malloc((n > 0 ? n : 1) * 64);
  if (msg == NULL) return throw_keyed(env, KEYED_NO_MEMORY);
  /* Every occurrence names a key whose family name lies in the buffer and whose date is a date; each
   * value read once, so what is checked is what is used. */
  for (size_t i = 0; i < n; i++) {
    const int32_t o = at[i];
    const int ok = o >= 0 && (size_t)o < nfrom && (size_t)o < nto && (size_t)o < ndate;
    const int32_t s = ok ? from[o] : -1, e = ok ? to[o] : -1, d = ok ? date[o] : -1;
    if (!ok || s < 0 || e < s || (size_t)e > buf_len || d < 0) {
      drop_messages(msg, n * 64);
      return throw_keyed(env, KEYED_RANGE);
    }
    keyed_name_message(msg + i * 64, buf, s, e, d);
  }
  return match_messages(env, k, KEYED_NAME, msg, n, 64);
}

napi_value keyed_indexes_of(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 4) return napi_throw_type_error(env, NULL, "leak-match: indexesOf takes 4 arguments"), NULL;
  keyed_index *k = get_tagged(env, argv[0], &INDEX_TAG, "leak-match: not an index");
  if (k == NULL) return NULL;
  size_t tenant, blocks, len;
  if (get_count(env, argv[1], "leak-match: bad tenant", &tenant) ||
      get_count(env, argv[2], "leak-match: bad block count", &blocks))
    return NULL;
  const uint8_t *msg = get_array(env, argv[3], napi_uint8_array, 0, "leak-match: bad messages", &len);
  if (msg == NULL) return NULL;
  if (blocks < 1 || blocks > 4 || len % (blocks * 16) != 0) return throw_keyed(env, KEYED_RANGE);
  const size_t n = len / (blocks * 16);
  napi_value ab, out;
  void *data = NULL;
  CHECK(env, napi_create_arraybuffer(env, n * 16, &data, &ab));
  const int status = keyed_index_prf(k, tenant, (int)blocks, msg, n, data);
  if (status != KEYED_OK) return throw_keyed(env, status);
  CHECK(env, napi_create_typedarray(env, napi_uint8_array, n * 16, ab, 0, &out));
  return out;
}

#include "napi_args.h"

#include <stdint.h>

void throw_pending_or(napi_env env, const char *message) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return;
  napi_throw_error(env, NULL, message);
}

void *get_tagged(napi_env env, napi_value v, const napi_type_tag *tag, const char *what) {
  bool ok = false;
  void *p = NULL;
  if (napi_check_object_type_tag(env, v, tag, &ok) != napi_ok || !ok ||
      napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
  return p;
}

/* A count argument: an integer in [0, 2^31). */
int get_count(napi_env env, napi_value v, const char *what, size_t *out) {
  int64_t n = -1;
  if (napi_get_value_int64(env, v, &n) != napi_ok || n < 0 || n > INT32_MAX) {
    napi_throw_range_error(env, NULL, what);
    return -1;
  }
  *out = (size_t)n;
  return 0;
}

/* A typed array of `type` with at least `min` elements. */
void *get_array(napi_env env, napi_value v, napi_typedarray_type type, size_t min, const char *what,
                       size_t *length) {
  bool is = false;
  napi_typedarray_type t;
  size_t n = 0;
  void *data = NULL;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &t, &n, &data, NULL, NULL) != napi_ok || t != type) {
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
  if (n < min) {
    napi_throw_range_error(env, NULL, what);
    return NULL;
  }
  if (length) *length = n;
  /* An empty view may have no data pointer; nothing is read from it then. */
  static int32_t none;
  return data != NULL ? data : (void *)&none;
}

/*
 * An external owning p, tagged. Created without a finalizer, so that on failure the caller frees p
 * (and only the caller); the finalizer is added last, once nothing can fail any more.
 */
napi_value wrap(napi_env env, void *p, napi_finalize fin, const napi_type_tag *tag) {
  napi_value out;
  if (napi_create_external(env, p, NULL, NULL, &out) != napi_ok || napi_type_tag_object(env, out, tag) != napi_ok ||
      napi_add_finalizer(env, out, p, fin, NULL, NULL) != napi_ok) {
    throw_pending_or(env, "leak-match: N-API call failed");
    return NULL;
  }
  return out;
}


/* Argument reading and externals shared by the leak matcher's N-API surfaces (napi_glue.c, keyed_index_napi.c). */
#ifndef NAPI_ARGS_H
#define NAPI_ARGS_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stddef.h>

#define CHECK(env, call)                                    \
  do {                                                      \
    if ((call) != napi_ok) {                                \
      throw_pending_or(env, "leak-match: N-API call failed"); \
      return NULL;                                          \
    }                                                       \
  } while (0)

/* Throws `message` unless an exception is already pending. */
void throw_pending_or(napi_env env, const char *message);

/* The pointer of an external tagged `tag`, or NULL with a TypeError saying `what`. */
void *get_tagged(napi_env env, napi_value v, const napi_type_tag *tag, const char *what);

/* A count argument: an integer in [0, 2^31); -1 with a RangeError saying `what`. */
int get_count(napi_env env, napi_value v, const char *what, size_t *out);

/* A typed array of `type` with at least `min` elements (its length into *length when not NULL). */
void *get_array(napi_env env, napi_value v, napi_typedarray_type type, size_t min, const char *what, size_t *length);

/* An external owning p, tagged, freed by `fin` (on failure NULL, and p is the caller's to free). */
napi_value wrap(napi_env env, void *p, napi_finalize fin, const napi_type_tag *tag);

#endif

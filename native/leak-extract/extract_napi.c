/*
 * The N-API surface of the native candidate extraction:
 *   create(format, delimiter, midFile) -> handle
 *   scan(handle, buf, from, to, mode, recordBase, out, counts, nameRole, listRoles) -> consumed
 *   useHeader(handle, buf, s, e, nameRole, listRoles)
 *   release(handle)   (the unit is done: its buffers go to the next scanner of this thread)
 * One call per chunk: the candidates of the whole call are appended to `out` (the collector's 13
 * Int32Arrays, replaced by larger ones when too small), whose lengths are counts[0..12] before and
 * after; counts[13] holds the scanner's line count, which the caller may set between calls (it
 * counts from a new base past 2^30 lines), and endsInsideRecord comes back in counts[14]. Out of
 * memory is a thrown Error (code ERR_LEAK_OUT_OF_MEMORY), after which the scanner refuses to scan.
 * Field-name roles are asked of
 * JavaScript through nameRole(s, e) / listRoles(kind, s, e) (offsets into buf), rarely: the
 * scanner remembers them.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include "oom.h"
#include "scanner.h"

#define CHECK(call)                                  \
  do {                                               \
    if ((call) != napi_ok) return throw_status(env); \
  } while (0)

static napi_value throw_status(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, NULL, "leak_extract: N-API call failed");
  return NULL;
}

static napi_value throw_oom(napi_env env) {
  napi_throw_error(env, "ERR_LEAK_OUT_OF_MEMORY", "leak_extract: out of memory while scanning");
  return NULL;
}

static napi_value throw_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

typedef struct {
  napi_env env;
  napi_value nameRole, listRoles;
  Scanner *sc;
} CallCtx;

/* Each callback runs in its own handle scope: a chunk of many distinct field names makes many calls. */
static int js_name_role(void *ctx, i32 s, i32 e) {
  CallCtx *x = ctx;
  napi_env env = x->env;
  napi_value args[2], global, result;
  napi_handle_scope scope;
  int32_t role = 0;
  if (x->sc->failed || napi_open_handle_scope(env, &scope) != napi_ok) {
    x->sc->failed = 1;
    return -1;
  }
  if (napi_get_global(env, &global) != napi_ok || napi_create_int32(env, s, &args[0]) != napi_ok ||
      napi_create_int32(env, e, &args[1]) != napi_ok || napi_call_function(env, global, x->nameRole, 2, args, &result) != napi_ok ||
      napi_get_value_int32(env, result, &role) != napi_ok || role < 0 || role > 6) {
    x->sc->failed = 1;
    role = -1;
  }
  napi_close_handle_scope(env, scope);
  return role;
}

static int js_list_roles(void *ctx, int kind, i32 s, i32 e, u8 *out, int max) {
  CallCtx *x = ctx;
  napi_env env = x->env;
  napi_value args[3], global, result;
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void *data = NULL;
  napi_value ab;
  napi_handle_scope scope;
  if (x->sc->failed || napi_open_handle_scope(env, &scope) != napi_ok) {
    x->sc->failed = 1;
    return -1;
  }
  int n = -1;
  if (napi_get_global(env, &global) != napi_ok || napi_create_int32(env, kind, &args[0]) != napi_ok ||
      napi_create_int32(env, s, &args[1]) != napi_ok || napi_create_int32(env, e, &args[2]) != napi_ok ||
      napi_call_function(env, global, x->listRoles, 3, args, &result) != napi_ok ||
      napi_get_typedarray_info(env, result, &type, &length, &data, &ab, &offset) != napi_ok || type != napi_uint8_array) {
    x->sc->failed = 1;
  } else {
    n = length < (size_t)max ? (int)length : max;
    if (n > 0) memcpy(out, data, (size_t)n);
  }
  napi_close_handle_scope(env, scope);
  return n;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  scanner_free(data);
  free(data);
}

/* Handles carry this tag, so another addon's external (a leak-match handle) is refused, not cast. */
static const napi_type_tag SCANNER_TAG = {0x6c65616b65787472ULL, 0x7363616e6e657231ULL};

/* The scanner behind a handle; one that ran out of memory earlier only if `retiredOk` (to release it). */
static napi_value get_scanner_of(napi_env env, napi_value v, Scanner **out, int retiredOk) {
  void *p = NULL;
  bool tagged = false;
  if (napi_check_object_type_tag(env, v, &SCANNER_TAG, &tagged) != napi_ok || !tagged || napi_get_value_external(env, v, &p) != napi_ok || !p)
    return throw_range(env, "leak_extract: not a scanner handle");
  Scanner *sc = p;
  if (sc->busy) return throw_range(env, "leak_extract: scanner re-entered from a field-role callback");
  if (sc->released) return throw_range(env, "leak_extract: scanner already released");
  if (sc->retired && !retiredOk) {
    napi_throw_error(env, "ERR_LEAK_OUT_OF_MEMORY", "leak_extract: scanner ran out of memory earlier and cannot go on");
    return NULL;
  }
  *out = sc;
  return v;
}

static napi_value get_scanner(napi_env env, napi_value v, Scanner **out) { return get_scanner_of(env, v, out, 0); }

static napi_value get_bytes(napi_env env, napi_value v, Bytes *b) {
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void *data = NULL;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset) != napi_ok || type != napi_uint8_array)
    return throw_range(env, "leak_extract: buf must be a Buffer");
  if (length > 0x7fffff00u) return throw_range(env, "leak_extract: buffer too large");
  b->p = data;
  b->len = (i32)length;
  return v;
}

static napi_value create(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t format = 0, delimiter = -1;
  bool midFile = false;
  CHECK(napi_get_value_int32(env, argv[0], &format));
  CHECK(napi_get_value_int32(env, argv[1], &delimiter));
  CHECK(napi_get_value_bool(env, argv[2], &midFile));
  if (format < 0 || format > FORMAT_HL7 || delimiter < -1 || delimiter > 255) return throw_range(env, "leak_extract: bad format");
  Scanner *sc = calloc(1, sizeof *sc);
  if (sc == NULL) return throw_oom(env);
  /* The guard of an outer call on this thread, restored on the way out (oom.h). */
  jmp_buf *outer = oom_target;
  jmp_buf jb;
  if (setjmp(jb) != 0) {
    oom_target = outer;
    scanner_free(sc);
    free(sc);
    return throw_oom(env);
  }
  oom_target = &jb;
  scanner_init(sc, format, delimiter, midFile);
  oom_target = outer;
  ScannerSpare *spare = NULL;
  if (napi_get_instance_data(env, (void **)&spare) == napi_ok && spare != NULL) scanner_take_spare(sc, spare);
  if (napi_create_external(env, sc, finalize, NULL, &result) != napi_ok) {
    scanner_free(sc);
    free(sc);
    return throw_status(env);
  }
  /* From here the finalizer owns sc. */
  CHECK(napi_type_tag_object(env, result, &SCANNER_TAG));
  return result;
}

/*
 * Appends the collector's columns to out[i] — the JavaScript collector's own Int32Arrays, already
 * holding counts[i] entries — replacing an array by a larger copy when it is too small; then
 * counts[i] is the new length. One copy into the arrays the matching reads, not two.
 */
static napi_value copy_out(napi_env env, Scanner *sc, napi_value out, i32 *counts) {
  Collector *c = &sc->c;
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void *data = NULL;
  napi_value ab;
  for (int i = 0; i < COL_COUNT; i++) {
    IList *l = coll_column(c, i);
    i32 base = counts[i];
    if (l->n == 0) continue;
    napi_value arr;
    CHECK(napi_get_element(env, out, (uint32_t)i, &arr));
    CHECK(napi_get_typedarray_info(env, arr, &type, &length, &data, &ab, &offset));
    if (type != napi_int32_array) return throw_range(env, "leak_extract: out must hold Int32Arrays");
    if (base < 0 || (size_t)base > length) return throw_range(env, "leak_extract: column base out of range");
    if (length < (size_t)base + (size_t)l->n) {
      size_t cap = ((size_t)base + (size_t)l->n) * 2;
      void *fresh = NULL;
      CHECK(napi_create_arraybuffer(env, cap * sizeof(i32), &fresh, &ab));
      memcpy(fresh, data, (size_t)base * sizeof(i32));
      CHECK(napi_create_typedarray(env, napi_int32_array, cap, ab, 0, &arr));
      CHECK(napi_set_element(env, out, (uint32_t)i, arr));
      data = fresh;
    }
    memcpy((i32 *)data + base, l->d, (size_t)l->n * sizeof(i32));
    counts[i] = base + l->n;
  }
  counts[COL_COUNT] = sc->lines;
  counts[COL_COUNT + 1] = sc->endsInsideRecord;
  return out;
}

/* Where a guarded call lands after a failed allocation (oom.h): what the call appended is
 * dropped, the scanner is retired, and JavaScript gets the error. */
static napi_value retire(napi_env env, Scanner *sc, jmp_buf *outer) {
  oom_target = outer;
  sc->busy = 0;
  sc->retired = 1;
  sc->roles.ctx = NULL;
  return throw_oom(env);
}

static napi_value scan(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 10) return throw_range(env, "leak_extract: scan takes 10 arguments");
  Scanner *sc;
  Bytes b;
  int32_t from, to, mode, recordBase;
  if (!get_scanner(env, argv[0], &sc) || !get_bytes(env, argv[1], &b)) return NULL;
  CHECK(napi_get_value_int32(env, argv[2], &from));
  CHECK(napi_get_value_int32(env, argv[3], &to));
  CHECK(napi_get_value_int32(env, argv[4], &mode));
  CHECK(napi_get_value_int32(env, argv[5], &recordBase));
  if (from < 0 || from > to || to > b.len || mode < 0 || mode > 2 || recordBase < 0) return throw_range(env, "leak_extract: bad scan range");
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void *data = NULL;
  napi_value ab;
  CHECK(napi_get_typedarray_info(env, argv[7], &type, &length, &data, &ab, &offset));
  if (type != napi_int32_array || length < COL_COUNT + 2) return throw_range(env, "leak_extract: counts too short");
  i32 *counts = data;
  if (counts[COL_COUNT] < 0) return throw_range(env, "leak_extract: negative line count");
  CallCtx ctx = {env, argv[8], argv[9], sc};
  sc->roles.name_role = js_name_role;
  sc->roles.list_roles = js_list_roles;
  sc->roles.ctx = &ctx;
  sc->failed = 0;
  sc->lines = counts[COL_COUNT];
  /* The guard of an outer call on this thread, restored on the way out (oom.h). */
  jmp_buf *outer = oom_target;
  jmp_buf jb;
  if (setjmp(jb) != 0) return retire(env, sc, outer);
  oom_target = &jb;
  coll_reset_chunk(&sc->c, recordBase);
  sc->busy = 1;
  i32 consumed = scanner_scan(sc, &b, from, to, mode);
  sc->busy = 0;
  coll_settle(&sc->c);
  oom_target = outer;
  sc->roles.ctx = NULL;
  if (sc->failed) return throw_status(env);
  if (!copy_out(env, sc, argv[6], counts)) return NULL;
  CHECK(napi_create_int32(env, consumed, &result));
  return result;
}

static napi_value use_header(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) return throw_range(env, "leak_extract: useHeader takes 6 arguments");
  Scanner *sc;
  Bytes b;
  int32_t s, e;
  if (!get_scanner(env, argv[0], &sc) || !get_bytes(env, argv[1], &b)) return NULL;
  CHECK(napi_get_value_int32(env, argv[2], &s));
  CHECK(napi_get_value_int32(env, argv[3], &e));
  if (s < 0 || s > e || e > b.len) return throw_range(env, "leak_extract: bad header range");
  CallCtx ctx = {env, argv[4], argv[5], sc};
  sc->roles.name_role = js_name_role;
  sc->roles.list_roles = js_list_roles;
  sc->roles.ctx = &ctx;
  sc->failed = 0;
  /* The guard of an outer call on this thread, restored on the way out (oom.h). */
  jmp_buf *outer = oom_target;
  jmp_buf jb;
  if (setjmp(jb) != 0) return retire(env, sc, outer);
  oom_target = &jb;
  sc->busy = 1;
  scanner_use_header(sc, &b, s, e);
  sc->busy = 0;
  oom_target = outer;
  sc->roles.ctx = NULL;
  if (sc->failed) return throw_status(env);
  return NULL;
}

static napi_value release(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_range(env, "leak_extract: release takes a handle");
  Scanner *sc;
  if (!get_scanner_of(env, argv[0], &sc, 1)) return NULL;
  ScannerSpare *spare = NULL;
  if (napi_get_instance_data(env, (void **)&spare) == napi_ok && spare != NULL) scanner_release(sc, spare);
  else {
    scanner_free(sc);
    sc->released = 1;
  }
  return NULL;
}

/* failAllocationsAfter(n): the tests' out-of-memory injection (int_list.c); -1 turns it off. */
static napi_value fail_allocations(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t n;
  if (argc < 1 || napi_get_value_int64(env, argv[0], &n) != napi_ok) return throw_range(env, "leak_extract: failAllocationsAfter takes a number");
  fail_allocations_after(n < 0 ? -1 : (long)n);
  return NULL;
}

static void free_spare(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  scanner_spare_free(data);
  free(data);
}

static napi_value init(napi_env env, napi_value exports) {
  /* Per environment, so per worker thread: the spare buffers of its scanners. */
  ScannerSpare *spare = calloc(1, sizeof *spare);
  if (spare != NULL && napi_set_instance_data(env, spare, free_spare, NULL) != napi_ok) free(spare);
  napi_property_descriptor props[] = {
      {"release", NULL, release, NULL, NULL, NULL, napi_default, NULL},
      {"create", NULL, create, NULL, NULL, NULL, napi_default, NULL},
      {"scan", NULL, scan, NULL, NULL, NULL, napi_default, NULL},
      {"useHeader", NULL, use_header, NULL, NULL, NULL, napi_default, NULL},
      {"failAllocationsAfter", NULL, fail_allocations, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

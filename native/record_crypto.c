/*
 * labvault's per-record cryptography as one N-API call each, on the OpenSSL that Node itself links
 * (its EVP symbols and headers; nothing is bundled, nothing is hand-written). node:crypto spends
 * ~5-10 us per record building a Cipher or Hmac object around a call that costs about 1 us with
 * AES-NI and SHA-NI; ingest makes two such calls per record. The formats are exactly those of
 * src/crypto/envelope.ts and blind-index.ts `contentMac`; the loader checks both against
 * node:crypto before use, and tests do so at length.
 *
 * Contexts are per Node environment (main thread or worker), kept as instance data and freed with
 * it, so no context is shared between threads. No key outlives its call here: every call is given
 * its key, and before returning re-keys its context with zeros, so the AES key schedule and the
 * HMAC pads of the caller's key are overwritten (a KEK or DEK the caller then zeroes is gone from
 * this module too).
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT_V1 0x01
#define IV_BYTES 12
#define TAG_BYTES 16
#define KEY_BYTES 32
#define OVERHEAD (1 + IV_BYTES + TAG_BYTES)
#define MAC_BYTES 16

static const uint8_t ZERO_KEY[KEY_BYTES];

typedef struct {
  EVP_CIPHER_CTX *gcm;
  EVP_MAC *hmac;
  EVP_MAC_CTX *mac;
} contexts;

static void free_contexts(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  contexts *c = (contexts *)data;
  if (c == NULL) return;
  EVP_CIPHER_CTX_free(c->gcm);
  EVP_MAC_CTX_free(c->mac);
  EVP_MAC_free(c->hmac);
  free(c);
}

typedef struct {
  uint8_t *data;
  size_t length;
} bytes;

/* A Uint8Array (Buffer included) argument, or a thrown TypeError naming it. */
static int get_bytes(napi_env env, napi_value v, const char *what, bytes *out) {
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  napi_value ab;
  size_t offset;
  bool is_ta = false;
  if (v == NULL || napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_NATIVE_CRYPTO_ARG", what);
    return 0;
  }
  out->data = (uint8_t *)data;
  out->length = length;
  return 1;
}

/* The call's arguments, exactly `n` of them, or a thrown TypeError. */
static int get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *what) {
  size_t argc = n;
  for (size_t i = 0; i < n; i++) argv[i] = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != n) {
    napi_throw_type_error(env, "ERR_NATIVE_CRYPTO_ARG", what);
    return 0;
  }
  return 1;
}

static contexts *get_contexts(napi_env env) {
  contexts *c = NULL;
  if (napi_get_instance_data(env, (void **)&c) != napi_ok) return NULL;
  return c;
}

/* Partial overlap would have OpenSSL read bytes it has already overwritten. */
static int overlaps(bytes a, bytes b) { return a.length > 0 && b.length > 0 && a.data < b.data + b.length && b.data < a.data + a.length; }

/* Overwrites what the contexts derived from the last key (see the file comment). */
static int scrub(contexts *c) {
  return EVP_EncryptInit_ex(c->gcm, NULL, NULL, ZERO_KEY, NULL) == 1 && EVP_MAC_init(c->mac, ZERO_KEY, KEY_BYTES, NULL) == 1;
}

static napi_value fail(napi_env env, contexts *c, const char *message) {
  ERR_clear_error();
  if (c != NULL) scrub(c);
  ERR_clear_error();
  napi_throw_error(env, "ERR_NATIVE_CRYPTO_FAILED", message);
  return NULL;
}

/*
 * sealInto(out, key, plaintext, aad, iv): writes 0x01 || iv || AES-256-GCM(key, iv, aad, plaintext)
 * || tag into out, which must be exactly plaintext.length + 29 bytes and overlap no input.
 */
static napi_value seal_into(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!get_args(env, info, 5, argv, "sealInto takes 5 arguments")) return NULL;
  bytes out, key, pt, aad, iv;
  if (!get_bytes(env, argv[0], "out must be a Uint8Array", &out) || !get_bytes(env, argv[1], "key must be a Uint8Array", &key) ||
      !get_bytes(env, argv[2], "plaintext must be a Uint8Array", &pt) || !get_bytes(env, argv[3], "aad must be a Uint8Array", &aad) ||
      !get_bytes(env, argv[4], "iv must be a Uint8Array", &iv))
    return NULL;
  if (key.length != KEY_BYTES || iv.length != IV_BYTES || pt.length > 0x7fffffff || aad.length > 0x7fffffff ||
      out.length != pt.length + OVERHEAD) {
    napi_throw_range_error(env, "ERR_NATIVE_CRYPTO_SIZE", "envelope size mismatch");
    return NULL;
  }
  if (overlaps(out, pt) || overlaps(out, aad) || overlaps(out, key) || overlaps(out, iv)) {
    napi_throw_range_error(env, "ERR_NATIVE_CRYPTO_SIZE", "the envelope may not overlap its inputs");
    return NULL;
  }
  contexts *c = get_contexts(env);
  if (c == NULL) return fail(env, NULL, "native crypto is not initialised");
  int ignored = 0;
  int n = 0;
  int fin = 0;
  uint8_t *ct = out.data + 1 + IV_BYTES;
  if (EVP_EncryptInit_ex(c->gcm, NULL, NULL, key.data, iv.data) != 1 ||
      (aad.length > 0 && EVP_EncryptUpdate(c->gcm, NULL, &ignored, aad.data, (int)aad.length) != 1) ||
      (pt.length > 0 && EVP_EncryptUpdate(c->gcm, ct, &n, pt.data, (int)pt.length) != 1) ||
      EVP_EncryptFinal_ex(c->gcm, ct + n, &fin) != 1 || (size_t)n + (size_t)fin != pt.length ||
      EVP_CIPHER_CTX_ctrl(c->gcm, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, ct + pt.length) != 1 || !scrub(c)) {
    OPENSSL_cleanse(out.data, out.length);
    return fail(env, c, "AES-256-GCM encryption failed");
  }
  out.data[0] = FORMAT_V1;
  memcpy(out.data + 1, iv.data, IV_BYTES);
  return NULL;
}

/* contentMacInto(out, key, prefix, bytes): out (16 bytes) = HMAC-SHA256(key, prefix || bytes)[0..16). */
static napi_value content_mac_into(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv, "contentMacInto takes 4 arguments")) return NULL;
  bytes out, key, prefix, data;
  if (!get_bytes(env, argv[0], "out must be a Uint8Array", &out) || !get_bytes(env, argv[1], "key must be a Uint8Array", &key) ||
      !get_bytes(env, argv[2], "prefix must be a Uint8Array", &prefix) || !get_bytes(env, argv[3], "bytes must be a Uint8Array", &data))
    return NULL;
  if (out.length != MAC_BYTES || key.length == 0) {
    napi_throw_range_error(env, "ERR_NATIVE_CRYPTO_SIZE", "MAC size mismatch");
    return NULL;
  }
  contexts *c = get_contexts(env);
  if (c == NULL) return fail(env, NULL, "native crypto is not initialised");
  uint8_t md[EVP_MAX_MD_SIZE];
  size_t mdlen = 0;
  int ok = EVP_MAC_init(c->mac, key.data, key.length, NULL) == 1 && EVP_MAC_update(c->mac, prefix.data, prefix.length) == 1 &&
           EVP_MAC_update(c->mac, data.data, data.length) == 1 && EVP_MAC_final(c->mac, md, &mdlen, sizeof md) == 1 &&
           mdlen >= MAC_BYTES && scrub(c);
  if (ok) memcpy(out.data, md, MAC_BYTES);
  OPENSSL_cleanse(md, sizeof md);
  return ok ? NULL : fail(env, c, "HMAC-SHA256 failed");
}

static napi_value init(napi_env env, napi_value exports) {
  contexts *c = (contexts *)calloc(1, sizeof(contexts));
  if (c == NULL) {
    napi_throw_error(env, "ERR_NATIVE_CRYPTO_INIT", "out of memory");
    return NULL;
  }
  c->gcm = EVP_CIPHER_CTX_new();
  c->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  c->mac = c->hmac ? EVP_MAC_CTX_new(c->hmac) : NULL;
  /* The digest is set once here: naming it on every init costs a provider look-up a call. */
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  if (c->gcm == NULL || c->mac == NULL || EVP_MAC_CTX_set_params(c->mac, params) != 1 ||
      EVP_EncryptInit_ex(c->gcm, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
      EVP_CIPHER_CTX_ctrl(c->gcm, EVP_CTRL_GCM_SET_IVLEN, IV_BYTES, NULL) != 1 || !scrub(c)) {
    free_contexts(env, c, NULL);
    ERR_clear_error();
    napi_throw_error(env, "ERR_NATIVE_CRYPTO_INIT", "OpenSSL contexts could not be created");
    return NULL;
  }
  if (napi_set_instance_data(env, c, free_contexts, NULL) != napi_ok) {
    free_contexts(env, c, NULL);
    napi_throw_error(env, "ERR_NATIVE_CRYPTO_INIT", "instance data could not be set");
    return NULL;
  }
  napi_property_descriptor props[] = {
      {"sealInto", NULL, seal_into, NULL, NULL, NULL, napi_enumerable, NULL},
      {"contentMacInto", NULL, content_mac_into, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) {
    napi_throw_error(env, "ERR_NATIVE_CRYPTO_INIT", "exports could not be defined");
    return NULL;
  }
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }

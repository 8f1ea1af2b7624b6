/*
 * The keyed index (keyed_index.h). The PRF is AES-256 CBC-MAC over a fixed-length message, run as
 * blind-index.ts runs it: block j of a whole batch of messages, XORed with their chains, in one ECB
 * call, so AES-NI pipelines independent blocks. OpenSSL is the one Node links (its EVP symbols
 * and headers), as in record_crypto.c.
 */
#include "keyed_index.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

/* The name_date_keys.h of leak-extract: family_fold, the fold of normaliseFamilyName. */
#include "name_date_keys.h"

#define BATCH 4096
#define MESSAGE_ROOM 64

int keyed_index_init(keyed_index *k, size_t tenants) {
  memset(k, 0, sizeof(*k));
  k->tenants = calloc(tenants > 0 ? tenants : 1, sizeof(keyed_tenant));
  k->x = malloc((size_t)BATCH * 16);
  k->prf = malloc((tenants > 0 ? tenants : 1) * (size_t)BATCH * 16);
  if (k->tenants == NULL || k->x == NULL || k->prf == NULL) {
    keyed_index_free(k);
    return KEYED_NO_MEMORY;
  }
  k->count = tenants;
  return KEYED_OK;
}

static void stored_free(stored_indexes *s) {
  free(s->words);
  free(s->patients);
  free(s->slots);
  memset(s, 0, sizeof(*s));
}

void keyed_index_free(keyed_index *k) {
  if (k->tenants != NULL)
    for (size_t t = 0; t < k->count; t++) {
      /* Frees the key schedule with OPENSSL_clear_free: nothing of the key is left behind. */
      EVP_CIPHER_CTX_free(k->tenants[t].aes);
      stored_free(&k->tenants[t].bsn);
      stored_free(&k->tenants[t].name);
    }
  free(k->tenants);
  /* The scratch is cleared after every match (keyed_index_match); the results here. */
  if (k->out != NULL) OPENSSL_cleanse(k->out, k->out_cap * sizeof(int32_t));
  free(k->x);
  free(k->prf);
  free(k->out);
  memset(k, 0, sizeof(*k));
}

/* IndexTable's constructor: slots for at least twice the entries (16 at least), probed on word 0. */
static int stored_init(stored_indexes *s, const uint8_t *indexes, const int32_t *patients, size_t n) {
  size_t size = 16;
  while (size < n * 2) size *= 2;
  if (size > ((size_t)1 << 30)) return KEYED_RANGE;
  s->words = malloc((n > 0 ? n : 1) * 16);
  s->patients = malloc((n > 0 ? n : 1) * sizeof(int32_t));
  s->slots = calloc(size, sizeof(int32_t));
  if (s->words == NULL || s->patients == NULL || s->slots == NULL) return KEYED_NO_MEMORY;
  if (n > 0) {
    memcpy(s->words, indexes, n * 16);
    memcpy(s->patients, patients, n * sizeof(int32_t));
  }
  s->mask = (uint32_t)(size - 1);
  s->n = n;
  for (size_t e = 0; e < n; e++) {
    uint32_t at = s->words[e * 4] & s->mask;
    while (s->slots[at] != 0) at = (at + 1) & s->mask;
    s->slots[at] = (int32_t)(e + 1);
  }
  return KEYED_OK;
}

int keyed_index_set_tenant(keyed_index *k, size_t t, const uint8_t *prf_key, const uint8_t *bsn,
                           const int32_t *bsn_patients, size_t nb, const uint8_t *name, const int32_t *name_patients,
                           size_t nn) {
  if (t >= k->count || k->tenants[t].aes != NULL) return KEYED_RANGE;
  keyed_tenant *kt = &k->tenants[t];
  kt->aes = EVP_CIPHER_CTX_new();
  if (kt->aes == NULL) return KEYED_NO_MEMORY;
  if (EVP_EncryptInit_ex(kt->aes, EVP_aes_256_ecb(), NULL, prf_key, NULL) != 1 ||
      EVP_CIPHER_CTX_set_padding(kt->aes, 0) != 1)
    return KEYED_CRYPTO;
  int status = stored_init(&kt->bsn, bsn, bsn_patients, nb);
  if (status == KEYED_OK) status = stored_init(&kt->name, name, name_patients, nn);
  return status;
}

static int ecb(EVP_CIPHER_CTX *aes, const uint8_t *in, size_t n, uint8_t *out) {
  int len = 0;
  if (EVP_EncryptUpdate(aes, out, &len, in, (int)(n * 16)) != 1 || (size_t)len != n * 16) return KEYED_CRYPTO;
  return KEYED_OK;
}

int keyed_index_prf(keyed_index *k, size_t t, int blocks, const uint8_t *msg, size_t n, uint8_t *out) {
  if (t >= k->count || k->tenants[t].aes == NULL || blocks < 1) return KEYED_RANGE;
  EVP_CIPHER_CTX *aes = k->tenants[t].aes;
  const size_t size = (size_t)blocks * 16;
  for (size_t from = 0; from < n; from += BATCH) {
    const size_t m = n - from < BATCH ? n - from : BATCH;
    const uint8_t *in = msg + from * size;
    uint8_t *chain = out + from * 16;
    for (int j = 0; j < blocks; j++) {
      if (j == 0 && blocks == 1) {
        if (ecb(aes, in, m, chain) != KEYED_OK) return KEYED_CRYPTO;
        continue;
      }
      for (size_t i = 0; i < m; i++) {
        const uint8_t *b = in + i * size + (size_t)j * 16;
        uint8_t *x = k->x + i * 16;
        if (j == 0)
          memcpy(x, b, 16);
        else
          for (int q = 0; q < 16; q++) x[q] = b[q] ^ chain[i * 16 + q];
      }
      if (ecb(aes, k->x, m, chain) != KEYED_OK) return KEYED_CRYPTO;
    }
  }
  return KEYED_OK;
}

void keyed_bsn_message(uint8_t out[16], int32_t value) {
  memset(out, 0, 16);
  out[0] = 1;
  out[1] = 9;
  for (int i = 10; i >= 2; i--) {
    out[i] = (uint8_t)('0' + value % 10);
    value /= 10;
  }
}

typedef struct {
  uint8_t *out;
  int n;
} message_text;

/* Appends a character while the message has room (Buffer.write stops at the room; all are ASCII). */
static void put(void *ctx, int ch) {
  message_text *m = ctx;
  if (m->n < MESSAGE_ROOM - 2) m->out[2 + m->n++] = (uint8_t)ch;
}

static void put_number(message_text *m, int32_t v, int min_digits) {
  char digits[12];
  int n = 0;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0);
  while (n < min_digits) digits[n++] = '0';
  while (n > 0) put(m, digits[--n]);
}

void keyed_name_message(uint8_t out[64], const uint8_t *buf, int32_t from, int32_t to, int32_t date) {
  memset(out, 0, MESSAGE_ROOM);
  out[0] = 2;
  message_text m = {out, 0};
  family_fold(buf, from, to, put, &m);
  put(&m, '|');
  put_number(&m, date / 10000, 1);
  put(&m, '-');
  put_number(&m, date / 100 % 100, 2);
  put(&m, '-');
  put_number(&m, date % 100, 2);
  out[1] = (uint8_t)m.n;
}

/* Appends the patients of every stored index equal to idx (IndexTable.find's order). */
static int find(keyed_index *k, const stored_indexes *s, const uint8_t *idx, int32_t tenant, int32_t *count) {
  uint32_t w[4];
  memcpy(w, idx, 16);
  for (uint32_t at = w[0] & s->mask;; at = (at + 1) & s->mask) {
    const int32_t e = s->slots[at] - 1;
    if (e < 0) return KEYED_OK;
    const uint32_t *own = s->words + (size_t)e * 4;
    if (own[0] != w[0] || own[1] != w[1] || own[2] != w[2] || own[3] != w[3]) continue;
    if (grow_array((void **)&k->out, &k->out_cap, k->out_len + 2, sizeof(int32_t)) != 0) return KEYED_NO_MEMORY;
    k->out[k->out_len++] = tenant;
    k->out[k->out_len++] = s->patients[e];
    (*count)++;
  }
}

/* Clears the chains and PRF outputs of the candidates just matched: they stay no longer than the call. */
static void clear_scratch(keyed_index *k, size_t n) {
  const size_t m = n < BATCH ? n : BATCH;
  OPENSSL_cleanse(k->x, m * 16);
  for (size_t t = 0; t < k->count; t++) OPENSSL_cleanse(k->prf + t * (size_t)BATCH * 16, m * 16);
}

static int match_batches(keyed_index *k, int kind, const uint8_t *msg, size_t n);

int keyed_index_match(keyed_index *k, int kind, const uint8_t *msg, size_t n) {
  const int status = match_batches(k, kind, msg, n);
  clear_scratch(k, n);
  return status;
}

static int match_batches(keyed_index *k, int kind, const uint8_t *msg, size_t n) {
  const int blocks = kind == KEYED_BSN ? BSN_BLOCKS : NAME_BLOCKS;
  const size_t size = (size_t)blocks * 16;
  k->out_len = 0;
  if (grow_array((void **)&k->out, &k->out_cap, n > 0 ? n : 1, sizeof(int32_t)) != 0) return KEYED_NO_MEMORY;
  k->out_len = n;
  for (size_t from = 0; from < n; from += BATCH) {
    const size_t m = n - from < BATCH ? n - from : BATCH;
    /* Every tenant's outputs first: a candidate's hits go tenant by tenant, as the LeakMatcher's do. */
    for (size_t t = 0; t < k->count; t++) {
      const stored_indexes *s = kind == KEYED_BSN ? &k->tenants[t].bsn : &k->tenants[t].name;
      if (s->n == 0) continue;
      const int status = keyed_index_prf(k, t, blocks, msg + from * size, m, k->prf + t * (size_t)BATCH * 16);
      if (status != KEYED_OK) return status;
    }
    for (size_t i = 0; i < m; i++) {
      int32_t count = 0;
      for (size_t t = 0; t < k->count; t++) {
        const stored_indexes *s = kind == KEYED_BSN ? &k->tenants[t].bsn : &k->tenants[t].name;
        if (s->n == 0) continue;
        const int status = find(k, s, k->prf + (t * (size_t)BATCH + i) * 16, (int32_t)t, &count);
        if (status != KEYED_OK) return status;
      }
      k->out[from + i] = count;
    }
  }
  return KEYED_OK;
}

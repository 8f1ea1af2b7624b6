#ifndef KEYED_INDEX_H
#define KEYED_INDEX_H

#include <openssl/evp.h>

#include "leak_match.h"

/*
 * The blind-index PRF (src/crypto/blind-index.ts) and the stored indexes of every tenant
 * (src/leak/index-table.ts), for matching a worker's new candidates here instead of through
 * JavaScript strings: a leak scan's first chunks meet tens of thousands of distinct candidates per
 * worker, and building a string, a message and a Hit object per candidate and tenant cost ~3 us a
 * candidate there, more than the scanning of the chunk. The answers are the LeakMatcher's, in the
 * same order (tenant by tenant, then the table's probe order); native-match.test.ts holds them
 * to it, and native-match.ts checks the PRF against node:crypto when it builds the index.
 */

/* One tenant's stored indexes of one kind: 4 words each, probed on word 0 as IndexTable does. */
typedef struct {
  uint32_t *words;
  int32_t *patients;
  /* Entry + 1 per slot; 0 is empty. */
  int32_t *slots;
  uint32_t mask;
  size_t n;
} stored_indexes;

typedef struct {
  /* AES-256-ECB under the tenant's PRF key (the key schedule is all that is kept of the key). */
  EVP_CIPHER_CTX *aes;
  stored_indexes bsn, name;
} keyed_tenant;

typedef struct {
  keyed_tenant *tenants;
  size_t count;
  /* Scratch: CBC-MAC input and every tenant's outputs for a batch (cleared after each match). */
  uint8_t *x, *prf;
  /* The last match: n counts, then a (tenant, patient) pair per hit. */
  int32_t *out;
  size_t out_len, out_cap;
} keyed_index;

enum { KEYED_BSN = 0, KEYED_NAME = 1 };
enum { KEYED_OK = 0, KEYED_NO_MEMORY = -1, KEYED_CRYPTO = -2, KEYED_RANGE = -3 };

/* Message sizes of the two domains (blind-index.ts BLOCKS). */
#define BSN_BLOCKS 1
#define NAME_BLOCKS 4

int keyed_index_init(keyed_index *k, size_t tenants);
void keyed_index_free(keyed_index *k);

/* Tenant t's PRF key (32 bytes) and stored indexes (16 bytes each, with their patients). */
int keyed_index_set_tenant(keyed_index *k, size_t t, const uint8_t *prf_key, const uint8_t *bsn,
                           const int32_t *bsn_patients, size_t nb, const uint8_t *name, const int32_t *name_patients,
                           size_t nn);

/* The PRF of n messages of `blocks` blocks under tenant t, 16 bytes each into out. */
int keyed_index_prf(keyed_index *k, size_t t, int blocks, const uint8_t *msg, size_t n, uint8_t *out);

/* blindIndexMessages('bsn', [bsnString(value)]): value must be in [0, 10^9). */
void keyed_bsn_message(uint8_t out[16], int32_t value);

/*
 * blindIndexMessages('name-birthdate', [familyOf(buf, from, to) + '|' + isoDate(date)]): the
 * family name folded as family_fold does (normaliseFamilyName), the date as yyyy-mm-dd; date >= 0.
 */
void keyed_name_message(uint8_t out[64], const uint8_t *buf, int32_t from, int32_t to, int32_t date);

/*
 * Matches n messages of `kind` (built by the two functions above, 16 or 64 bytes each) under every
 * tenant: k->out gets n counts, then the hits as (tenant, patient) pairs, candidate by candidate.
 */
int keyed_index_match(keyed_index *k, int kind, const uint8_t *msg, size_t n);

#endif

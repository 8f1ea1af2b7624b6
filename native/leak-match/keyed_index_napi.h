/* The N-API surface of keyed_index.h (src/leak/native-match.ts is its only caller). */
#ifndef KEYED_INDEX_NAPI_H
#define KEYED_INDEX_NAPI_H

#include "napi_args.h"

/* createIndex(tenants: {key (the 32-byte PRF key), bsn, bsnPatients, name, namePatients}[]): an index. */
napi_value keyed_create_index(napi_env env, napi_callback_info info);
/* matchBsns(index, values: Int32Array, n): Int32Array of n counts, then (tenant, patient) pairs. */
napi_value keyed_match_bsns(napi_env env, napi_callback_info info);
/* matchKeys(index, buf, from, to, date, at, n): the same for the key occurrences at[0 .. n). */
napi_value keyed_match_keys(napi_env env, napi_callback_info info);
/* indexesOf(index, tenant, blocks, messages): the PRF of each message, for the check against node:crypto. */
napi_value keyed_indexes_of(napi_env env, napi_callback_info info);

#endif

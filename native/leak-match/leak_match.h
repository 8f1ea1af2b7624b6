/*
 * The leak scan's per-chunk matching and booking (src/leak/match-chunk.ts and the tables it uses),
 * in C. The candidate tables here say which candidates are new; those are matched (by the keyed
 * index, keyed_index.h, or by a JavaScript Matcher) and settled in as patient ordinals
 * (src/leak/patient-ordinals.ts stays in JavaScript), and booking runs here without a call back.
 */
#ifndef LEAK_MATCH_H
#define LEAK_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "grow_array.h"

/* DataCategory bits (src/leak/scan-types.ts). */
#define CAT_NAMES (1 << 0)
#define CAT_ADDRESSES (1 << 1)
#define CAT_BIRTH_DATES (1 << 2)
#define CAT_CONTACT (1 << 3)
#define CAT_RESULTS (1 << 4)
#define CAT_NATIONAL_ID (1 << 5)

/* The categories record_categories can find (birth dates come from fields only). */
#define RECORD_CATEGORIES (CAT_NAMES | CAT_ADDRESSES | CAT_CONTACT | CAT_RESULTS | CAT_NATIONAL_ID)

/* unit-hits.ts CATEGORY_SAMPLES: occurrences of an entry whose record is read for categories. */
#define CATEGORY_SAMPLES 8

#endif

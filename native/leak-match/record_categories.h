#ifndef RECORD_CATEGORIES_H
#define RECORD_CATEGORIES_H

#include "leak_match.h"

/* Builds the word-hash table; call once before record_categories. */
void record_categories_init(void);

/*
 * The data categories of the record buf[s .. e) by content (record-categories.ts, byte for byte).
 * `len` is the length of buf: a grouped BSN at the record's start looks at the two bytes before
 * it, as the JavaScript does. Requires s <= e <= len.
 */
int32_t record_categories(const uint8_t *buf, size_t len, size_t s, size_t e);

#endif

#ifndef DISTINCT_VALUES_H
#define DISTINCT_VALUES_H

#include "leak_match.h"

/*
 * Distinct 32-bit values (unit-hits.ts DistinctValues): appended, then sorted and deduplicated
 * when read — and, past COMPACT_FROM values, whenever the list would double.
 */
typedef struct {
  uint32_t *data;
  size_t len, cap, compacted;
} distinct_values;

void distinct_values_init(distinct_values *d);
void distinct_values_free(distinct_values *d);
int distinct_values_add(distinct_values *d, uint32_t v);
/* Sorts and deduplicates in place; the distinct values are then data[0 .. len). */
void distinct_values_compact(distinct_values *d);

#endif

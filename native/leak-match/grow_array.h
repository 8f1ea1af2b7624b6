#ifndef GROW_ARRAY_H
#define GROW_ARRAY_H

#include <stddef.h>

/* Grows *p (capacity *cap elements of `size` bytes) to hold at least `need`; 0 on success, -1 out of memory. */
int grow_array(void **p, size_t *cap, size_t need, size_t size);

#endif

/*
 * Out of memory inside a scan. The scanners allocate deep inside their loops (a list that grows,
 * a longer header), where passing a failure back up every call would cost a branch per push. So
 * a failed allocation jumps back to the N-API call that started the scan (its setjmp), which
 * throws a JavaScript error and marks the scanner unusable: the scan fails with a message. Before,
 * the process aborted, and a core dump (where enabled) would have held the dump's bytes.
 */
#ifndef LEAK_EXTRACT_OOM_H
#define LEAK_EXTRACT_OOM_H

#include <setjmp.h>

/* Where a failed allocation on this thread jumps to (NULL: outside a guarded call, it aborts). Per
 * thread: each worker thread scans with its own scanners. */
extern __thread jmp_buf *oom_target;

/* Does not return: jumps to oom_target. */
_Noreturn void out_of_memory(void);

/* For the tests: every allocation after the next n fails (n < 0: none). */
void fail_allocations_after(long n);

#endif

/* sql-statement.ts: the statement heads the SQL scanner reads (column lists come from JavaScript). */
#ifndef LEAK_EXTRACT_SQL_STATEMENT_H
#define LEAK_EXTRACT_SQL_STATEMENT_H

#include "common.h"

/* For an INSERT (or REPLACE) at i: just past its VALUES; 0 when none; -1 when the chunk ends first. */
i32 insert_values(const Bytes *b, i32 i, i32 to);
/* Whether the line at i is `COPY … FROM stdin`: 1, 0, or -1 when the chunk ends before the line does. */
int is_copy_from_stdin(const Bytes *b, i32 i, i32 to);

#endif

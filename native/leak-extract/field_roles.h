/*
 * Roles of field names (field-role.ts). The rules stay in JavaScript (one source of truth): the
 * scanner asks through RoleSource, which calls back into JavaScript, and remembers each name's
 * role by its bytes, so a key repeated in every record costs one lookup in a small table.
 */
#ifndef LEAK_EXTRACT_FIELD_ROLES_H
#define LEAK_EXTRACT_FIELD_ROLES_H

#include "common.h"

/* What the JavaScript side answers; `s, e` are offsets in the buffer being scanned. */
enum { LIST_CSV_HEADER = 1, LIST_SQL_COLUMNS = 2 };
typedef struct {
  /* fieldRole of the UTF-8 text buf[s..e). */
  int (*name_role)(void *ctx, i32 s, i32 e);
  /* Roles of the names in a CSV header line or an SQL statement head; returns their count (at most max). */
  int (*list_roles)(void *ctx, int kind, i32 s, i32 e, u8 *out, int max);
  void *ctx;
} RoleSource;

#define ROLE_SLOTS 1024
typedef struct {
  u8 *key[ROLE_SLOTS];
  i32 len[ROLE_SLOTS];
  u8 role[ROLE_SLOTS];
} RoleCache;

int role_of(RoleCache *cache, const RoleSource *src, const u8 *buf, i32 s, i32 e);
void role_cache_free(RoleCache *cache);

#endif

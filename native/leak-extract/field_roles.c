#include "field_roles.h"

#define ROLE_MAX_KEY 256

int role_of(RoleCache *cache, const RoleSource *src, const u8 *buf, i32 s, i32 e) {
  i32 len = e - s;
  if (len <= 0) return 0;
  u32 h = (u32)len * 31u + buf[s];
  h = h * 31u + buf[e - 1];
  h = h * 31u + buf[s + (len >> 1)];
  h ^= h >> 11;
  u32 slot = h & (ROLE_SLOTS - 1);
  if (cache->key[slot] && cache->len[slot] == len && memcmp(cache->key[slot], buf + s, (size_t)len) == 0) return cache->role[slot];
  int role = src->name_role(src->ctx, s, e);
  /* The callback failed (its exception is pending): nothing to remember. */
  if (role < 0) return 0;
  /* A field name is short; a crafted file's huge distinct keys are asked each time, not kept
   * (1024 slots of 4 MB keys would hold gigabytes). */
  if (len > ROLE_MAX_KEY) return role;
  cache->key[slot] = xrealloc(cache->key[slot], (size_t)len);
  memcpy(cache->key[slot], buf + s, (size_t)len);
  cache->len[slot] = len;
  cache->role[slot] = (u8)role;
  return role;
}

void role_cache_free(RoleCache *cache) {
  for (int i = 0; i < ROLE_SLOTS; i++) {
    free(cache->key[i]);
    cache->key[i] = NULL;
  }
}

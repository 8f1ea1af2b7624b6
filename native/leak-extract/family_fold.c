#include "fold_table.h"
#include "name_date_keys.h"

/* The normal form of one code point from U+0080 (fold_table.h), or NULL/0 when empty. */
static const char *fold_of(u32 cp, int *len) {
  int lo = 0, hi = FOLD_COUNT - 1;
  while (lo <= hi) {
    int mid = (lo + hi) >> 1;
    if (FOLD_CP[mid] == cp) {
      *len = (int)(FOLD_SPAN[mid] & 0xff);
      return FOLD_CHARS + (FOLD_SPAN[mid] >> 8);
    }
    if (FOLD_CP[mid] < cp) lo = mid + 1;
    else hi = mid - 1;
  }
  *len = 0;
  return NULL;
}

/*
 * Decodes like Buffer.toString('utf8') (the WHATWG decoder): an ill-formed sequence becomes one
 * U+FFFD per maximal subpart and the byte that broke it is read again. U+FFFD's normal form is
 * empty, so only where the well-formed characters start matters.
 */
void family_fold(const u8 *buf, i32 s, i32 e, void (*fn)(void *ctx, int ch), void *ctx) {
  i32 i = s;
  while (i < e) {
    u32 b = buf[i];
    if (b < 0x80) {
      /* A token holds ASCII letters only (and bytes from 0x80). */
      if (is_alpha((int)b)) fn(ctx, (int)(b | 0x20));
      i++;
      continue;
    }
    int need;
    u32 cp, lower = 0x80, upper = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      cp = b & 0x0f;
      if (b == 0xe0) lower = 0xa0;
      if (b == 0xed) upper = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      cp = b & 0x07;
      if (b == 0xf0) lower = 0x90;
      if (b == 0xf4) upper = 0x8f;
    } else {
      i++;
      continue;
    }
    i32 j = i + 1;
    int ok = 1;
    for (int k = 0; k < need; k++, j++) {
      if (j >= e || buf[j] < lower || buf[j] > upper) {
        ok = 0;
        break;
      }
      cp = (cp << 6) | (buf[j] & 0x3f);
      lower = 0x80;
      upper = 0xbf;
    }
    if (!ok) {
      /* U+FFFD for the bytes so far; the breaking byte starts again. */
      i = j;
      continue;
    }
    i = j;
    int len;
    const char *f = fold_of(cp, &len);
    for (int k = 0; k < len; k++) fn(ctx, f[k]);
  }
}

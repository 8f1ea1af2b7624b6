#include "sql_statement.h"

#define HEADER_LIMIT 65536

static int word_at(const Bytes *b, i32 i, i32 to, const char *word) {
  i32 n = (i32)strlen(word);
  if (i + n > to) return 0;
  for (i32 k = 0; k < n; k++)
    if ((at(b, i + k) | 0x20) != (u8)word[k]) return 0;
  int after = at(b, i + n);
  return after < 0 || !(((after | 0x20) >= 0x61 && (after | 0x20) <= 0x7a) || after == 0x5f);
}

static int is_word_byte(int b) { return ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x7a) || is_digit(b) || b == 0x5f; }

i32 insert_values(const Bytes *b, i32 i, i32 to) {
  if (!word_at(b, i, to, "insert") && !word_at(b, i, to, "replace")) return 0;
  i32 limit = to < i + HEADER_LIMIT ? to : i + HEADER_LIMIT;
  int quoted = 0;
  for (i32 k = i; k < limit; k++) {
    int c = b->p[k];
    if (quoted != 0) {
      if (c == quoted) quoted = 0;
      continue;
    }
    if (c == 0x27 || c == 0x22 || c == 0x60) quoted = c;
    else if (c == 0x3b) return 0;
    else if ((c | 0x20) == 0x76 && (k == 0 || !is_word_byte(b->p[k - 1])) && word_at(b, k, limit, "values")) return k + 6;
  }
  return limit == to ? -1 : 0;
}

/* \s of a JavaScript regular expression over latin1 text. */
static int is_js_space(int c) { return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0xa0; }

static int ci_at(const u8 *p, i32 i, i32 m, const char *w) {
  for (i32 k = 0; w[k]; k++)
    if (i + k >= m || (p[i + k] | 0x20) != (u8)w[k]) return 0;
  return 1;
}

/* /\bfrom\s+stdin\b/i on latin1 text buf[s..m). */
static int from_stdin(const u8 *p, i32 s, i32 m) {
  for (i32 q = s; q + 4 <= m; q++) {
    if (q > s && is_word_byte(p[q - 1])) continue;
    if (!ci_at(p, q, m, "from")) continue;
    i32 r = q + 4;
    if (r >= m || !is_js_space(p[r])) continue;
    while (r < m && is_js_space(p[r])) r++;
    if (ci_at(p, r, m, "stdin") && (r + 5 == m || !is_word_byte(p[r + 5]))) return 1;
  }
  return 0;
}

int is_copy_from_stdin(const Bytes *b, i32 i, i32 to) {
  if (!word_at(b, i, to, "copy")) return i + 4 > to ? -1 : 0;
  /* Buffer.indexOf: the line feed is looked for to the end of the buffer, past `to`. */
  const u8 *lfp = i < b->len ? memchr(b->p + i, LF, (size_t)(b->len - i)) : NULL;
  i32 lf = lfp ? (i32)(lfp - b->p) : -1;
  i32 end = lf < 0 || lf >= to ? to : lf;
  if (end == to && lf < 0) return -1;
  i32 m = end < i + HEADER_LIMIT ? end : i + HEADER_LIMIT;
  return from_stdin(b->p, i, m);
}

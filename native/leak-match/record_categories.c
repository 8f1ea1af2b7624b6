/*
 * record-categories.ts in C, read for the first CATEGORY_SAMPLES occurrences of each unit entry.
 * Words are hashed (32-bit FNV-1a of the lower-cased bytes, as hashWord) and looked up in one small
 * table holding the three word lists' hashes with a bit per list.
 */
#include "record_categories.h"

#include <pthread.h>
#include <string.h>

enum { WORD_RESULT = 1, WORD_NOT_NAME = 2, WORD_STREET = 4 };

static const char *const RESULT_WORDS[] = {
    "hrhpv",    "hpv",      "cytologie", "cytology", "pap",         "uitslag",          "uitslagen", "result",
    "results",  "resultaat", "positief", "negatief", "positive",    "negative",         "observation", "obx",
    "diagnosticreport", "conclusie", "afwijkend", "cin", "hsil",    "lsil",             "ascus",     "kopac"};
static const char *const NOT_NAMES[] = {"patient",    "bundle", "entry", "resource", "identifier",
                                        "value",      "system", "null",  "true",     "false"};
static const char *const STREET_WORDS[] = {"straat", "street", "road", "lane", "avenue", "weg", "laan", "plein"};
static const char *const STREET_SUFFIXES[] = {"straat", "weg",  "laan",  "plein", "gracht", "kade", "singel",
                                              "dijk",   "dreef", "hof",  "markt", "pad",    "steeg"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Byte classes, one table read instead of range tests (records are read byte by byte); built once. */
enum { C_UPPER = 1, C_LOWER = 2, C_HIGH = 4, C_LETTER = C_UPPER | C_LOWER | C_HIGH };
static uint8_t CLASS[256];

#define WORD_SLOTS 256
static uint32_t word_hash[WORD_SLOTS];
static uint8_t word_bits[WORD_SLOTS];
static size_t suffix_len[COUNT(STREET_SUFFIXES)];

#define FNV_OFFSET 0x811c9dc5u
#define FNV_PRIME 0x01000193u

static uint32_t hash_word(const char *w) {
  uint32_t h = FNV_OFFSET;
  for (; *w; w++) h = (h ^ (uint8_t)*w) * FNV_PRIME;
  return h;
}

static void add_words(const char *const *words, size_t n, uint8_t bit) {
  for (size_t i = 0; i < n; i++) {
    const uint32_t h = hash_word(words[i]);
    uint32_t s = (h * 0x9e3779b1u) >> 24;
    while (word_bits[s] != 0 && word_hash[s] != h) s = (s + 1) & (WORD_SLOTS - 1);
    word_hash[s] = h;
    word_bits[s] |= bit;
  }
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build_tables(void) {
  for (int b = 0; b < 256; b++)
    CLASS[b] = (uint8_t)(b >= 65 && b <= 90 ? C_UPPER : b >= 97 && b <= 122 ? C_LOWER : b >= 0x80 ? C_HIGH : 0);
  add_words(RESULT_WORDS, COUNT(RESULT_WORDS), WORD_RESULT);
  add_words(NOT_NAMES, COUNT(NOT_NAMES), WORD_NOT_NAME);
  add_words(STREET_WORDS, COUNT(STREET_WORDS), WORD_STREET);
  for (size_t i = 0; i < COUNT(STREET_SUFFIXES); i++) suffix_len[i] = strlen(STREET_SUFFIXES[i]);
}

/* Worker threads load the addon each in their own environment: the shared tables are built once. */
void record_categories_init(void) { pthread_once(&once, build_tables); }

static inline int word_kind(uint32_t h) {
  uint32_t s = (h * 0x9e3779b1u) >> 24;
  while (word_bits[s] != 0) {
    if (word_hash[s] == h) return word_bits[s];
    s = (s + 1) & (WORD_SLOTS - 1);
  }
  return 0;
}

static inline int is_upper(int b) { return CLASS[b & 0xff] & C_UPPER; }
static inline int is_lower(int b) { return CLASS[b & 0xff] & C_LOWER; }
static inline int is_letter(int b) { return CLASS[b & 0xff] & C_LETTER; }
static inline int is_digit(int b) { return (unsigned)(b - 48) < 10; }
static inline int is_word_byte(int b) { return is_letter(b) || is_digit(b) || b == 0x5f || b == 0x2e || b == 0x2b; }

static int is_street_word(const uint8_t *buf, size_t start, size_t end, int kind) {
  if (kind & WORD_STREET) return 1;
  for (size_t k = 0; k < COUNT(STREET_SUFFIXES); k++) {
    const size_t n = suffix_len[k];
    if (end < n || end - n <= start + 1) continue;
    const size_t from = end - n;
    size_t j = 0;
    while (j < n && (buf[from + j] | 0x20) == (uint8_t)STREET_SUFFIXES[k][j]) j++;
    if (j == n) return 1;
  }
  return 0;
}

static int32_t word_categories(const uint8_t *buf, size_t start, size_t end, size_t limit, uint32_t h) {
  const size_t len = end - start;
  if (len < 2) return 0;
  const int kind = word_kind(h);
  int32_t mask = 0;
  if (kind & WORD_RESULT)
    mask |= CAT_RESULTS;
  else if (len >= 3 && is_upper(buf[start]) && is_lower(buf[start + 1]) && !(kind & WORD_NOT_NAME))
    mask |= CAT_NAMES;
  if (end + 1 < limit && buf[end] == 0x20 && is_digit(buf[end + 1]) && is_street_word(buf, start, end, kind))
    mask |= CAT_ADDRESSES;
  return mask;
}

/* bsn-digits.ts bsnAt: buf[s .. s + 9) are digits. */
static int bsn_at(const uint8_t *buf, size_t s) {
  int sum = 0;
  int32_t value = 0;
  for (int i = 0; i < 8; i++) {
    const int d = buf[s + i] - 48;
    sum += d * (9 - i);
    value = value * 10 + d;
  }
  const int last = buf[s + 8] - 48;
  sum -= last;
  value = value * 10 + last;
  return sum % 11 == 0 && value != 0;
}

/*
 * formatted-bsn.ts formattedBsnAt, as a yes/no: the digit run buf[s .. s + first) starts a grouped
 * BSN. Reads beyond `limit` (the record's end) only where the JavaScript does: the byte after the
 * first group (any value but "." or " " gives no), and the two bytes before it (which can only say no).
 */
static int formatted_bsn_at(const uint8_t *buf, size_t len, size_t s, size_t first, size_t limit) {
  const int sep = s + first < len ? buf[s + first] : -1;
  if (sep != 0x2e && sep != 0x20) return 0;
  if (s >= 2 && (buf[s - 1] == 0x2e || buf[s - 1] == 0x20) && is_digit(buf[s - 2])) return 0;
  const size_t second = first == 4 ? 2 : 3;
  const size_t a = s + first + 1;
  const size_t b = a + second + 1;
  const size_t end = b + 3;
  if (end > limit) return 0;
  for (size_t i = a; i < a + second; i++)
    if (!is_digit(buf[i])) return 0;
  if (buf[a + second] != sep) return 0;
  for (size_t i = b; i < end; i++)
    if (!is_digit(buf[i])) return 0;
  if (end < limit) {
    const int after = buf[end];
    if (is_digit(after)) return 0;
    if ((after == 0x2e || after == 0x20) && end + 1 < limit && is_digit(buf[end + 1])) return 0;
  }
  const size_t from[3] = {s, a, b};
  const size_t lens[3] = {first, second, 3};
  int sum = 0;
  int32_t value = 0;
  int w = 9;
  for (int g = 0; g < 3; g++)
    for (size_t i = from[g]; i < from[g] + lens[g]; i++) {
      const int d = buf[i] - 48;
      value = value * 10 + d;
      sum += w == 1 ? -d : d * w;
      w--;
    }
  return sum % 11 == 0 && value != 0;
}

/* "AB" or " AB" after four digits, not followed by another letter. */
static int is_postcode_tail(const uint8_t *buf, size_t at, size_t limit) {
  size_t i = at;
  if (i < limit && buf[i] == 0x20) i++;
  if (i + 2 > limit || !is_upper(buf[i]) || !is_upper(buf[i + 1])) return 0;
  return i + 2 == limit || !is_letter(buf[i + 2]);
}

/* Digit groups separated by single "-" or " ", as a Dutch phone number: 0 + 9 digits, +31 + 9, 0031 + 9. */
static int is_phone_at(const uint8_t *buf, size_t start, size_t limit, size_t record_start) {
  /* Every answer below needs a 0 first, or 31 after a "+": other numbers (most) are not walked. */
  const int plus = start > record_start && buf[start - 1] == 0x2b;
  if (buf[start] != (plus ? 0x33 : 0x30)) return 0;
  int digits = 0;
  size_t i = start;
  for (int groups = 0; groups < 5; groups++) {
    while (i < limit && is_digit(buf[i])) {
      digits++;
      i++;
    }
    if (i + 1 < limit && (buf[i] == 0x2d || buf[i] == 0x20) && is_digit(buf[i + 1]))
      i++;
    else
      break;
  }
  if (i < limit && is_digit(buf[i])) return 0;
  const int first = buf[start];
  if (plus) return digits == 11 && first == 0x33 && buf[start + 1] == 0x31;
  if (digits == 13) return first == 0x30 && buf[start + 1] == 0x30 && buf[start + 2] == 0x33 && buf[start + 3] == 0x31;
  return digits == 10 && first == 0x30 && buf[start + 1] != 0x30;
}

static int32_t number_categories(const uint8_t *buf, size_t len, size_t start, size_t end, size_t limit,
                                 size_t record_start) {
  const size_t n = end - start;
  int32_t mask = 0;
  if (n == 9 && bsn_at(buf, start)) mask |= CAT_NATIONAL_ID;
  if ((n == 3 || n == 4) && formatted_bsn_at(buf, len, start, n, limit)) mask |= CAT_NATIONAL_ID;
  if (n == 4 && is_postcode_tail(buf, end, limit)) mask |= CAT_ADDRESSES;
  if (is_phone_at(buf, start, limit, record_start)) mask |= CAT_CONTACT;
  return mask;
}

/* A local part before "@" and a dotted domain after it. */
static int is_email_at(const uint8_t *buf, size_t at, size_t s, size_t e) {
  if (at == s || !is_word_byte(buf[at - 1])) return 0;
  size_t i = at + 1;
  int dot = 0;
  while (i < e) {
    const int b = buf[i];
    if (b == 0x2e)
      dot = 1;
    else if (!is_word_byte(b) && b != 0x2d)
      break;
    i++;
  }
  return dot && i > at + 3 && buf[i - 1] != 0x2e;
}

int32_t record_categories(const uint8_t *buf, size_t len, size_t s, size_t e) {
  int32_t mask = 0;
  size_t i = s;
  while (i < e) {
    const int b = buf[i];
    if (is_letter(b)) {
      const size_t start = i;
      uint32_t h = FNV_OFFSET;
      while (i < e) {
        const int c = buf[i];
        if (!is_letter(c)) break;
        h = (h ^ (uint32_t)(is_upper(c) ? c | 0x20 : c)) * FNV_PRIME;
        i++;
      }
      mask |= word_categories(buf, start, i, e, h);
      continue;
    }
    if (is_digit(b)) {
      const size_t start = i;
      while (i < e && is_digit(buf[i])) i++;
      if (start > s && is_digit(buf[start - 1])) continue;
      mask |= number_categories(buf, len, start, i, e, s);
      continue;
    }
    if (b == 0x40 && is_email_at(buf, i, s, e)) mask |= CAT_CONTACT;
    i++;
  }
  return mask;
}

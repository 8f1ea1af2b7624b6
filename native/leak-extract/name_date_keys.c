#include "name_date_keys.h"

#define MAX_KEYS_PER_RECORD 32
#define MAX_KEY_DATES 4
#define MAX_WORDS 3
#define P1 0x01000193u
#define P2 0x5bd1e995u
/* Two years, in packed yyyymmdd. */
#define RECENT 20000

static u32 fmix(u32 h) {
  u32 x = h ^ (h >> 16);
  x *= 0x85ebca6bu;
  x ^= x >> 13;
  x *= 0xc2b2ae35u;
  return x ^ (x >> 16);
}

static u32 pack3(const char *w) {
  u32 p = 0;
  for (; *w; w++) p = (p << 8) | (u8)*w;
  return p;
}

static u32 PARTICLE_TABLE[20];

static int is_particle(u32 packed) {
  for (int i = 0; i < 20; i++)
    if (PARTICLE_TABLE[i] == packed) return 1;
  return 0;
}

/* generic-name-words.ts NOT_NAMES, by their word hash. */
static const char *const NOT_NAMES[] = {
    "hrhpv", "hpv", "cytologie", "cytology", "pap", "uitslag", "uitslagen", "result", "results", "resultaat", "positief",
    "negatief", "positive", "negative", "observation", "obx", "pid", "msh", "obr", "conclusie", "afwijkend", "normaal",
    "info", "warn", "warning", "error", "debug", "trace", "get", "post", "put", "delete", "patch", "http", "https", "request",
    "response", "user", "status", "bytes", "patient", "patienten", "bsn", "naam", "name", "geb", "geboren", "geboortedatum",
    "datum", "date", "born", "dob", "lookup", "identifier", "id", "www", "com", "nl", "org", "example", "mail", "email",
    "tel", "telefoon", "adres", "address", "postcode", "woonplaats", "straat", "mevrouw", "meneer", "mevr", "dhr", "mw",
    "true", "false", "null",
    "januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december",
    "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"};
#define NOT_NAME_COUNT ((int)(sizeof NOT_NAMES / sizeof NOT_NAMES[0]))

static u32 NOT_NAME_TABLE[NOT_NAME_COUNT];

/* P1^n, P2^n (mod 2^32) for token lengths n < POW_N. */
#define POW_N 64
static u32 POW1[POW_N], POW2[POW_N];

/* The word tables, hashed once when the addon loads (before any thread can scan). */
__attribute__((constructor)) static void init_word_tables(void) {
  static const char *const PARTICLES[20] = {"van", "de", "der", "den", "het", "t",  "ter", "ten", "te", "op",
                                            "in",  "la", "le",  "du",  "da",  "von", "zu", "uit", "vd", "v"};
  for (int i = 0; i < 20; i++) PARTICLE_TABLE[i] = pack3(PARTICLES[i]);
  POW1[0] = POW2[0] = 1;
  for (int n = 1; n < POW_N; n++) {
    POW1[n] = POW1[n - 1] * P1;
    POW2[n] = POW2[n - 1] * P2;
  }
  for (int i = 0; i < NOT_NAME_COUNT; i++) {
    u32 x = 0;
    for (const char *c = NOT_NAMES[i]; *c; c++) x = x * P1 + (u32)((u8)*c | 0x20);
    NOT_NAME_TABLE[i] = x;
  }
}

static int not_a_name(u32 h) {
  for (int i = 0; i < NOT_NAME_COUNT; i++)
    if (NOT_NAME_TABLE[i] == h) return 1;
  return 0;
}

static int is_street_name(const u8 *buf, i32 s, i32 e) {
  static const char *const SUFFIXES[] = {"straat", "laan", "weg", "plein", "gracht", "kade", "singel", "dreef", "steeg", "hof", "pad"};
  static const i32 LENGTHS[] = {6, 4, 3, 5, 6, 4, 6, 5, 5, 3, 3};
  for (int k = 0; k < 11; k++) {
    const char *suffix = SUFFIXES[k];
    i32 n = LENGTHS[k];
    i32 from = e - n;
    if (from < s + 3) continue;
    int same = 1;
    for (i32 j = 0; j < n && same; j++) same = (buf[from + j] | 0x20) == (u8)suffix[j];
    if (same) return 1;
  }
  return 0;
}

static int choose_dates(const RecordDates *r, i32 *chosen, int max) {
  int birth = 0;
  i32 newest = 0;
  int64_t oldest = INT64_MAX;
  for (int d = 0; d < r->dateCount; d++) {
    if (r->dateBirth[d] == 1) birth = 1;
    if (r->dates[d] > newest) newest = r->dates[d];
    if (r->dates[d] < oldest) oldest = r->dates[d];
  }
  int64_t recent = !birth && newest - oldest >= RECENT ? newest - RECENT : INT64_MAX;
  int n = 0;
  for (int d = 0; d < r->dateCount && n < max; d++) {
    if (birth && r->dateBirth[d] == 0) continue;
    if (r->dates[d] > recent) continue;
    int dup = 0;
    for (int p = 0; p < n; p++)
      if (r->dates[chosen[p]] == r->dates[d]) dup = 1;
    if (!dup) chosen[n++] = d;
  }
  return n;
}

typedef struct {
  u32 h1, h2, p1, p2;
  i32 chars;
} Hash;

static void hash_char(void *ctx, int ch) {
  Hash *h = ctx;
  h->h1 = h->h1 * P1 + (u32)ch;
  h->h2 = h->h2 * P2 + (u32)ch;
  h->p1 *= P1;
  h->p2 *= P2;
  h->chars++;
}

static int is_name_gap(int b) { return b == 0x20 || b == 0x2d || b == 0x27 || b == 0x2e; }

static void tokenise(NameDateKeys *t, const u8 *buf, i32 s, i32 e, int fields) {
  i32 i = s;
  int firstOfField = 1;
  while (i < e && t->count < MAX_TOKENS) {
    int b = buf[i];
    if (!(is_alpha(b) || b >= 0x80)) {
      i++;
      continue;
    }
    i32 start = i;
    int ascii = 1;
    u32 packed = 0, h1 = 0, h2 = 0, p1 = 1, p2 = 1;
    while (i < e) {
      b = buf[i];
      if (b >= 0x80) ascii = 0;
      else if (!is_alpha(b)) break;
      u32 c = (u32)(b | 0x20);
      packed = (packed << 8) | c;
      h1 = h1 * P1 + c;
      h2 = h2 * P2 + c;
      i++;
    }
    int k = t->count++;
    t->tokStart[k] = start;
    t->tokEnd[k] = i;
    t->ascii[k] = (u8)ascii;
    if (ascii) {
      /* P1, P2 to the token's length: from the table, not a multiply per byte. */
      i32 len = i - start;
      if (len < POW_N) {
        p1 = POW1[len];
        p2 = POW2[len];
      } else
        for (i32 j = 0; j < len; j++) {
          p1 *= P1;
          p2 *= P2;
        }
      t->chars[k] = i - start;
      t->particle[k] = i - start <= 3 && is_particle(packed);
    } else {
      /* Non-ASCII: hash the normal form (normaliseFamilyName folds "é" to "e", "ß" to "ss"). */
      Hash h = {0, 0, 1, 1, 0};
      family_fold(buf, start, i, hash_char, &h);
      h1 = h.h1;
      h2 = h.h2;
      p1 = h.p1;
      p2 = h.p2;
      t->chars[k] = h.chars;
      t->particle[k] = 0;
    }
    t->h1[k] = h1;
    t->h2[k] = h2;
    t->pow1[k] = p1;
    t->pow2[k] = p2;
    int join = 0;
    if (k > 0 && fields && firstOfField) join = 1;
    else if (k > 0) {
      i32 prevEnd = t->tokEnd[k - 1];
      join = start - prevEnd <= 2;
      for (i32 g = prevEnd; join && g < start; g++)
        if (!is_name_gap(buf[g])) join = 0;
    }
    t->joins[k] = (u8)join;
    t->eligible[k] = 1;
    firstOfField = 0;
  }
}

static void mark_eligible(NameDateKeys *t, const u8 *buf) {
  int capitalised = 0;
  for (int k = 0; k < t->count; k++) {
    int first = buf[t->tokStart[k]];
    int caps = (first >= 65 && first <= 90) || first >= 0x80;
    i32 len = t->tokEnd[k] - t->tokStart[k];
    int second = len > 1 ? buf[t->tokStart[k] + 1] : 0;
    /* "AB" (a postcode's letters) and other two-letter capitals are no names. */
    int ok = caps && !(len <= 2 && second >= 65 && second <= 90) && !not_a_name(t->h1[k]) &&
             !is_street_name(buf, t->tokStart[k], t->tokEnd[k]);
    t->eligible[k] = ok ? 1 : t->particle[k];
    if (caps) capitalised++;
  }
  if (capitalised == 0)
    for (int k = 0; k < t->count; k++) t->eligible[k] = not_a_name(t->h1[k]) ? t->particle[k] : 1;
}

static int has_key(const KeyOut *o, i32 first, u32 h1, u32 h2, i32 date) {
  for (i32 i = first; i < o->h1.n; i++)
    if (o->h1.d[i] == (i32)h1 && o->h2.d[i] == (i32)h2 && o->date.d[i] == date) return 1;
  return 0;
}

static int emit(NameDateKeys *t, int i, int len, i32 date, i32 line) {
  if (len <= 0 || t->particle[i + len - 1] == 1) return 0;
  u32 h1 = 0, h2 = 0;
  i32 chars = 0;
  for (int k = i; k < i + len; k++) {
    h1 = h1 * t->pow1[k] + t->h1[k];
    h2 = h2 * t->pow2[k] + t->h2[k];
    chars += t->chars[k];
  }
  if (chars < 2) return 0;
  h1 = fmix(h1 ^ (u32)chars);
  h2 = fmix(h2 + (u32)chars * 0x27d4eb2fu);
  KeyOut *o = t->out;
  if (has_key(o, t->first, h1, h2, date)) return 0;
  ilist_push(&o->h1, (i32)h1);
  ilist_push(&o->h2, (i32)h2);
  ilist_push(&o->date, date);
  ilist_push(&o->from, t->tokStart[i]);
  ilist_push(&o->to, t->tokEnd[i + len - 1]);
  ilist_push(&o->line, line);
  return 1;
}

static int joinable(const NameDateKeys *t, int i, int len) {
  if (t->eligible[i] == 0) return 0;
  for (int k = i + 1; k < i + len; k++)
    if (t->joins[k] == 0 || t->eligible[k] == 0) return 0;
  return 1;
}

static int whole(NameDateKeys *t, int a, int b, i32 date, i32 line) {
  int n = emit(t, a, b - a, date, line);
  int p = a;
  while (p < b - 1 && t->particle[p] == 1) p++;
  if (p > a) n += emit(t, p, b - p, date, line);
  return n;
}

static void order_by_distance(NameDateKeys *t, i32 pos) {
  for (int i = 0; i < t->count; i++) {
    i32 s = t->tokStart[i];
    t->dist[i] = s >= pos ? s - pos : pos - t->tokEnd[i];
    t->order[i] = i;
  }
  for (int i = 1; i < t->count; i++) {
    i32 v = t->order[i];
    i32 dv = t->dist[v];
    int j = i - 1;
    while (j >= 0 && t->dist[t->order[j]] > dv) {
      t->order[j + 1] = t->order[j];
      j--;
    }
    t->order[j + 1] = v;
  }
}

static int tail(NameDateKeys *t, int a, int last, i32 date, i32 line) {
  int n = 0;
  for (int len = 1; len <= MAX_WORDS && last - len + 1 >= a; len++)
    if (joinable(t, last - len + 1, len)) n += emit(t, last - len + 1, len, date, line);
  return n;
}

static int full_name(NameDateKeys *t, int a, int b, i32 date, i32 line) {
  int n = tail(t, a, b - 1, date, line);
  for (int k = a + 1; k < b; k++)
    for (i32 g = t->tokEnd[k - 1]; g < t->tokStart[k]; g++)
      if (t->buf[g] == 0x2c) return n + tail(t, a, k - 1, date, line);
  return n;
}

static int nearest(NameDateKeys *t, int a, int b, i32 date, i32 line, int budget) {
  int n = 0;
  for (int o = 0; o < b - a && n < budget; o++) {
    int i = t->order[o];
    for (int len = 1; len <= MAX_WORDS && n < budget; len++) {
      if (i + len <= b && joinable(t, i, len)) n += emit(t, i, len, date, line);
      /* Nearest-first: also the combinations that end at this word. */
      if (len > 1 && i - len + 1 >= a && n < budget && joinable(t, i - len + 1, len)) n += emit(t, i - len + 1, len, date, line);
    }
  }
  return n;
}

int ndk_build(NameDateKeys *t, const u8 *buf, const RecordDates *r, KeyOut *out) {
  int dates = choose_dates(r, t->chosen, MAX_KEY_DATES);
  if (dates == 0) return 0;
  t->count = 0;
  t->buf = buf;
  t->out = out;
  t->first = out->h1.n;
  int fields = r->familyCount < MAX_FAMILY_FIELDS ? r->familyCount : MAX_FAMILY_FIELDS;
  if (fields > 0)
    for (int f = 0; f < fields; f++) {
      t->fieldFirst[f] = t->count;
      tokenise(t, buf, r->family[2 * f], r->family[2 * f + 1], 1);
    }
  else {
    tokenise(t, buf, r->start, r->end, 0);
    mark_eligible(t, buf);
  }
  t->fieldFirst[fields] = t->count;
  if (t->count == 0) return 0;
  int budget = MAX_KEYS_PER_RECORD / dates;
  for (int d = 0; d < dates; d++) {
    int di = t->chosen[d];
    i32 date = r->dates[di];
    i32 line = r->dateLine[di];
    if (fields == 0) {
      order_by_distance(t, r->datePos[di]);
      nearest(t, 0, t->count, date, line, budget);
      continue;
    }
    int n = 0;
    for (int f = 0; f < fields; f++) {
      int a = t->fieldFirst[f], b = t->fieldFirst[f + 1];
      n += r->fullName[f] == 1 ? full_name(t, a, b, date, line) : whole(t, a, b, date, line);
    }
    if (fields > 1 && n < budget) whole(t, 0, t->count, date, line);
  }
  return out->h1.n - t->first;
}

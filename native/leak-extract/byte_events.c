#include "byte_events.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_PATH 1
#endif

void byteset_init(ByteSet *s, const int *bytes, int n) {
  memset(s->has, 0, sizeof s->has);
  for (int i = 0; i < n; i++) s->has[bytes[i] & 0xff] = 1;
}

void events_free(Events *ev) {
  free(ev->pos);
  free(ev->kind);
  ev->pos = NULL;
  ev->kind = NULL;
  ev->n = ev->cap = 0;
}

/* Whether the digit run buf[start, i) is reported (event-scan-js.ts): it reaches `to`, is long, or may start a date or grouped BSN. */
static inline int run_matters(const u8 *buf, i32 i, i32 len, i32 to) {
  if (i == to || len >= 8) return 1;
  int next = buf[i];
  if ((next == 0x2d || next == 0x2f) && (len == 1 || len == 2 || len == 4)) return 1;
  return (next == 0x2e || next == 0x20) && (len == 3 || len == 4);
}

static inline void emit(Events *ev, i32 pos, int kind) {
  ev->pos[ev->n] = pos;
  ev->kind[ev->n] = (u8)kind;
  ev->n++;
}

/* Byte by byte, as event-scan-js.ts: the reference, and the path without AVX2. */
static void scan_scalar(Events *ev, const u8 *buf, i32 from, i32 to, const ByteSet *set) {
  i32 i = from;
  while (i < to) {
    int b = buf[i];
    if (is_digit(b)) {
      i32 start = i;
      while (i < to && is_digit(buf[i])) i++;
      i32 len = i - start;
      if (run_matters(buf, i, len, to)) emit(ev, start, len < LONG_RUN ? len : LONG_RUN);
      continue;
    }
    if (set->has[b]) emit(ev, i, 0);
    i++;
  }
}

#ifdef HAVE_AVX2_PATH
/*
 * 64 bytes at a time: a bit mask of the set's bytes (looked up by nibbles, as the WebAssembly
 * pass does: one bit per high nibble, so at most 8 high nibbles) and of digit-run starts; a run's
 * end comes from the digit mask too. The last partial block is copied to a zero-padded block
 * first, so no byte past `to` is read (the buffer may end there).
 */
__attribute__((target("avx2,bmi"))) static void scan_avx2(Events *ev, const u8 *buf, i32 from, i32 to, const ByteSet *set) {
  u8 loTab[16] = {0}, hiTab[16] = {0};
  int bitOf[16], groups = 0;
  for (int h = 0; h < 16; h++) bitOf[h] = -1;
  for (int b = 0; b < 256; b++) {
    if (!set->has[b]) continue;
    if (bitOf[b >> 4] < 0) {
      if (groups == 8) {
        scan_scalar(ev, buf, from, to, set);
        return;
      }
      bitOf[b >> 4] = groups++;
    }
    hiTab[b >> 4] |= (u8)(1 << bitOf[b >> 4]);
    loTab[b & 15] |= (u8)(1 << bitOf[b >> 4]);
  }
  const __m256i lo16 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)loTab));
  const __m256i hi16 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)hiTab));
  const __m256i low4 = _mm256_set1_epi8(0x0f), zero = _mm256_set1_epi8('0'), nine = _mm256_set1_epi8(9);
  u8 tail[64];
  u64 carry = 0; /* the last byte of the previous block was a digit */
  for (i32 blk = from; blk < to; blk += 64) {
    const u8 *p = buf + blk;
    i32 n = to - blk < 64 ? to - blk : 64;
    if (n < 64) {
      memset(tail, 0, sizeof tail);
      memcpy(tail, p, (size_t)n);
      p = tail;
    }
    u64 d = 0, s = 0;
    for (int half = 0; half < 2; half++) {
      __m256i v = _mm256_loadu_si256((const __m256i *)(p + 32 * half));
      __m256i dv = _mm256_sub_epi8(v, zero);
      dv = _mm256_cmpeq_epi8(_mm256_min_epu8(dv, nine), dv);
      __m256i lo = _mm256_shuffle_epi8(lo16, _mm256_and_si256(v, low4));
      __m256i hi = _mm256_shuffle_epi8(hi16, _mm256_and_si256(_mm256_srli_epi16(v, 4), low4));
      __m256i sv = _mm256_cmpeq_epi8(_mm256_and_si256(lo, hi), _mm256_setzero_si256());
      d |= (u64)(u32)_mm256_movemask_epi8(dv) << (32 * half);
      s |= (u64)(u32)~_mm256_movemask_epi8(sv) << (32 * half);
    }
    u64 valid = n == 64 ? ~0ULL : (1ULL << n) - 1;
    d &= valid;
    s &= valid & ~d;
    u64 starts = d & ~((d << 1) | carry);
    carry = d >> 63;
    u64 m = s | starts;
    while (m) {
      int bit = __builtin_ctzll(m);
      i32 pos = blk + bit;
      m &= m - 1;
      if (!((d >> bit) & 1)) {
        emit(ev, pos, 0);
        continue;
      }
      u64 rest = ~d >> bit; /* bit 0: pos; the first zero ends the run */
      i32 len;
      if (rest != 0 && bit + __builtin_ctzll(rest) < 64) len = __builtin_ctzll(rest);
      else {
        i32 i = blk + 64;
        while (i < to && is_digit(buf[i])) i++;
        len = i - pos;
      }
      if (run_matters(buf, pos + len, len, to)) emit(ev, pos, len < LONG_RUN ? len : LONG_RUN);
    }
  }
}
#endif

#ifdef HAVE_AVX2_PATH
/* Chosen once when the addon loads; LEAK_EXTRACT_SCALAR=1 forces the byte-by-byte path (tests). */
static int use_avx2;
__attribute__((constructor)) static void choose_path(void) {
  __builtin_cpu_init();
  use_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") && getenv("LEAK_EXTRACT_SCALAR") == NULL;
}
#endif

i32 events_scan(Events *ev, const u8 *buf, i32 from, i32 to, const ByteSet *set) {
  ev->n = 0;
  if (to <= from) return 0;
  i32 need = to - from + 16;
  if (ev->cap < need) {
    ev->pos = xrealloc(ev->pos, (size_t)need * sizeof(i32));
    ev->kind = xrealloc(ev->kind, (size_t)need);
    ev->cap = need;
  }
#ifdef HAVE_AVX2_PATH
  if (use_avx2) {
    scan_avx2(ev, buf, from, to, set);
    return ev->n;
  }
#endif
  scan_scalar(ev, buf, from, to, set);
  return ev->n;
}

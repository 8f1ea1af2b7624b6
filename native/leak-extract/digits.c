#include "digits.h"

i32 bsn_at(const u8 *buf, i32 s) {
  i32 sum = 0, value = 0;
  for (int i = 0; i < 8; i++) {
    i32 d = buf[s + i] - 48;
    sum += d * (9 - i);
    value = value * 10 + d;
  }
  i32 last = buf[s + 8] - 48;
  sum -= last;
  value = value * 10 + last;
  return sum % 11 == 0 && value != 0 ? value : -1;
}

i32 bsn_lost_zero_at(const u8 *buf, i32 s) {
  i32 sum = 0, value = 0;
  for (int i = 0; i < 7; i++) {
    i32 d = buf[s + i] - 48;
    sum += d * (8 - i);
    value = value * 10 + d;
  }
  i32 last = buf[s + 7] - 48;
  sum -= last;
  value = value * 10 + last;
  return sum % 11 == 0 && value != 0 ? value : -1;
}

i32 formatted_bsn_at(const Bytes *b, i32 s, i32 firstLen, i32 limit, i32 *endOut) {
  int sep = at(b, s + firstLen);
  if (sep != 0x2e && sep != 0x20) return -1;
  /* Preceded by "digit separator": the first group is not the first of the number. */
  if (s >= 2 && (at(b, s - 1) == 0x2e || at(b, s - 1) == 0x20) && is_digit(at(b, s - 2))) return -1;
  i32 second = firstLen == 4 ? 2 : 3;
  i32 a = s + firstLen + 1;
  i32 bb = a + second + 1;
  i32 end = bb + 3;
  if (end > limit) return -1;
  for (i32 i = a; i < a + second; i++)
    if (!is_digit(at(b, i))) return -1;
  if (at(b, a + second) != sep) return -1;
  for (i32 i = bb; i < end; i++)
    if (!is_digit(at(b, i))) return -1;
  if (end < limit) {
    int after = at(b, end);
    if (is_digit(after)) return -1;
    if ((after == 0x2e || after == 0x20) && end + 1 < limit && is_digit(at(b, end + 1))) return -1;
  }
  i32 sum = 0, value = 0, w = 9;
  const i32 from[3] = {s, a, bb}, len[3] = {firstLen, second, 3};
  for (int g = 0; g < 3; g++)
    for (i32 i = from[g]; i < from[g] + len[g]; i++) {
      i32 d = b->p[i] - 48;
      value = value * 10 + d;
      sum += w == 1 ? -d : d * w;
      w--;
    }
  if (sum % 11 != 0 || value == 0) return -1;
  *endOut = end;
  return value;
}

static i32 digits_at(const Bytes *b, i32 from, i32 limit) {
  i32 i = from;
  while (i < limit && is_digit(at(b, i))) i++;
  return i - from;
}

static i32 num(const u8 *buf, i32 from, i32 len) {
  i32 v = 0;
  for (i32 i = from; i < from + len; i++) v = v * 10 + buf[i] - 48;
  return v;
}

static int is_calendar_date(i32 y, i32 m, i32 d) {
  if (y < 1850 || y > 2150 || m < 1 || m > 12 || d < 1) return 0;
  if (m == 2) return d <= (((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 29 : 28);
  return d <= ((m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31);
}

i32 date_at(const Bytes *b, i32 s, i32 firstLen, i32 limit, i32 *endOut) {
  int sep = at(b, s + firstLen);
  if (sep != 0x2d && sep != 0x2f) return -1;
  i32 a = s + firstLen + 1;
  i32 aLen = digits_at(b, a, limit);
  if (aLen < 1 || aLen > 2 || a + aLen >= limit || at(b, a + aLen) != sep) return -1;
  i32 bb = a + aLen + 1;
  i32 bLen = digits_at(b, bb, limit);
  i32 y, m, d;
  if (firstLen == 4) {
    if (bLen < 1 || bLen > 2) return -1;
    y = num(b->p, s, 4);
    m = num(b->p, a, aLen);
    d = num(b->p, bb, bLen);
  } else {
    if (bLen != 4) return -1;
    d = num(b->p, s, firstLen);
    m = num(b->p, a, aLen);
    y = num(b->p, bb, 4);
  }
  if (!is_calendar_date(y, m, d)) return -1;
  *endOut = bb + bLen;
  return y * 10000 + m * 100 + d;
}

i32 compact_date_at(const u8 *buf, i32 s) {
  i32 y = num(buf, s, 4), m = num(buf, s + 4, 2), d = num(buf, s + 6, 2);
  return is_calendar_date(y, m, d) ? y * 10000 + m * 100 + d : -1;
}

int is_time_at(const Bytes *b, i32 p, i32 limit) {
  int sep = at(b, p);
  if (sep != 0x54 && sep != 0x20) return 0;
  i32 i = p + 1;
  i32 h = i;
  while (i < limit && i - h < 3 && is_digit(at(b, i))) i++;
  return i - h >= 1 && i - h <= 2 && i + 2 < limit && at(b, i) == 0x3a && is_digit(at(b, i + 1));
}

/**
 * BSNs written in groups: "1234.56.782", "1234 56 782", "123.456.782", "123 456 782" (one
 * separator, dot or space, used throughout). The groups must stand alone: a digit (or a separator
 * followed by a digit) right before or after means the groups belong to a longer number, such as a
 * phone number or an amount.
 */

const DOT = 0x2e;
const SPACE = 0x20;

function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= 48 && b <= 57;
}

/** End offset of the last match of formattedBsnAt (valid only right after it returned ≥ 0). */
export let formattedBsnEnd = 0;

/**
 * A grouped BSN starting with the digit run buf[s..s+firstLen) (3 or 4 digits, followed by the
 * separator at s+firstLen). Returns the BSN as a number when the groups form 9 digits that pass
 * the 11-proof, else -1. `limit` is the end of the readable bytes.
 */
export function formattedBsnAt(buf: Uint8Array, s: number, firstLen: number, limit: number): number {
  const sep = buf[s + firstLen];
  if (sep !== DOT && sep !== SPACE) return -1;
  // Preceded by "digit separator": the first group is not the first of the number.
  if (s >= 2 && (buf[s - 1] === DOT || buf[s - 1] === SPACE) && isDigit(buf[s - 2])) return -1;
  const second = firstLen === 4 ? 2 : 3;
  const a = s + firstLen + 1;
  const b = a + second + 1;
  const end = b + 3;
  if (end > limit) return -1;
  for (let i = a; i < a + second; i++) if (!isDigit(buf[i])) return -1;
  if (buf[a + second] !== sep) return -1;
  for (let i = b; i < end; i++) if (!isDigit(buf[i])) return -1;
  if (end < limit) {
    const after = buf[end];
    if (isDigit(after)) return -1;
    if ((after === DOT || after === SPACE) && end + 1 < limit && isDigit(buf[end + 1])) return -1;
  }
  let sum = 0;
  let value = 0;
  let w = 9;
  for (const [from, len] of [
    [s, firstLen],
    [a, second],
    [b, 3],
  ] as const)
    for (let i = from; i < from + len; i++) {
      const d = (buf[i] as number) - 48;
      value = value * 10 + d;
      sum += w === 1 ? -d : d * w;
      w--;
    }
  if (sum % 11 !== 0 || value === 0) return -1;
  formattedBsnEnd = end;
  return value;
}

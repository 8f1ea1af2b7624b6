import { EVENT_KIND_BITS, LONG_RUN, type ByteSet } from './byte-events.js';

/**
 * The first pass in plain JavaScript, byte by byte: what event-scan-wasm.ts computes, written so
 * it can be read. Tests check the two agree; it is not used by the scan.
 */
export function scanEventsJs(buf: Uint8Array, from: number, to: number, set: ByteSet, out: Int32Array): number {
  let n = 0;
  let i = from;
  while (i < to) {
    const b = buf[i] as number;
    if (b >= 0x30 && b <= 0x39) {
      const start = i;
      while (i < to && (buf[i] as number) >= 0x30 && (buf[i] as number) <= 0x39) i++;
      const len = i - start;
      const next = i < to ? (buf[i] as number) : 0;
      const date = (next === 0x2d || next === 0x2f) && (len === 1 || len === 2 || len === 4);
      const grouped = (next === 0x2e || next === 0x20) && (len === 3 || len === 4);
      if (i === to || len >= 8 || date || grouped) out[n++] = (start << EVENT_KIND_BITS) | Math.min(len, LONG_RUN);
      continue;
    }
    if (set.has[b] === 1) out[n++] = i << EVENT_KIND_BITS;
    i++;
  }
  return n;
}

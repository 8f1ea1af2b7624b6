import { LONG_RUN } from './byte-events.js';

/** End of the digit run at `pos` whose event kind is `kind` (its length, or LONG_RUN for 63 or more). */
export function runEnd(buf: Uint8Array, pos: number, kind: number, to: number): number {
  if (kind < LONG_RUN) return pos + kind;
  let i = pos + LONG_RUN;
  while (i < to && ((buf[i] as number) - 48) >>> 0 < 10) i++;
  return i;
}

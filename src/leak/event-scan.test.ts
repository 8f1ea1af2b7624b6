import { describe, expect, it } from 'vitest';
import { Prng } from '../synth/prng.js';
import { ByteEvents, ByteSet } from './byte-events.js';
import { scanEventsJs } from './event-scan-js.js';

/** The SIMD first pass must say exactly what the byte-by-byte reference says. */
describe('first pass (WebAssembly SIMD)', () => {
  const sets = [
    [],
    [0x0a, 0x0d],
    [0x0a, 0x0d, 0x3b, 0x22],
    [0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x2c, 0x0a, 0x0d],
    [0x7c, 0x5e, 0x26, 0x7e, 0x0a, 0x0d],
  ];
  const alphabet = '0123456789012345678901234567890123456789-/. ;,"\r\n{}[]:|^&~\\abcXYZé';

  it('agrees with the reference on random text, every range and byte set', () => {
    const prng = new Prng(5);
    const e = new ByteEvents(1 << 12);
    const ref = new Int32Array(1 << 13);
    for (let round = 0; round < 300; round++) {
      const len = 1 + prng.int(600);
      let text = '';
      for (let i = 0; i < len; i++)
        text += prng.chance(0.1) ? '123456789'.slice(0, 1 + prng.int(9)) : (alphabet[prng.int(alphabet.length)] as string);
      const b = Buffer.from(text, 'utf8').subarray(0, 1 << 12);
      b.copy(e.buf);
      const set = new ByteSet(sets[round % sets.length] as number[]);
      const from = prng.int(Math.min(40, b.length));
      const to = from + prng.int(b.length - from + 1);
      const n = e.scan(from, to, set);
      const m = scanEventsJs(e.buf, from, to, set, ref);
      expect([...e.ev.subarray(0, n)], `round ${round}`).toEqual([...ref.subarray(0, m)]);
    }
  });

  it('reports BSN-length runs, date and group starts, and runs touching the end; not other runs', () => {
    const e = new ByteEvents(1 << 10);
    const text = 'a 123456782 b 12-03-1980 1234.56.782 99 7 12345';
    Buffer.from(text).copy(e.buf);
    const n = e.scan(0, text.length, new ByteSet([]));
    const runs = [...e.ev.subarray(0, n)].map((v) => text.slice(v >>> 7, (v >>> 7) + (v & 127)));
    // "1980 " and "782 ": 4 and 3 digits before a space could start a grouped BSN.
    expect(runs).toEqual(['123456782', '12', '03', '1980', '1234', '782', '12345']);
  });
});

import { describe, expect, it } from 'vitest';
import { SlidingDistinct, SlidingSum } from './sliding-distinct.js';

const MINUTE = 60_000;
const T0 = Date.parse('2025-03-12T09:00:00Z');

describe('SlidingDistinct', () => {
  it('counts distinct keys, not sightings', () => {
    const s = new SlidingDistinct(MINUTE);
    s.add(['a', 'b'], T0);
    s.add(['b', 'c'], T0 + 1000);
    s.add(['a'], T0 + 2000);
    expect(s.size(T0 + 2000)).toBe(3);
  });

  it('starts empty', () => {
    const s = new SlidingDistinct(MINUTE);
    expect(s.size(T0)).toBe(0);
    expect(s.added([], T0)).toBe(0);
  });

  it('keeps a key until exactly one window after it was last seen, then drops it', () => {
    const s = new SlidingDistinct(MINUTE);
    s.add(['a'], T0);
    expect(s.size(T0 + MINUTE - 1)).toBe(1);
    expect(s.size(T0 + MINUTE)).toBe(0);
  });

  it('a key seen again is refreshed: it lives a full window after its last sighting', () => {
    const s = new SlidingDistinct(MINUTE);
    s.add(['a', 'b'], T0);
    s.add(['a'], T0 + 30_000);
    // b expires at T0 + 1 min, a (seen again) only at T0 + 1.5 min.
    expect(s.size(T0 + MINUTE)).toBe(1);
    expect(s.added(['a'], T0 + MINUTE)).toBe(0);
    expect(s.added(['b'], T0 + MINUTE)).toBe(1);
    expect(s.size(T0 + 30_000 + MINUTE - 1)).toBe(1);
    expect(s.size(T0 + 30_000 + MINUTE)).toBe(0);
  });

  it('a refreshed key at the front does not shield expired keys behind it', () => {
    const s = new SlidingDistinct(MINUTE);
    s.add(['a'], T0);
    s.add(['b'], T0 + 10_000);
    s.add(['c'], T0 + 20_000);
    s.add(['a'], T0 + 50_000); // a moves behind b and c
    expect(s.size(T0 + 20_000 + MINUTE)).toBe(1); // b and c gone, a stays
    expect(s.added(['a', 'b', 'c'], T0 + 20_000 + MINUTE)).toBe(2);
  });

  it('added counts only the keys a response would add to the window, and does not record them', () => {
    const s = new SlidingDistinct(MINUTE);
    s.add(['a', 'b'], T0);
    expect(s.added(['a', 'b', 'c', 'd'], T0 + 1000)).toBe(2);
    expect(s.added(['a', 'b'], T0 + 1000)).toBe(0);
    expect(s.size(T0 + 1000)).toBe(2);
    // Keys that expired count as new again.
    expect(s.added(['a', 'b'], T0 + MINUTE)).toBe(2);
  });

  it('size + added is what the window would hold after the add', () => {
    const s = new SlidingDistinct(MINUTE);
    for (let i = 0; i < 100; i++) s.add([`p${i}`], T0 + i * 1000);
    const now = T0 + 100_000; // p0..p40 expired (seen at or before now - 1 min)
    const next = ['p39', 'p40', 'p41', 'p99', 'new'];
    const predicted = s.size(now) + s.added(next, now);
    s.add(next, now);
    expect(s.size(now)).toBe(predicted);
    expect(predicted).toBe(59 + 3);
  });
});

describe('SlidingSum', () => {
  it('sums values within the window and drops them exactly one window later', () => {
    const s = new SlidingSum(MINUTE);
    s.add(100, T0);
    s.add(50, T0 + 30_000);
    expect(s.sum(T0 + 30_000)).toBe(150);
    expect(s.sum(T0 + MINUTE - 1)).toBe(150);
    expect(s.sum(T0 + MINUTE)).toBe(50);
    expect(s.sum(T0 + 30_000 + MINUTE)).toBe(0);
  });

  it('ignores zero values', () => {
    const s = new SlidingSum(MINUTE);
    s.add(0, T0);
    expect(s.sum(T0)).toBe(0);
    expect((s as unknown as { times: number[] }).times).toHaveLength(0);
  });

  it('stays exact across compaction with many events', () => {
    const s = new SlidingSum(MINUTE);
    const events: [number, number][] = [];
    // 20 000 events, one every 100 ms, values 1..7: compaction happens many times.
    for (let i = 0; i < 20_000; i++) {
      const at = T0 + i * 100;
      const v = (i % 7) + 1;
      s.add(v, at);
      events.push([at, v]);
      if (i % 997 === 0 || i === 19_999) {
        const expected = events.filter(([t]) => t > at - MINUTE).reduce((a, [, x]) => a + x, 0);
        expect(s.sum(at)).toBe(expected);
      }
    }
    // Internal arrays are compacted: they hold about a window of events, not all 20 000.
    const inner = s as unknown as { times: number[]; values: number[] };
    expect(inner.times.length).toBeLessThan(3000);
    expect(inner.values.length).toBe(inner.times.length);
    // Everything expires eventually.
    expect(s.sum(T0 + 20_000 * 100 + MINUTE)).toBe(0);
  });

  it('a sum read rarely still expires everything that left the window', () => {
    const s = new SlidingSum(MINUTE);
    for (let i = 0; i < 5000; i++) s.add(2, T0 + i * 10);
    expect(s.sum(T0 + 4999 * 10)).toBe(10_000);
    expect(s.sum(T0 + 2500 * 10 + MINUTE)).toBe(2 * 2499);
    expect(s.sum(T0 + 4999 * 10 + MINUTE)).toBe(0);
  });
});

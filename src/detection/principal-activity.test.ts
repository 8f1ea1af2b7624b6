import { describe, expect, it } from 'vitest';
import type { Observation } from '../domain/detection.js';
import { IdMinter } from '../synth/id-minter.js';
import { Prng } from '../synth/prng.js';
import { LocalClock } from './local-time.js';
import { PrincipalActivity } from './principal-activity.js';
import { observation } from '../../test/support/observation.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WINDOW = 5 * MINUTE;
const ALPHA = 0.1;
const GAP = 256;
/** Wednesday 2025-03-12 10:00 Europe/Amsterdam, on a window boundary. */
const T0 = Date.parse('2025-03-12T09:00:00Z');
/** A simple hour of the week for roll() (UTC-based; the detector passes the local one). */
const how = (ms: number): number => Math.floor(ms / HOUR) % 168;

const obs = (at: number, over: Partial<Observation> = {}): Observation =>
  observation('pathologist', at, { principal: { id: 'u-1', role: 'pathologist', tenants: ['screening'] }, ...over });

const hexId = (n: number): string => {
  const h = n.toString(16).padStart(16, '0');
  return `pat-${h.slice(0, 4)}-${h.slice(4, 8)}-${h.slice(8, 12)}-${h.slice(12)}`;
};

describe('PrincipalActivity.commit', () => {
  it('updates every sliding window, the baseline window, exports and the seen times', () => {
    const a = new PrincipalActivity('u-1');
    a.commit(obs(T0, { patients: ['p1', 'p2'], bytes: 1000, broad: true, kind: 'search' }), ['p2'], GAP);
    a.commit(obs(T0 + 1000, { miss: true, requestedId: 'pat-0000-0000-0000-0099' }), [], GAP);
    a.commit(obs(T0 + 2000, { kind: 'export', exportId: 'exp-1', patients: ['p3', 'p4'], bytes: 500 }), [], GAP);
    const now = T0 + 2000;
    expect(a.minute.size(now)).toBe(4);
    expect(a.hour.size(now)).toBe(4);
    expect(a.day.size(now)).toBe(4);
    expect(a.bytesHour.sum(now)).toBe(1500);
    expect(a.broadHour.sum(now)).toBe(1);
    expect(a.missesMinute.sum(now)).toBe(1);
    expect(a.unexplainedHour.size(now)).toBe(1);
    expect([...a.window].sort()).toEqual(['p1', 'p2', 'p3', 'p4']);
    expect([...(a.exports.get('exp-1') ?? [])].sort()).toEqual(['p3', 'p4']);
    expect(a.firstSeen).toBe(T0);
    expect(a.lastSeen).toBe(T0 + 2000);
    // The miss's id was remembered: a neighbouring id continues its run.
    expect(a.sequentialRun('pat-0000-0000-0000-009a', GAP)).toBe(2);
  });

  it('each window expires on its own horizon', () => {
    const a = new PrincipalActivity('u-1');
    a.commit(obs(T0, { patients: ['p1'], bytes: 10, broad: true, miss: false }), ['p1'], GAP);
    a.commit(obs(T0, { miss: true }), [], GAP);
    expect(a.minute.size(T0 + MINUTE)).toBe(0);
    expect(a.missesMinute.sum(T0 + MINUTE)).toBe(0);
    expect(a.hour.size(T0 + MINUTE)).toBe(1);
    expect(a.hour.size(T0 + HOUR)).toBe(0);
    expect(a.bytesHour.sum(T0 + HOUR)).toBe(0);
    expect(a.broadHour.sum(T0 + HOUR)).toBe(0);
    expect(a.unexplainedHour.size(T0 + HOUR)).toBe(0);
    expect(a.day.size(T0 + HOUR)).toBe(1);
    expect(a.day.size(T0 + DAY)).toBe(0);
  });

  it('windowAdded counts patients not yet in the baseline window', () => {
    const a = new PrincipalActivity('u-1');
    a.commit(obs(T0, { patients: ['p1', 'p2'] }), [], GAP);
    expect(a.windowAdded(['p1', 'p3', 'p4'])).toBe(2);
    expect(a.windowAdded([])).toBe(0);
  });
});

describe('PrincipalActivity.roll', () => {
  it('opens the first window without closing anything', () => {
    const a = new PrincipalActivity('u-1');
    expect(a.roll(T0 + 1234, WINDOW, ALPHA, how)).toEqual([]);
    expect(a.windowStart).toBe(T0);
    expect(a.windowHour).toBe(how(T0));
    expect(a.roll(T0 + WINDOW - 1, WINDOW, ALPHA, how)).toEqual([]);
  });

  it('folds the closed window’s distinct patients into the EWMA of its hour of week', () => {
    const a = new PrincipalActivity('u-1');
    a.roll(T0, WINDOW, ALPHA, how);
    a.commit(obs(T0 + 10, { patients: ['p1', 'p2', 'p3'] }), [], GAP);
    a.commit(obs(T0 + 20, { patients: ['p2', 'p4'] }), [], GAP);
    const closed = a.roll(T0 + WINDOW, WINDOW, ALPHA, how);
    expect(closed).toEqual([{ hourOfWeek: how(T0), distinct: 4, ewma: { mean: 4, variance: 0, samples: 1 } }]);
    expect(a.baselines.get(how(T0))).toEqual({ mean: 4, variance: 0, samples: 1 });
    expect(a.window.size).toBe(0);
    expect(a.windowStart).toBe(T0 + WINDOW);

    a.commit(obs(T0 + WINDOW + 5, { patients: ['p1', 'p2'] }), [], GAP);
    const next = a.roll(T0 + 2 * WINDOW + 1, WINDOW, ALPHA, how);
    expect(next).toHaveLength(1);
    expect(next[0]?.distinct).toBe(2);
    expect(next[0]?.ewma.samples).toBe(2);
    expect(next[0]?.ewma.mean).toBeCloseTo(4 - 0.1 * 2, 12);
  });

  it('zero-fills idle windows between the closed window and now', () => {
    const a = new PrincipalActivity('u-1');
    a.roll(T0, WINDOW, ALPHA, how);
    a.commit(obs(T0, { patients: ['p1', 'p2', 'p3'] }), [], GAP);
    const closed = a.roll(T0 + 3 * WINDOW + 10_000, WINDOW, ALPHA, how);
    expect(closed.map((c) => c.distinct)).toEqual([3, 0, 0]);
    expect(closed.map((c) => c.ewma.samples)).toEqual([1, 2, 3]);
    expect(closed[2]?.ewma.mean).toBeCloseTo(3 * 0.9 * 0.9, 12);
    expect(a.windowStart).toBe(T0 + 3 * WINDOW);
  });

  it('zero-fills idle windows into the hour of week each belongs to', () => {
    const a = new PrincipalActivity('u-1');
    a.roll(T0 + HOUR - WINDOW, WINDOW, ALPHA, how);
    a.commit(obs(T0 + HOUR - WINDOW, { patients: ['p1'] }), [], GAP);
    const closed = a.roll(T0 + HOUR + 2 * WINDOW, WINDOW, ALPHA, how);
    expect(closed.map((c) => [c.hourOfWeek, c.distinct])).toEqual([
      [how(T0), 1],
      [how(T0 + HOUR), 0],
      [how(T0 + HOUR), 0],
    ]);
    expect(a.baselines.get(how(T0 + HOUR))?.samples).toBe(2);
  });

  it('zero-fills at most one day of idle windows', () => {
    const a = new PrincipalActivity('u-1');
    a.roll(T0, WINDOW, ALPHA, how);
    a.commit(obs(T0, { patients: ['p1'] }), [], GAP);
    const closed = a.roll(T0 + 7 * DAY, WINDOW, ALPHA, how);
    expect(closed).toHaveLength(1 + DAY / WINDOW);
    expect(closed[0]?.distinct).toBe(1);
    expect(closed.slice(1).every((c) => c.distinct === 0)).toBe(true);
    // The zero-filled windows are the day just before now: every hour once, twelve windows each.
    expect(new Set(closed.slice(1).map((c) => c.hourOfWeek)).size).toBe(24);
    for (const [, e] of a.baselines) expect(e.samples).toBeLessThanOrEqual(13);
  });

  it('uses the hour-of-week function it is given (the detector passes local time)', () => {
    const local = new LocalClock('Europe/Amsterdam');
    const a = new PrincipalActivity('u-1');
    a.roll(T0, WINDOW, ALPHA, (ms) => local.at(ms).hourOfWeek);
    // Wednesday 10:00 local = 2 · 24 + 10.
    expect(a.windowHour).toBe(58);
  });

  // Regression: an observation stamped before the current window (requests take their `at` before
  // awaiting the order book, so they can reach the detector out of order) used to move the window
  // backwards, folding extra EWMA samples for one window boundary.
  it('an observation older than the current window does not close it or move it back', () => {
    const a = new PrincipalActivity('u-1');
    a.roll(T0 + WINDOW + 1, WINDOW, ALPHA, how);
    a.commit(obs(T0 + WINDOW + 1, { patients: ['p1', 'p2'] }), [], GAP);
    expect(a.roll(T0 + WINDOW - 1, WINDOW, ALPHA, how)).toEqual([]);
    expect(a.windowStart).toBe(T0 + WINDOW);
    expect(a.window.size).toBe(2);
  });
});

describe('PrincipalActivity.sequentialRun', () => {
  it('counts a run of reads by neighbouring hex ids', () => {
    const a = new PrincipalActivity('u-1');
    expect(a.sequentialRun('pat-0000-0000-0000-0041', GAP)).toBe(1);
    const runs: number[] = [];
    for (let n = 0x41; n < 0x41 + 10; n++) {
      runs.push(a.sequentialRun(hexId(n), GAP));
      a.commit(obs(T0 + n, { requestedId: hexId(n) }), [], GAP);
    }
    expect(runs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('does not record anything by itself (only commit does)', () => {
    const a = new PrincipalActivity('u-1');
    a.commit(obs(T0, { requestedId: hexId(0x41) }), [], GAP);
    expect(a.sequentialRun(hexId(0x42), GAP)).toBe(2);
    expect(a.sequentialRun(hexId(0x42), GAP)).toBe(2);
  });

  it('counts steps in either direction within the gap, and resets beyond it', () => {
    const a = new PrincipalActivity('u-1');
    const ids = [0x1000, 0x1000 + 256, 0x1000 + 256 - 100, 0x1000 + 256 - 100 + 257];
    const runs = ids.map((n, i) => {
      const r = a.sequentialRun(hexId(n), GAP);
      a.commit(obs(T0 + i, { requestedId: hexId(n) }), [], GAP);
      return r;
    });
    expect(runs).toEqual([1, 2, 3, 1]);
  });

  it('does not extend a run with a read of the same id', () => {
    const a = new PrincipalActivity('u-1');
    for (let i = 0; i < 10; i++) a.commit(obs(T0 + i, { requestedId: hexId(0x41) }), [], GAP);
    expect(a.sequentialRun(hexId(0x41), GAP)).toBeLessThanOrEqual(1);
  });

  it('keeps one run per id prefix', () => {
    const a = new PrincipalActivity('u-1');
    const runs: number[] = [];
    for (let n = 1; n <= 4; n++) {
      const pat = hexId(n);
      const sr = `sr-${pat.slice(4)}`;
      runs.push(a.sequentialRun(pat, GAP));
      a.commit(obs(T0 + n, { requestedId: pat }), [], GAP);
      // An interleaved read of another resource type does not break the patient run.
      a.commit(obs(T0 + n, { requestedId: sr }), [], GAP);
    }
    expect(runs).toEqual([1, 2, 3, 4]);
    expect(a.sequentialRun('sr-0000-0000-0000-0005', GAP)).toBe(5);
  });

  it('answers 0 for ids that are not hex-shaped', () => {
    const a = new PrincipalActivity('u-1');
    expect(a.sequentialRun('Patient/xyz', GAP)).toBe(0);
    expect(a.sequentialRun('pat-zzzz', GAP)).toBe(0);
    expect(a.sequentialRun('', GAP)).toBe(0);
  });

  it('never builds a run over the synthetic lab’s ids, even read in minting order', () => {
    const minter = new IdMinter(new Prng(20250312));
    const ids = Array.from({ length: 2000 }, () => minter.next('pat-'));
    expect(ids[0]).toMatch(/^pat-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$/);
    const a = new PrincipalActivity('u-1');
    let longest = 0;
    ids.forEach((id, i) => {
      longest = Math.max(longest, a.sequentialRun(id, GAP));
      a.commit(obs(T0 + i * 1000, { requestedId: id }), [], GAP);
    });
    expect(longest).toBe(1);
  });
});

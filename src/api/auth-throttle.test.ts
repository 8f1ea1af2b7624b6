import { describe, expect, it } from 'vitest';
import { AuthThrottle } from './auth-throttle.js';

describe('AuthThrottle', () => {
  it('blocks an address after the limit within a minute and lets it go once the window has passed', () => {
    let t = 60_000 * 100 + 10_000;
    const th = new AuthThrottle(3, () => t);
    for (let i = 0; i < 3; i++) {
      expect(th.retryAfter('a')).toBe(0);
      th.failed('a');
    }
    expect(th.retryAfter('a')).toBe(50);
    expect(th.retryAfter('b')).toBe(0);
    t += 30_000;
    expect(th.retryAfter('a')).toBe(20);
    // Early in the next window the previous one still weighs in (sliding): one more failure blocks.
    t += 25_000; // 5 s into the next window: 3 × 55/60 ≈ 2.75
    expect(th.retryAfter('a')).toBe(0);
    th.failed('a');
    expect(th.retryAfter('a')).toBeGreaterThan(0);
    // Two windows later it has faded completely.
    t += 120_000;
    expect(th.retryAfter('a')).toBe(0);
  });

  it('stays bounded in memory however many addresses fail', () => {
    const th = new AuthThrottle(1, () => 0);
    for (let i = 0; i < 20_000; i++) th.failed(`10.0.${i >> 8}.${i & 255}`);
    expect((th as unknown as { counters: Map<string, unknown> }).counters.size).toBeLessThanOrEqual(10_000);
    expect(th.retryAfter('10.0.78.31')).toBeGreaterThan(0);
  });
});

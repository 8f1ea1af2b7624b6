import { describe, expect, it } from 'vitest';
import { ewmaThreshold, foldEwma, type Ewma } from './ewma.js';

const EMPTY: Ewma = { mean: 0, variance: 0, samples: 0 };

describe('foldEwma', () => {
  it('the first sample becomes the mean, with no variance', () => {
    expect(foldEwma(EMPTY, 12, 0.1)).toEqual({ mean: 12, variance: 0, samples: 1 });
  });

  it('folds with weight alpha (West’s incremental mean and variance)', () => {
    const one = foldEwma(EMPTY, 10, 0.5);
    const two = foldEwma(one, 20, 0.5);
    expect(two.samples).toBe(2);
    expect(two.mean).toBeCloseTo(15, 12);
    // (1 - α)(var + diff·α·diff) = 0.5 · (0 + 10 · 5) = 25
    expect(two.variance).toBeCloseTo(25, 12);
  });

  it('does not mutate its input', () => {
    const e = { mean: 5, variance: 1, samples: 3 };
    foldEwma(e, 50, 0.2);
    expect(e).toEqual({ mean: 5, variance: 1, samples: 3 });
  });

  it('converges to a constant input’s mean, with the variance going to 0', () => {
    let e: Ewma = { mean: 0, variance: 100, samples: 5 };
    for (let i = 0; i < 400; i++) e = foldEwma(e, 7, 0.1);
    expect(e.mean).toBeCloseTo(7, 6);
    expect(e.variance).toBeLessThan(1e-6);
    expect(e.variance).toBeGreaterThanOrEqual(0);
    expect(e.samples).toBe(405);
  });

  it('tracks the mean and variance of alternating input', () => {
    let e: Ewma = EMPTY;
    for (let i = 0; i < 1000; i++) e = foldEwma(e, i % 2 === 0 ? 0 : 10, 0.05);
    expect(e.mean).toBeGreaterThan(4);
    expect(e.mean).toBeLessThan(6);
    expect(Math.sqrt(e.variance)).toBeGreaterThan(4);
    expect(Math.sqrt(e.variance)).toBeLessThan(6);
  });

  it('weights recent samples more with a larger alpha', () => {
    const slow = foldEwma({ mean: 10, variance: 0, samples: 10 }, 20, 0.1);
    const fast = foldEwma({ mean: 10, variance: 0, samples: 10 }, 20, 0.5);
    expect(slow.mean).toBeCloseTo(11, 12);
    expect(fast.mean).toBeCloseTo(15, 12);
  });
});

describe('ewmaThreshold', () => {
  it('is mean + k·σ when above the floor', () => {
    expect(ewmaThreshold({ mean: 20, variance: 9, samples: 10 }, 4, 15)).toBe(32);
  });

  it('is the floor when mean + k·σ is below it', () => {
    expect(ewmaThreshold({ mean: 2, variance: 1, samples: 10 }, 4, 15)).toBe(15);
    expect(ewmaThreshold({ mean: 0, variance: 0, samples: 10 }, 4, 15)).toBe(15);
  });

  it('treats a slightly negative variance (rounding) as zero', () => {
    expect(ewmaThreshold({ mean: 20, variance: -1e-12, samples: 10 }, 4, 0)).toBe(20);
  });

  it('is exactly mean + k·σ at the boundary with the floor', () => {
    expect(ewmaThreshold({ mean: 7, variance: 4, samples: 10 }, 4, 15)).toBe(15);
    expect(ewmaThreshold({ mean: 7, variance: 4, samples: 10 }, 4, 14)).toBe(15);
  });
});

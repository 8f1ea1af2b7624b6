/**
 * Exponentially weighted mean and variance (West's incremental form), one per principal and hour
 * of the week: recent weeks count most, so a baseline follows a changed job without a reset.
 */
export interface Ewma {
  mean: number;
  variance: number;
  samples: number;
}

export function foldEwma(e: Ewma, x: number, alpha: number): Ewma {
  if (e.samples === 0) return { mean: x, variance: 0, samples: 1 };
  const diff = x - e.mean;
  const incr = alpha * diff;
  return { mean: e.mean + incr, variance: (1 - alpha) * (e.variance + diff * incr), samples: e.samples + 1 };
}

/** max(mean + k·σ, floor): above it a window is unusual for this principal at this hour. */
export function ewmaThreshold(e: Ewma, k: number, floor: number): number {
  return Math.max(e.mean + k * Math.sqrt(Math.max(e.variance, 0)), floor);
}

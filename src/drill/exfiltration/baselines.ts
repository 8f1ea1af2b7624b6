import { foldEwma, type Ewma } from '../../detection/ewma.js';
import type { BaselineRow } from '../../ports/detection-store.js';
import type { Prng } from '../../synth/prng.js';
import type { ResultPage } from './worklists.js';

/**
 * Baselines for the drill's principals. A fresh vault has no history, and the slow-and-low thief
 * can only be judged against one: this stands in for weeks of real history. For every principal
 * and every hour of the week it simulates WEEKS weeks of detection windows whose distinct-patient
 * counts are drawn around what the principal's profile reads per window (Poisson noise), and folds
 * them with the server's own EWMA (`foldEwma`, the configured alpha) — exactly what the detector
 * would have stored had the principal worked like this all along. Every hour gets the same
 * profile: the drill runs at whatever hour it is started, and its clients work at the same pace
 * around the clock (a real lab's nights would have lower baselines and lower traffic alike).
 */
const WEEKS = 8;
/** With alpha ≈ 0.1 only the last few dozen windows carry weight; more folds change nothing. */
const MAX_WINDOWS_PER_HOUR = 2000;
const HOURS_OF_WEEK = 168;

/** Expected distinct patients among `draws` uniform picks from a worklist of `pool` patients. */
export function distinctOfDraws(pool: number, draws: number): number {
  if (pool <= 0 || draws <= 0) return 0;
  return pool * (1 - Math.pow(1 - 1 / pool, draws));
}

/**
 * Expected distinct subjects in `pagesPerWindow` consecutive pages of a poll that cycles over
 * `pages` (averaged over where in the cycle a window starts; fractional page counts interpolate).
 */
export function distinctOfPoll(pages: readonly ResultPage[], pagesPerWindow: number): number {
  if (pages.length === 0 || pagesPerWindow <= 0) return 0;
  const lo = Math.floor(pagesPerWindow);
  const frac = pagesPerWindow - lo;
  const avg = (k: number): number => {
    if (k === 0) return 0;
    let total = 0;
    for (let start = 0; start < pages.length; start++) {
      const seen = new Set<string>();
      for (let i = 0; i < k; i++) for (const s of pages[(start + i) % pages.length] ?? []) seen.add(s);
      total += seen.size;
    }
    return total / pages.length;
  };
  const a = avg(Math.min(lo, pages.length * 2));
  return frac === 0 ? a : a + frac * (avg(Math.min(lo + 1, pages.length * 2)) - a);
}

/** The 168 baseline rows of one principal whose windows hold `expected` distinct patients on average. */
export function seedBaselines(
  principalId: string,
  expected: number,
  o: { windowSeconds: number; alpha: number; prng: Prng; now: Date },
): BaselineRow[] {
  const windows = Math.min(MAX_WINDOWS_PER_HOUR, Math.max(1, Math.round((WEEKS * 3600) / o.windowSeconds)));
  const rows: BaselineRow[] = [];
  for (let hourOfWeek = 0; hourOfWeek < HOURS_OF_WEEK; hourOfWeek++) {
    let e: Ewma = { mean: 0, variance: 0, samples: 0 };
    for (let w = 0; w < windows; w++) e = foldEwma(e, poisson(expected, o.prng), o.alpha);
    rows.push({ principalId, hourOfWeek, mean: e.mean, variance: e.variance, samples: e.samples, updatedAt: o.now.toISOString() });
  }
  return rows;
}

/** A Poisson draw: Knuth's method for small means, the normal approximation above. */
function poisson(mean: number, prng: Prng): number {
  if (mean <= 0) return 0;
  if (mean > 30) {
    const u = Math.max(prng.next(), 1e-12);
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * prng.next());
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * z));
  }
  const limit = Math.exp(-mean);
  let k = 0;
  let p = prng.next();
  while (p > limit) {
    k++;
    p *= prng.next();
  }
  return k;
}

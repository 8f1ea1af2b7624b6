import type { Observation } from '../domain/detection.js';
import { foldEwma, type Ewma } from './ewma.js';
import { SlidingDistinct, SlidingSum } from './sliding-distinct.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A closed baseline window, to be folded into the stored EWMA of its hour of the week. */
export interface ClosedWindow {
  hourOfWeek: number;
  distinct: number;
  ewma: Ewma;
}

/**
 * What detection remembers about one principal: sliding counts of what it has been given, its
 * recent read-by-id pattern, and its baseline (EWMA of distinct patients per window, per hour of
 * the week). Kept in the node's memory — a read must be judged in microseconds — while baselines
 * and known origins persist in the store.
 */
export class PrincipalActivity {
  readonly minute = new SlidingDistinct(MINUTE);
  readonly hour = new SlidingDistinct(HOUR);
  readonly day = new SlidingDistinct(DAY);
  readonly bytesHour = new SlidingSum(HOUR);
  readonly broadHour = new SlidingSum(HOUR);
  readonly missesMinute = new SlidingSum(MINUTE);
  readonly unexplainedHour = new SlidingDistinct(HOUR);
  /** Distinct patients released per export job. */
  readonly exports = new Map<string, Set<string>>();
  /** Numeric value of the last id read by id, per id prefix, and how many in a row were close. */
  private readonly lastIds = new Map<string, { value: bigint; run: number }>();
  firstSeen: number | null = null;
  lastSeen: number | null = null;
  /** Baselines by hour of week; `loaded` once read from the store. */
  readonly baselines = new Map<number, Ewma>();
  baselinesLoaded = false;
  /** The current baseline window: its start and the distinct patients in it. */
  windowStart = 0;
  windowHour = 0;
  readonly window = new Set<string>();
  readonly origins = new Set<string>();
  originsLoaded = false;

  constructor(readonly principalId: string) {}

  /** Patients of `obs` not yet in the current baseline window. */
  windowAdded(patients: readonly string[]): number {
    let n = 0;
    for (const p of patients) if (!this.window.has(p)) n++;
    return n;
  }

  /**
   * Rolls the baseline window forward to the one containing `now`, returning the windows that
   * closed (with their counts folded into the EWMA) so the caller can persist them. Windows with
   * no activity at all are folded as zeros, as far back as one day: a quiet hour is part of the
   * baseline too.
   */
  roll(now: number, windowMs: number, alpha: number, hourOfWeek: (ms: number) => number): ClosedWindow[] {
    const start = now - (now % windowMs);
    if (this.windowStart === 0) {
      this.windowStart = start;
      this.windowHour = hourOfWeek(start);
      return [];
    }
    // A read judged late (its look-ups were slow) may carry a time before the current window:
    // it counts in the current window, it never moves the window back.
    if (start <= this.windowStart) return [];
    const closed: ClosedWindow[] = [];
    const fold = (hour: number, distinct: number): void => {
      const ewma = foldEwma(this.baselines.get(hour) ?? { mean: 0, variance: 0, samples: 0 }, distinct, alpha);
      this.baselines.set(hour, ewma);
      closed.push({ hourOfWeek: hour, distinct, ewma });
    };
    fold(this.windowHour, this.window.size);
    for (let s = Math.max(this.windowStart + windowMs, start - DAY); s < start; s += windowMs) fold(hourOfWeek(s), 0);
    this.window.clear();
    this.windowStart = start;
    this.windowHour = hourOfWeek(start);
    return closed;
  }

  /**
   * Whether a read of `id` continues a run of reads by close ids (`pat-0000-0000-0000-0041`,
   * `…0042`, …): the length the run would have. Ids are keyed permutations, so real work never
   * produces such runs; a thief guessing ids does.
   */
  sequentialRun(id: string, gap: number): number {
    const parsed = idValue(id);
    if (!parsed) return 0;
    const last = this.lastIds.get(parsed.prefix);
    if (!last) return 1;
    const d = parsed.value - last.value;
    // Reading the same id again neither extends nor breaks a run (re-reading each id must not
    // hide a walk).
    if (d === 0n) return last.run;
    return (d < 0n ? -d : d) <= BigInt(gap) ? last.run + 1 : 1;
  }

  /** Records a read that was allowed to leave (or a miss, which leaves nothing but counts). */
  commit(obs: Observation, unexplained: readonly string[], gap: number): void {
    const now = obs.at;
    this.firstSeen ??= now;
    this.lastSeen = now;
    this.minute.add(obs.patients, now);
    this.hour.add(obs.patients, now);
    this.day.add(obs.patients, now);
    this.bytesHour.add(obs.bytes, now);
    if (obs.broad) this.broadHour.add(1, now);
    if (obs.miss) this.missesMinute.add(1, now);
    this.unexplainedHour.add(unexplained, now);
    for (const p of obs.patients) this.window.add(p);
    if (obs.exportId !== null) {
      let s = this.exports.get(obs.exportId);
      if (!s) this.exports.set(obs.exportId, (s = new Set()));
      for (const p of obs.patients) s.add(p);
    }
    if (obs.requestedId !== null) {
      const parsed = idValue(obs.requestedId);
      if (parsed) this.lastIds.set(parsed.prefix, { value: parsed.value, run: this.sequentialRun(obs.requestedId, gap) });
    }
  }
}

/** `pat-3f9c-0a1b-7d2e-4c58` → prefix `pat-` and the 64-bit value; other shapes: digits only. */
function idValue(id: string): { prefix: string; value: bigint } | null {
  const m = /^([A-Za-z]*-?)([0-9A-Fa-f-]{1,40})$/.exec(id);
  if (!m) return null;
  const hex = (m[2] as string).replace(/-/g, '');
  if (hex.length === 0 || hex.length > 32) return null;
  return { prefix: m[1] as string, value: BigInt(`0x${hex}`) };
}

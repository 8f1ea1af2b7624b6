import { ByteEvents } from './byte-events.js';
import { createEngine, type EngineName } from './scan-engine.js';
import type { MatcherSpec } from './scan-types.js';
import { CHUNK, scanUnit } from './scan-unit.js';
import { ScanWorkers, workerAvailable } from './scan-workers.js';
import type { UnitResult, WorkUnit } from './work-unit.js';

/**
 * Runs work units on worker threads (scan-workers.ts): on workers started for the scan before its
 * matcher was known, or on workers started here for these units. Where the worker script is not
 * available as JavaScript (tests running the TypeScript sources) the same scanUnit runs in this
 * thread.
 */
export interface RunUnitsOptions {
  /** The units, or their plan still being made: the workers start (and load the matcher) meanwhile. */
  units: readonly WorkUnit[] | Promise<readonly WorkUnit[]>;
  matcher: MatcherSpec;
  /** Default: native where its addons load (see scan-engine.ts). */
  engine?: EngineName;
  /** See ScanLeakOptions.rebaseLines. */
  rebaseLines?: number;
  workers: number;
  /** Workers started earlier with the matcher loaded (their engine and rebase options are theirs); left running. */
  started?: ScanWorkers;
  onResult: (r: UnitResult) => void;
  onProgress: (unitId: number, inputBytes: number) => void;
}

const largestFirst = (units: readonly WorkUnit[]): WorkUnit[] => [...units].sort((a, b) => b.size - a.size || a.id - b.id);

export async function runUnits(opts: RunUnitsOptions): Promise<void> {
  if (opts.started) return opts.started.runUnits(opts.units, opts.onResult, opts.onProgress);
  if (!workerAvailable()) return runInline(largestFirst(await opts.units), opts);
  const known = Array.isArray(opts.units) ? (opts.units as readonly WorkUnit[]) : null;
  if (known?.length === 0) return;
  const pool = new ScanWorkers(Math.max(1, known ? Math.min(opts.workers, known.length) : opts.workers), opts);
  try {
    pool.load(opts.matcher);
    await pool.runUnits(opts.units, opts.onResult, opts.onProgress);
  } finally {
    await pool.close();
  }
}

async function runInline(
  order: readonly WorkUnit[],
  opts: Pick<RunUnitsOptions, 'matcher' | 'engine' | 'rebaseLines' | 'onResult' | 'onProgress'>,
): Promise<void> {
  const engine = await createEngine(opts.matcher, opts.engine);
  const events = new ByteEvents(CHUNK);
  for (const unit of order) opts.onResult(await scanUnit(unit, engine, events, (b) => opts.onProgress(unit.id, b), opts.rebaseLines));
}

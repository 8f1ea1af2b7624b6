import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { DistinctCounter } from './distinct-counter.js';
import { planUnits, type Plan } from './plan-units.js';
import { rejoinRanges } from './rejoin-ranges.js';
import { runUnits } from './run-units.js';
import { HitMerger } from './hit-merger.js';
import type { LeakScanResult, ScanLeakOptions, SkippedFile } from './scan-types.js';
import type { UnitResult, WorkUnit } from './work-unit.js';

/**
 * Scans files and directories for the vault's patients: plans work units (plan-units.ts), scans
 * them on worker threads with the given matcher (run-units.ts, scan-unit.ts) and puts the answers
 * together. The result does not depend on the number of workers: units are fixed by the files,
 * and everything is merged and sorted here.
 */
export async function scanLeak(opts: ScanLeakOptions): Promise<LeakScanResult> {
  const started = performance.now();
  // The workers start (and load the matcher) while this thread plans the units.
  let planned!: (p: Plan) => void;
  let notPlanned!: (e: unknown) => void;
  const planning = new Promise<Plan>((resolve, reject) => ((planned = resolve), (notPlanned = reject)));
  let plan: Plan = { units: [], skipped: [] };
  let total = 0;
  const progress = new Map<number, number>();
  let done = 0;
  const report = (id: number, inputBytes: number): void => {
    const before = progress.get(id) ?? 0;
    const now = Math.min(inputBytes, plan.units[id]?.size ?? inputBytes);
    progress.set(id, now);
    done += now - before;
    opts.onProgress?.(done, total);
  };
  const results = new Map<number, UnitResult>();
  // Hits are merged as units finish (the plan is there before any unit is handed out).
  let merger: HitMerger | null = null;
  const workers = opts.workers ?? availableParallelism();
  opts.started?.load(opts.matcher);
  const onStarted = opts.started ? { started: opts.started } : {};
  const run = runUnits({
    ...onStarted,
    units: planning.then((p) => p.units),
    matcher: opts.matcher,
    ...(opts.engine ? { engine: opts.engine } : {}),
    ...(opts.rebaseLines ? { rebaseLines: opts.rebaseLines } : {}),
    workers,
    onResult: (r) => {
      results.set(r.id, r);
      merger?.add(plan.units[r.id] as WorkUnit, r);
      report(r.id, plan.units[r.id]?.size ?? 0);
    },
    onProgress: report,
  });
  // A worker may fail (say, the matcher does not load) while this thread is still planning: the
  // rejection is taken up by `await run` below, not reported as unhandled meanwhile.
  run.catch(() => undefined);
  try {
    plan = await planUnits(opts.paths, opts.rangeBytes);
    total = plan.units.reduce((n, u) => n + u.size, 0);
    merger = new HitMerger(plan.units);
    planned(plan);
  } catch (e) {
    notPlanned(e);
  }
  await run;
  // Ranges that turned out to start mid-record are joined to the one before and scanned again
  // (rejoin-ranges.ts); progress stays at the total meanwhile.
  let units: readonly WorkUnit[] = plan.units;
  for (let nextId = plan.units.length; ;) {
    const { units: joined, rescan } = rejoinRanges(units, results, nextId, plan.units.length);
    if (rescan.length === 0) break;
    nextId += rescan.length;
    units = joined;
    await runUnits({
      ...onStarted,
      units: rescan,
      matcher: opts.matcher,
      ...(opts.engine ? { engine: opts.engine } : {}),
      ...(opts.rebaseLines ? { rebaseLines: opts.rebaseLines } : {}),
      workers,
      onResult: (r) => results.set(r.id, r),
      onProgress: () => undefined,
    });
  }
  if (units !== plan.units || !merger) {
    // Joined ranges replaced some results: merge the final units' hits again.
    merger = new HitMerger(units);
    for (const u of units) {
      const r = results.get(u.id);
      if (r) merger.add(u, r);
    }
  }
  const r = assemble(units, results, plan.skipped, merger);
  return { ...r, seconds: (performance.now() - started) / 1000 };
}

function assemble(
  units: readonly WorkUnit[],
  results: ReadonlyMap<number, UnitResult>,
  planSkipped: readonly SkippedFile[],
  merger: HitMerger,
): Omit<LeakScanResult, 'seconds'> {
  const files = new Set(units.map((u) => u.file));
  const unmatched = new DistinctCounter();
  const skipped = new Map<string, string>();
  let bytes = 0;
  let inputBytes = 0;
  let candidates = 0;
  for (const u of units) {
    const r = results.get(u.id);
    if (!r) continue;
    bytes += r.bytes;
    inputBytes += r.inputBytes;
    candidates += r.candidates;
    unmatched.addAll(r.unmatched);
    if (r.skipped !== null && !skipped.has(u.file)) skipped.set(u.file, r.skipped);
    for (const m of r.skippedMembers) skipped.set(`${u.file}!${m.member}`, m.reason);
  }
  const hits = merger.hits();
  const allSkipped = [...planSkipped, ...[...skipped].map(([file, reason]) => ({ file, reason }))].sort((a, b) => cmp(a.file, b.file));
  return { bytes, inputBytes, files: files.size, candidates, hits, unmatchedValidBsns: unmatched.size, skipped: allSkipped };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

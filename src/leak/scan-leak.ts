import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { DistinctCounter } from './distinct-counter.js';
import { planUnits, type Plan } from './plan-units.js';
import { rejoinRanges } from './rejoin-ranges.js';
import { runUnits } from './run-units.js';
import { HIT_FIELDS } from './packed-hits.js';
import type { HitKind, HitRecord, LeakScanResult, ScanLeakOptions, SkippedFile } from './scan-types.js';
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
  const workers = opts.workers ?? availableParallelism();
  const run = runUnits({
    units: planning.then((p) => p.units),
    matcher: opts.matcher,
    ...(opts.engine ? { engine: opts.engine } : {}),
    ...(opts.rebaseLines ? { rebaseLines: opts.rebaseLines } : {}),
    workers,
    onResult: (r) => {
      results.set(r.id, r);
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
      units: rescan,
      matcher: opts.matcher,
      ...(opts.engine ? { engine: opts.engine } : {}),
      ...(opts.rebaseLines ? { rebaseLines: opts.rebaseLines } : {}),
      ...(opts.rebaseLines ? { rebaseLines: opts.rebaseLines } : {}),
      workers,
      onResult: (r) => results.set(r.id, r),
      onProgress: () => undefined,
    });
  }
  const r = assemble(units, results, plan.skipped);
  return { ...r, seconds: (performance.now() - started) / 1000 };
}

function assemble(
  units: readonly WorkUnit[],
  results: ReadonlyMap<number, UnitResult>,
  planSkipped: readonly SkippedFile[],
): Omit<LeakScanResult, 'seconds'> {
  // Line numbers of a range count from its own start: add the lines of the ranges before it.
  const byFile = new Map<string, WorkUnit[]>();
  for (const u of units) {
    const list = byFile.get(u.file);
    if (list) list.push(u);
    else byFile.set(u.file, [u]);
  }
  const lineOffset = new Map<number, number>();
  for (const list of byFile.values()) {
    list.sort((a, b) => start(a) - start(b));
    let offset = 0;
    for (const u of list) {
      lineOffset.set(u.id, offset);
      offset += results.get(u.id)?.lines ?? 0;
    }
  }
  // Hits per file, keyed by number (see hitKey): every patient's hits from every range of a file
  // meet here, hundreds of thousands when the leak is the lab's own data.
  const byFileHits = new Map<string, Map<number, HitRecord>>();
  const hitsOf = (file: string): Map<number, HitRecord> => {
    let m = byFileHits.get(file);
    if (!m) byFileHits.set(file, (m = new Map<number, HitRecord>()));
    return m;
  };
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
    const offset = lineOffset.get(u.id) ?? 0;
    const own = hitsOf(u.file);
    const v = r.hits.values;
    const memberFile = r.hits.members.map((m) => `${u.file}!${m}`);
    for (let at = 0; at < v.length; at += HIT_FIELDS) {
      const tenant = v[at] as number;
      const patient = v[at + 1] as number;
      const kind: HitKind = v[at + 2] === 0 ? 'bsn' : 'name-date';
      const categories = v[at + 4] as number;
      const count = v[at + 5] as number;
      // A tar member is named like a zip member: archive!member.
      const member = v[at + 6] as number;
      const file = member < 0 ? u.file : (memberFile[member] as string);
      const merged = member < 0 ? own : hitsOf(file);
      const key = hitKey(tenant, patient, kind);
      const line = (v[at + 3] as number) + offset;
      const m = merged.get(key);
      if (!m) merged.set(key, { tenant, patient, kind, file, line, categories, count });
      else {
        m.line = Math.min(m.line, line);
        m.categories |= categories;
        m.count += count;
      }
    }
  }
  // By file, then line, tenant, patient and kind (a file's hits are unique per tenant, patient and kind).
  const hits: HitRecord[] = [];
  for (const file of [...byFileHits.keys()].sort(cmp)) {
    const own = [...(byFileHits.get(file) as Map<number, HitRecord>).values()];
    own.sort((a, b) => a.line - b.line || a.tenant - b.tenant || a.patient - b.patient || cmp(a.kind, b.kind));
    for (const h of own) hits.push(h);
  }
  const allSkipped = [...planSkipped, ...[...skipped].map(([file, reason]) => ({ file, reason }))].sort((a, b) => cmp(a.file, b.file));
  return { bytes, inputBytes, files: byFile.size, candidates, hits, unmatchedValidBsns: unmatched.size, skipped: allSkipped };
}

/** One exact number per (tenant < 2^20, patient < 2^32, kind): patient · 2^21 + tenant · 2 + kind < 2^53. */
function hitKey(tenant: number, patient: number, kind: HitRecord['kind']): number {
  return patient * 2 ** 21 + tenant * 2 + (kind === 'bsn' ? 0 : 1);
}

function start(u: WorkUnit): number {
  return u.source.kind === 'range' ? u.source.start : 0;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

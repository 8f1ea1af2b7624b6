import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InvalidInput } from '../domain/errors.js';
import { ByteEvents } from './byte-events.js';
import { createEngine, type EngineName } from './scan-engine.js';
import type { MatcherSpec } from './scan-types.js';
import { CHUNK, scanUnit } from './scan-unit.js';
import type { FromWorker, ScanWorkerData, ToWorker } from './scan-worker.js';
import type { UnitResult, WorkUnit } from './work-unit.js';

/**
 * Runs work units on worker threads, largest first, each worker taking the next unit when it is
 * done (so one slow file does not leave a core idle). Where the worker script is not available as
 * JavaScript (tests running the TypeScript sources) the same scanUnit runs in this thread.
 */
const WORKER_URL = new URL('./scan-worker.js', import.meta.url);

export function workerAvailable(): boolean {
  return WORKER_URL.protocol === 'file:' && existsSync(fileURLToPath(WORKER_URL));
}

export interface RunUnitsOptions {
  /** The units, or their plan still being made: the workers start (and load the matcher) meanwhile. */
  units: readonly WorkUnit[] | Promise<readonly WorkUnit[]>;
  matcher: MatcherSpec;
  /** Default: native where its addons load (see scan-engine.ts). */
  engine?: EngineName;
  /** See ScanLeakOptions.rebaseLines. */
  rebaseLines?: number;
  workers: number;
  onResult: (r: UnitResult) => void;
  onProgress: (unitId: number, inputBytes: number) => void;
}

const largestFirst = (units: readonly WorkUnit[]): WorkUnit[] => [...units].sort((a, b) => b.size - a.size || a.id - b.id);

export async function runUnits(opts: RunUnitsOptions): Promise<void> {
  if (!workerAvailable()) return runInline(largestFirst(await opts.units), opts);
  const known = Array.isArray(opts.units) ? (opts.units as readonly WorkUnit[]) : null;
  if (known?.length === 0) return;
  const count = Math.max(1, known ? Math.min(opts.workers, known.length) : opts.workers);
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let order: WorkUnit[] | null = null;
      /** Workers ready before the plan is. */
      const waiting: Worker[] = [];
      let next = 0;
      let finished = 0;
      let failed = false;
      const fail = (e: Error): void => {
        if (failed) return;
        failed = true;
        reject(e);
      };
      const feed = (w: Worker): void => {
        if (order === null) {
          waiting.push(w);
          return;
        }
        const unit = order[next++];
        if (unit) w.postMessage({ unit } satisfies ToWorker);
      };
      Promise.resolve(opts.units).then(
        (units) => {
          order = largestFirst(units);
          if (order.length === 0) resolve();
          for (const w of waiting.splice(0)) feed(w);
        },
        (e: unknown) => fail(e instanceof Error ? e : new Error(String(e))),
      );
      for (let i = 0; i < count; i++) {
        const w = new Worker(WORKER_URL, {
          workerData: { matcher: opts.matcher, engine: opts.engine, rebaseLines: opts.rebaseLines } satisfies ScanWorkerData,
        });
        workers.push(w);
        w.on('message', (m: FromWorker) => {
          switch (m.kind) {
            case 'ready':
              feed(w);
              return;
            case 'progress':
              opts.onProgress(m.id, m.inputBytes);
              return;
            case 'done':
              opts.onResult(m.result);
              if (++finished === (order as WorkUnit[]).length) resolve();
              else feed(w);
              return;
            case 'fatal':
              fail(new InvalidInput(`leak scan failed: ${m.message}`));
              return;
          }
        });
        w.on('error', (e) => fail(new InvalidInput('leak scan worker failed', { cause: e })));
        w.on('exit', (code) => {
          if (code !== 0) fail(new InvalidInput(`leak scan worker exited with code ${code}`));
        });
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
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

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { fromWireError } from '../domain/error-wire.js';
import { InvalidInput } from '../domain/errors.js';
import type { EngineName } from './scan-engine.js';
import type { MatcherSpec } from './scan-types.js';
import type { FromWorker, ScanWorkerData, ToWorker } from './scan-worker.js';
import type { UnitResult, WorkUnit } from './work-unit.js';

/**
 * The worker threads of a scan, which may be started before their matcher exists: a worker's
 * start (a Node environment and the scanner's modules, about 0.1 s) then overlaps with whatever
 * this thread does meanwhile — leak-scan.ts loads the blind indexes — and the matcher follows in a
 * message (load). Units run largest first, each worker taking the next when it is done, so one
 * slow file does not leave a core idle. The pool outlives a run: a scan's rejoined ranges run on
 * the same workers.
 */
const WORKER_URL = new URL('./scan-worker.js', import.meta.url);

/** Whether the worker script exists as JavaScript: tests that run the TypeScript sources scan in their own thread. */
export function workerAvailable(): boolean {
  return WORKER_URL.protocol === 'file:' && existsSync(fileURLToPath(WORKER_URL));
}

export interface ScanWorkersOptions {
  engine?: EngineName | undefined;
  rebaseLines?: number | undefined;
}

interface Run {
  feed(i: number): void;
  message(i: number, m: FromWorker): void;
  fail(e: Error): void;
}

const largestFirst = (units: readonly WorkUnit[]): WorkUnit[] => [...units].sort((a, b) => b.size - a.size || a.id - b.id);

export class ScanWorkers {
  private readonly workers: Worker[] = [];
  /** Whether worker i has its engine and no unit. */
  private readonly idle: boolean[] = [];
  private run: Run | null = null;
  /** A worker failed outside a run (its matcher did not load): the next run fails with it. */
  private failure: Error | null = null;
  private closing = false;

  constructor(count: number, opts: ScanWorkersOptions = {}) {
    try {
      for (let i = 0; i < Math.max(1, count); i++) this.spawn(i, opts);
    } catch (e) {
      // Those already started are not left running.
      void this.close();
      throw e;
    }
  }

  private spawn(i: number, opts: ScanWorkersOptions): void {
    const w = new Worker(WORKER_URL, {
      workerData: { engine: opts.engine, rebaseLines: opts.rebaseLines } satisfies ScanWorkerData,
    });
    this.workers.push(w);
    this.idle.push(false);
    w.on('message', (m: FromWorker) => {
      if (m.kind === 'ready') {
        this.idle[i] = true;
        this.run?.feed(i);
      } else if (m.kind === 'fatal') this.fail(fromWireError(m, 'leak scan failed: '));
      else this.run?.message(i, m);
    });
    w.on('error', (e) => this.fail(new InvalidInput('leak scan worker failed', { cause: e })));
    // A worker never ends on its own (its port keeps it alive): any exit but close()'s is a failure.
    w.on('exit', (code) => {
      if (!this.closing) this.fail(new InvalidInput(`leak scan worker exited with code ${code}`));
    });
  }

  get size(): number {
    return this.workers.length;
  }

  /** Hands every worker its matcher (once): each answers ready when its engine is made. */
  load(matcher: MatcherSpec): void {
    for (const w of this.workers) w.postMessage({ matcher } satisfies ToWorker);
  }

  /** Runs the units (or their plan, still being made) to the end; one run at a time. */
  runUnits(
    units: readonly WorkUnit[] | Promise<readonly WorkUnit[]>,
    onResult: (r: UnitResult) => void,
    onProgress: (unitId: number, inputBytes: number) => void,
  ): Promise<void> {
    if (this.run) return Promise.reject(new Error('scan workers: one run at a time'));
    return new Promise<void>((resolve, reject) => {
      let order: WorkUnit[] | null = null;
      let next = 0;
      let finished = 0;
      const end = (e?: Error): void => {
        if (this.run !== run) return;
        this.run = null;
        if (e) reject(e);
        else resolve();
      };
      const run: Run = {
        feed: (i) => {
          if (order === null || !this.idle[i]) return;
          const unit = order[next];
          if (!unit) return;
          next++;
          this.idle[i] = false;
          (this.workers[i] as Worker).postMessage({ unit } satisfies ToWorker);
        },
        message: (i, m) => {
          // A callback that throws fails the run (it would otherwise escape the worker's listener).
          try {
            if (m.kind === 'progress') onProgress(m.id, m.inputBytes);
            else if (m.kind === 'done') {
              // The worker gets its next unit before this thread merges the result (a few ms a unit).
              this.idle[i] = true;
              run.feed(i);
              onResult(m.result);
              if (++finished === (order as WorkUnit[]).length) end();
            }
          } catch (e) {
            end(e instanceof Error ? e : new Error(String(e)));
          }
        },
        fail: (e) => end(e),
      };
      this.run = run;
      if (this.failure) return end(this.failure);
      Promise.resolve(units).then(
        (u) => {
          if (this.run !== run) return;
          order = largestFirst(u);
          if (order.length === 0) return end();
          this.workers.forEach((_, i) => run.feed(i));
        },
        (e: unknown) => end(e instanceof Error ? e : new Error(String(e))),
      );
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.run?.fail(e);
  }
}

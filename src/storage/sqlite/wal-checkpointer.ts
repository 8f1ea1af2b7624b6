import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WalCheckpointWorkerData } from './wal-checkpoint-worker.js';

/**
 * Moves SQLite's WAL checkpoints off the main thread for a long-running server. An automatic
 * checkpoint runs inside whichever commit crosses the threshold: on the API server that commit
 * copied up to 64 MiB into the database file and synced it on the event loop, a stall of
 * 100–400 ms for every request in flight (measured with the event-loop delay monitor during
 * `bench api`). Here a worker thread with its own connection checkpoints continuously instead, and
 * the main connection only appends to (and syncs) the WAL.
 */
const WORKER_URL = new URL('./wal-checkpoint-worker.js', import.meta.url);
/**
 * How often the worker folds the WAL into the database. Each checkpoint writes and syncs the
 * database file, and on this machine's disk that made the WAL syncs that requests wait for slow
 * (up to 100–450 ms) for a moment. Measured with `bench api` (p99 of reads at 500/s, 10 s runs):
 * every 200 ms: 5.8, 467, 8.2, 47.8, 6.3, 7.1, 49.2 ms; every 2 s: 10.5, 22.7; every 5 s: 12.4,
 * 15.1, 8.7 ms. The WAL then holds up to ~5 s of writes, which readers look up in its index.
 */
const INTERVAL_MS = 5000;
/**
 * A bulk load's fold interval: nobody waits on its WAL syncs, so the WAL is folded often and stays
 * small (restarted from its start once a fold has caught up with the writer).
 */
export const BULK_INTERVAL_MS = 100;
/**
 * The WAL size past which a load's fold makes the writer wait (wal-checkpoint-worker.ts): four
 * times the in-line threshold. A 100,000-person load peaks near 120 MB without reaching it. A
 * server's folds have no such limit: there a RESTART would also wait for long readers (an export)
 * while holding off every audit append.
 */
export const BULK_MAX_WAL_BYTES = 256 * 1024 * 1024;

export class WalCheckpointer {
  private constructor(private readonly worker: Worker) {}

  /** Null where the worker script is not available as JavaScript (tests running the sources). */
  /** `onLost` runs if the worker dies unasked, so the caller can checkpoint in-line again. */
  static start(file: string, onLost: () => void, intervalMs = INTERVAL_MS, maxWalBytes = Number.POSITIVE_INFINITY): WalCheckpointer | null {
    if (WORKER_URL.protocol !== 'file:' || !existsSync(fileURLToPath(WORKER_URL))) return null;
    const data: WalCheckpointWorkerData = { file, intervalMs, maxWalBytes };
    const worker = new Worker(WORKER_URL, { workerData: data });
    // Never keeps the process alive.
    worker.unref();
    const c = new WalCheckpointer(worker);
    // Without it the WAL would grow without bound: give checkpoints back to the main connection.
    worker.on('error', () => undefined);
    worker.once('exit', () => {
      if (!c.stopping) onLost();
    });
    return c;
  }

  private stopping = false;

  async stop(): Promise<void> {
    this.stopping = true;
    const stopped = new Promise<void>((resolve) => {
      this.worker.once('message', () => resolve());
      this.worker.once('exit', () => resolve());
    });
    this.worker.postMessage('stop');
    await stopped;
    await this.worker.terminate();
  }
}

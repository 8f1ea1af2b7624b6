import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

/**
 * Worker-thread entry of the WAL checkpointer (wal-checkpointer.ts): its own connection copies
 * committed WAL frames into the database file and syncs it, every `intervalMs`, with PASSIVE
 * checkpoints that never wait for or block the writer on the main thread.
 */
export interface WalCheckpointWorkerData {
  file: string;
  intervalMs: number;
  /** WAL size past which a fold also waits for the writer and starts the WAL over (see tick); Infinity: never. */
  maxWalBytes: number;
}

const data = workerData as WalCheckpointWorkerData;
const port = parentPort;
if (!port) throw new Error('wal-checkpoint-worker must run in a worker thread');

const db = new Database(data.file);
// Also how long a RESTART fold waits for the writer's transaction to end before trying again later.
db.pragma('busy_timeout = 1000');
db.pragma('synchronous = FULL');
let stopped = false;

const maxFrames = Math.max(1, Math.floor(data.maxWalBytes / (db.pragma('page_size', { simple: true }) as number)));

/**
 * A PASSIVE fold never waits for the writer, so a writer that commits faster than the fold copies
 * keeps it behind: the WAL only starts over when a fold has caught up before the next commit, and
 * without that it grew to 3.1 GB during a 485,000-person load (indexes kept, every batch dirtying
 * pages all over them). Past `maxWalBytes` the fold is a RESTART: it waits for the writer's
 * transaction to end, holds off the next one while it copies the rest and lets the WAL start over,
 * the same brake an automatic checkpoint on the writer's own commit applied.
 */
const tick = (): void => {
  if (stopped) return;
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
    if (r && r.log > maxFrames) db.pragma('wal_checkpoint(RESTART)');
  } catch {
    // Busy or locked: the next tick tries again; the main connection's own checkpoint on close folds the rest.
  }
  setTimeout(tick, data.intervalMs);
};
setTimeout(tick, data.intervalMs);

port.on('message', () => {
  stopped = true;
  db.close();
  port.postMessage('stopped');
  port.close();
});

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
}

const data = workerData as WalCheckpointWorkerData;
const port = parentPort;
if (!port) throw new Error('wal-checkpoint-worker must run in a worker thread');

const db = new Database(data.file);
db.pragma('busy_timeout = 1000');
db.pragma('synchronous = FULL');
let stopped = false;

const tick = (): void => {
  if (stopped) return;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
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

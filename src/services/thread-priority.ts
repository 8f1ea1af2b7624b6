import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * How many nice steps below their thread's priority the ingest stages' worker threads run. The
 * main thread alone writes to the store, so it is the pipeline's critical path; the parse and seal
 * stages only need to stay a unit or two ahead of it. At equal priority, on two cores, the kernel
 * kept the main thread waiting for a core about 6 s of a 23 s ingest (runqueue wait in
 * /proc/<pid>/task/<tid>/schedstat) while the stages ran ahead; at +10 the stages take what the
 * main thread leaves.
 */
export const INGEST_STAGE_NICE = 10;

/**
 * Lowers the scheduling priority of the calling thread only, by `by` nice steps from where it is
 * (relative, so a process started under `nice` keeps its stages below its main thread; capped at
 * 19, the lowest). On Linux the nice value belongs to a thread, and setpriority() given a thread
 * id changes that thread alone; /proc/thread-self names the caller's thread id. Raising it again
 * needs privileges, so callers are threads that end with their job (a worker per run). Returns the
 * thread id changed, or null where the thread cannot be named (no /proc: not Linux) or the call is
 * refused: priority is a throughput matter, never a reason to fail.
 */
export function lowerThreadPriority(by: number): number | null {
  let tid: number;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return null;
  }
  if (!Number.isSafeInteger(tid) || tid <= 0) return null;
  try {
    setPriority(tid, Math.min(19, getPriority(tid) + Math.max(0, by)));
    return tid;
  } catch {
    return null;
  }
}

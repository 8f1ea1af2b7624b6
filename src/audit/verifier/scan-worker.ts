import { parentPort } from 'node:worker_threads';
import { scanChunk, splitLines } from './scan-chunk.js';

/**
 * Worker side of the parallel verifier: receives a run of events packed into one transferred
 * buffer (offsets + bytes) and answers with scanChunk's result. node:* only, like the verifier.
 */
export interface ScanRequest {
  readonly id: number;
  readonly start: number;
  readonly cuts: readonly number[];
  /** The run's events as newline-terminated lines. */
  readonly bytes: Uint8Array;
}

parentPort?.on('message', (req: ScanRequest) => {
  const result = scanChunk(splitLines(req.bytes), req.start, req.cuts);
  parentPort?.postMessage({ id: req.id, result });
});

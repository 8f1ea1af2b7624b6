import { parentPort } from 'node:worker_threads';
import { scanChunk } from './scan-chunk.js';

/**
 * Worker side of the parallel verifier: receives a run of events packed into one transferred
 * buffer (offsets + bytes) and answers with scanChunk's result. node:* only, like the verifier.
 */
export interface ScanRequest {
  readonly id: number;
  readonly start: number;
  readonly cuts: readonly number[];
  readonly bytes: Uint8Array;
  readonly offsets: Uint32Array;
}

parentPort?.on('message', (req: ScanRequest) => {
  const events: Uint8Array[] = [];
  for (let k = 0; k + 1 < req.offsets.length; k++) events.push(req.bytes.subarray(req.offsets[k], req.offsets[k + 1]));
  const result = scanChunk(events, req.start, req.cuts);
  parentPort?.postMessage({ id: req.id, result });
});

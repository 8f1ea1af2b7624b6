import { parentPort, workerData } from 'node:worker_threads';
import { ByteEvents } from './byte-events.js';
import { createEngine, type EngineName } from './scan-engine.js';
import type { MatcherSpec } from './scan-types.js';
import { CHUNK, scanUnit } from './scan-unit.js';
import type { UnitResult, WorkUnit } from './work-unit.js';

/**
 * Worker-thread entry of the leak scan: loads the matcher once, then scans the units the main
 * thread sends, one at a time, and answers with hits and counts only — candidates stay here.
 */
export interface ScanWorkerData {
  matcher: MatcherSpec;
  engine?: EngineName | undefined;
  rebaseLines?: number | undefined;
}

export type ToWorker = { unit: WorkUnit };
export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'progress'; id: number; inputBytes: number }
  | { kind: 'done'; result: UnitResult }
  | { kind: 'fatal'; message: string };

const port = parentPort;
if (!port) throw new Error('scan-worker must run in a worker thread');
const data = workerData as ScanWorkerData;

try {
  const engine = await createEngine(data.matcher, data.engine);
  const events = new ByteEvents(CHUNK);
  let queue = Promise.resolve();
  port.on('message', (m: ToWorker) => {
    // One unit at a time: they share the buffer.
    queue = queue.then(async () => {
      try {
        const result = await scanUnit(
          m.unit,
          engine,
          events,
          (inputBytes) => port.postMessage({ kind: 'progress', id: m.unit.id, inputBytes } satisfies FromWorker),
          data.rebaseLines,
        );
        port.postMessage({ kind: 'done', result } satisfies FromWorker, [
          result.unmatched.buffer as ArrayBuffer,
          result.hits.values.buffer as ArrayBuffer,
        ]);
      } catch (e) {
        port.postMessage({ kind: 'fatal', message: e instanceof Error ? e.message : String(e) } satisfies FromWorker);
      }
    });
  });
  port.postMessage({ kind: 'ready' } satisfies FromWorker);
} catch (e) {
  port.postMessage({ kind: 'fatal', message: e instanceof Error ? e.message : String(e) } satisfies FromWorker);
}

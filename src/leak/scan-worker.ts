import { parentPort, workerData } from 'node:worker_threads';
import { toWireError, type WireError } from '../domain/error-wire.js';
import { ByteEvents } from './byte-events.js';
import { createEngine, type EngineName, type ScanEngine } from './scan-engine.js';
import type { MatcherSpec } from './scan-types.js';
import { CHUNK, scanUnit } from './scan-unit.js';
import type { UnitResult, WorkUnit } from './work-unit.js';

/**
 * Worker-thread entry of the leak scan (scan-workers.ts): loads the matcher it is sent once, then
 * scans the units the main thread sends, one at a time, and answers with hits and counts only —
 * candidates stay here.
 */
export interface ScanWorkerData {
  engine?: EngineName | undefined;
  rebaseLines?: number | undefined;
}

/** First the matcher (the worker may start before it exists), then units, one at a time. */
export type ToWorker = { matcher: MatcherSpec } | { unit: WorkUnit };
export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'progress'; id: number; inputBytes: number }
  | { kind: 'done'; result: UnitResult }
  | ({ kind: 'fatal' } & WireError);

const port = parentPort;
if (!port) throw new Error('scan-worker must run in a worker thread');
const data = workerData as ScanWorkerData;
const fatal = (e: unknown): void => port.postMessage({ kind: 'fatal', ...toWireError(e, String(e)) } satisfies FromWorker);

let engine: Promise<ScanEngine> | null = null;
const events = new ByteEvents(CHUNK);
let queue = Promise.resolve();
port.on('message', (m: ToWorker) => {
  if ('matcher' in m) {
    if (engine) return fatal(new Error('the matcher was sent twice'));
    engine = createEngine(m.matcher, data.engine);
    engine.then(() => port.postMessage({ kind: 'ready' } satisfies FromWorker), fatal);
    return;
  }
  // One unit at a time: they share the buffer.
  queue = queue.then(async () => {
    try {
      if (!engine) throw new Error('a unit came before the matcher');
      const result = await scanUnit(
        m.unit,
        await engine,
        events,
        (inputBytes) => port.postMessage({ kind: 'progress', id: m.unit.id, inputBytes } satisfies FromWorker),
        data.rebaseLines,
      );
      port.postMessage({ kind: 'done', result } satisfies FromWorker, [
        result.unmatched.buffer as ArrayBuffer,
        result.hits.values.buffer as ArrayBuffer,
      ]);
    } catch (e) {
      fatal(e);
    }
  });
});

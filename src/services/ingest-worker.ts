import { parentPort, workerData } from 'node:worker_threads';
import { parseUnits, type ParsedUnit } from './ingest-parse.js';

/**
 * Worker-thread entry for the parse stage. Flow control by credits: the main thread grants one
 * credit per unit it has written, so at most a few units are in flight and memory stays bounded
 * however large the input.
 */
export interface IngestWorkerData {
  files: string[];
  batchSize: number;
  indexKeys: [string, Uint8Array][];
  credits: number;
}

export type WorkerMessage = { kind: 'unit'; unit: ParsedUnit } | { kind: 'done' } | { kind: 'fatal'; message: string };

const data = workerData as IngestWorkerData;
const port = parentPort;
if (!port) throw new Error('ingest-worker must run in a worker thread');

let credits = data.credits;
let wake: (() => void) | null = null;
port.on('message', (m: { credit: number }) => {
  credits += m.credit;
  wake?.();
  wake = null;
});

try {
  const indexKeys = new Map(data.indexKeys.map(([t, k]) => [t, Buffer.from(k)]));
  for await (const unit of parseUnits(data.files, { batchSize: data.batchSize, indexKeys })) {
    while (credits <= 0) await new Promise<void>((resolve) => (wake = resolve));
    credits--;
    port.postMessage({ kind: 'unit', unit } satisfies WorkerMessage, [unit.buffer]);
  }
  port.postMessage({ kind: 'done' } satisfies WorkerMessage);
} catch (e) {
  port.postMessage({ kind: 'fatal', message: e instanceof Error ? e.message : 'parse stage failed' } satisfies WorkerMessage);
} finally {
  port.close();
}

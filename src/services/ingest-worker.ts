import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { toWireError, type WireError } from '../domain/error-wire.js';
import { parseUnits } from './ingest-parse.js';
import { encodeUnit, type WireUnit } from './unit-wire.js';
import type { TenantKek } from './unit-sealer.js';
import { lowerThreadPriority } from './thread-priority.js';

/**
 * Worker-thread entry for the parse stage: read, parse, validate, canonicalise, MAC and blind
 * indexes. Its units go to the seal stage (seal-worker.ts) on `output`, which passes them on to the
 * main thread. Flow control by credits: the main thread grants one credit per unit (here: per part
 * of a unit, see parse-source.ts) it has written, so at most a few units are in flight and memory
 * stays bounded however large the input.
 */
export interface IngestWorkerData {
  files: string[];
  batchSize: number;
  indexKeys: [string, Uint8Array][];
  credits: number;
  /** Where units go: the seal stage. */
  output: MessagePort;
  /** Nice steps this thread yields to the main thread (thread-priority.ts). */
  stageNice: number;
}

/** Main → worker: a credit for one more unit, or a tenant's new active KEK after a rotation. */
export type MainMessage = { credit: number } | { tenantId: string; kek: TenantKek };

export type WorkerMessage = { kind: 'unit'; unit: WireUnit } | { kind: 'done' } | ({ kind: 'fatal' } & WireError);

const data = workerData as IngestWorkerData;
const port = parentPort;
if (!port) throw new Error('ingest-worker must run in a worker thread');
const out = data.output;

let credits = data.credits;
let wake: (() => void) | null = null;
port.on('message', (m: MainMessage) => {
  if (!('credit' in m)) return;
  credits += m.credit;
  wake?.();
  wake = null;
});

// The main thread is the critical path (see thread-priority.ts): this stage yields to it.
lowerThreadPriority(data.stageNice);

const indexKeys = new Map(data.indexKeys.map(([t, k]) => [t, Buffer.from(k)]));
try {
  for await (const unit of parseUnits(data.files, { batchSize: data.batchSize, indexKeys })) {
    while (credits <= 0) await new Promise<void>((resolve) => (wake = resolve));
    credits--;
    const wire = encodeUnit(unit);
    out.postMessage({ kind: 'unit', unit: wire } satisfies WorkerMessage, [wire.buffer, wire.ints.buffer]);
  }
  out.postMessage({ kind: 'done' } satisfies WorkerMessage);
} catch (e) {
  out.postMessage({ kind: 'fatal', ...toWireError(e, 'parse stage failed') } satisfies WorkerMessage);
} finally {
  for (const k of indexKeys.values()) k.fill(0);
  for (const [, k] of data.indexKeys) k.fill(0);
  out.close();
  port.close();
}

import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { toWireError } from '../domain/error-wire.js';
import type { MainMessage, WorkerMessage } from './ingest-worker.js';
import { sealWireUnit } from './seal-unit.js';
import { UnitSealer, type TenantKek } from './unit-sealer.js';
import { lowerThreadPriority } from './thread-priority.js';

/**
 * Worker-thread entry for the seal stage of ingest: takes the units the parse stage
 * (ingest-worker.ts) sends on `input`, encrypts ahead what it can (unit-sealer.ts) and passes them
 * on to the main thread in the same order. A stage of its own so the AES-GCM work (a third of the
 * parse stage's time) runs beside parsing instead of after it: parse, seal and the database writes
 * then share the cores as three threads, none of which bounds the others alone.
 */
export interface SealWorkerData {
  /** Active KEK of each tenant, for encrypting ahead. */
  keks: [string, TenantKek][];
  /** Units from the parse stage. */
  input: MessagePort;
  /** Nice steps this thread yields to the main thread (thread-priority.ts). */
  stageNice: number;
}

const data = workerData as SealWorkerData;
const port = parentPort;
if (!port) throw new Error('seal-worker must run in a worker thread');
const out = port;

// The main thread is the critical path (see thread-priority.ts): this stage yields to it.
lowerThreadPriority(data.stageNice);

const sealer = new UnitSealer(data.keks);
for (const [, k] of data.keks) k.key.fill(0);

// Only KEK changes come from the main thread (credits go to the parse stage).
out.on('message', (m: MainMessage) => {
  if (!('kek' in m)) return;
  sealer.setKek(m.tenantId, m.kek);
  m.kek.key.fill(0);
});

data.input.on('message', (m: WorkerMessage) => {
  if (m.kind !== 'unit') {
    out.postMessage(m);
    finish();
    return;
  }
  try {
    const wire = sealWireUnit(m.unit, sealer);
    out.postMessage({ kind: 'unit', unit: wire } satisfies WorkerMessage, [wire.buffer, wire.ints.buffer]);
  } catch (e) {
    out.postMessage({ kind: 'fatal', ...toWireError(e, 'seal stage failed') } satisfies WorkerMessage);
    finish();
  }
});

function finish(): void {
  sealer.close();
  data.input.close();
  out.close();
}

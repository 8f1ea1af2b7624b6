import { parentPort, workerData } from 'node:worker_threads';
import { parseUnits, type ParsedItem } from './ingest-parse.js';
import { encodeUnit, type WireUnit } from './unit-wire.js';
import { UnitSealer, type TenantKek } from './unit-sealer.js';
import type { UnitArena } from './unit-arena.js';

/**
 * Worker-thread entry for the parse stage. Flow control by credits: the main thread grants one
 * credit per unit (here: per part of a unit, see parse-source.ts) it has written, so at most a few
 * units are in flight and memory stays bounded however large the input.
 */
export interface IngestWorkerData {
  files: string[];
  batchSize: number;
  indexKeys: [string, Uint8Array][];
  /** Active KEK of each tenant, for encrypting ahead (unit-sealer.ts). */
  keks: [string, TenantKek][];
  credits: number;
}

/** Main → worker: a credit for one more unit, or a tenant's new active KEK after a rotation. */
export type MainMessage = { credit: number } | { tenantId: string; kek: TenantKek };

export type WorkerMessage = { kind: 'unit'; unit: WireUnit } | { kind: 'done' } | { kind: 'fatal'; message: string };

const data = workerData as IngestWorkerData;
const port = parentPort;
if (!port) throw new Error('ingest-worker must run in a worker thread');

let credits = data.credits;
let wake: (() => void) | null = null;
const sealer = new UnitSealer(data.keks);
for (const [, k] of data.keks) k.key.fill(0);
port.on('message', (m: MainMessage) => {
  if ('kek' in m) {
    sealer.setKek(m.tenantId, m.kek);
    m.kek.key.fill(0);
    return;
  }
  credits += m.credit;
  wake?.();
  wake = null;
});

const indexKeys = new Map(data.indexKeys.map(([t, k]) => [t, Buffer.from(k)]));
try {
  const opts = { batchSize: data.batchSize, indexKeys, seal: (items: readonly ParsedItem[], arena: UnitArena) => sealer.seal(items, arena) };
  for await (const unit of parseUnits(data.files, opts)) {
    while (credits <= 0) await new Promise<void>((resolve) => (wake = resolve));
    credits--;
    const wire = encodeUnit(unit);
    port.postMessage({ kind: 'unit', unit: wire } satisfies WorkerMessage, [wire.buffer, wire.ints.buffer]);
  }
  port.postMessage({ kind: 'done' } satisfies WorkerMessage);
} catch (e) {
  port.postMessage({ kind: 'fatal', message: e instanceof Error ? e.message : 'parse stage failed' } satisfies WorkerMessage);
} finally {
  sealer.close();
  for (const k of indexKeys.values()) k.fill(0);
  for (const [, k] of data.indexKeys) k.fill(0);
  port.close();
}

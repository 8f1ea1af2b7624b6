import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InvalidInput } from '../domain/errors.js';
import { parseUnits, type ParseOptions, type ParsedUnit } from './ingest-parse.js';
import type { IngestWorkerData, MainMessage, WorkerMessage } from './ingest-worker.js';
import { UnitSealer, type TenantKek } from './unit-sealer.js';
import { decodeUnit } from './unit-wire.js';

/**
 * Where the parse stage runs. In the built package it runs in a worker thread, so parsing,
 * validation and MACs use the second core while this thread encrypts and writes. Where the worker
 * script is not available as JavaScript (tests run the TypeScript sources), it runs in-process.
 */
const WORKER_URL = new URL('./ingest-worker.js', import.meta.url);

/**
 * Parts the worker sends per unit (see below). Measured on 30k persons: worker CPU 7.1 → 6.6 s,
 * GC helper threads 4.0 → 3.2 s; 10 parts were no better than 5.
 */
const PARTS = 5;

/**
 * The worker's young generation. Parsing leaves tens of short-lived objects per record; a larger
 * young generation lets more of them die before a scavenge has to copy them. Measured on 30k
 * persons: worker GC 1.84 → 1.27 s, ingest 11.3 → 10.5 s; 256 was no better than 128.
 */
const YOUNG_GENERATION_MB = 128;

export function workerAvailable(): boolean {
  return WORKER_URL.protocol === 'file:' && existsSync(fileURLToPath(WORKER_URL));
}

/** Units in input order. `ack()` must be called once per unit consumed (it grants the worker a credit). */
export interface ParseSource extends AsyncIterable<ParsedUnit> {
  ack(): void;
  /** Tells the parse stage a tenant's active KEK changed (rotation), so it encrypts ahead under the new one. */
  setKek(tenantId: string, kek: TenantKek): void;
  close(): Promise<void>;
}

/** `keks`: the active KEK of each tenant, for encrypting ahead in the parse stage (unit-sealer.ts). */
export function openParseSource(
  files: readonly string[],
  opts: ParseOptions,
  keks: ReadonlyMap<string, TenantKek>,
  useWorker = workerAvailable(),
): ParseSource {
  if (!useWorker) {
    // The same sealing in-process, so both paths run (and tests exercise) the same code.
    const sealer = new UnitSealer(keks);
    const gen = parseUnits(files, { ...opts, seal: (items, arena) => sealer.seal(items, arena) });
    return {
      [Symbol.asyncIterator]: () => gen,
      ack: () => undefined,
      setKek: (t, k) => sealer.setKek(t, k),
      close: async () => {
        await gen.return(undefined);
        sealer.close();
      },
    };
  }
  // The worker sends parts of a unit, merged back here. Everything a unit holds survives the young
  // generation in the worker until it is sent; a part is sent 1/PARTS as late, so far less of it
  // is copied by each scavenge and promoted to the old generation.
  const data: IngestWorkerData = {
    files: [...files],
    batchSize: Math.ceil(opts.batchSize / PARTS),
    indexKeys: [...opts.indexKeys].map(([t, k]) => [t, new Uint8Array(k)]),
    keks: [...keks].map(([t, k]) => [t, { version: k.version, key: new Uint8Array(k.key) }]),
    // Two units ahead, as parts: one being merged here while the next is parsed.
    credits: 2 * PARTS,
  };
  const worker = new Worker(WORKER_URL, { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
  // workerData was serialised by the constructor: these copies of key material are no longer needed.
  for (const [, k] of data.keks) k.key.fill(0);
  for (const [, k] of data.indexKeys) k.fill(0);
  const queue: WorkerMessage[] = [];
  let notify: (() => void) | null = null;
  let failure: Error | null = null;
  let exited = false;
  worker.on('message', (m: WorkerMessage) => {
    queue.push(m);
    notify?.();
  });
  worker.on('error', (e) => {
    failure = e;
    notify?.();
  });
  worker.on('exit', () => {
    exited = true;
    notify?.();
  });
  async function* messages(): AsyncGenerator<ParsedUnit> {
    for (;;) {
      const m = queue.shift();
      if (!m) {
        if (failure) throw new InvalidInput('ingest parse stage failed', { cause: failure });
        if (exited) throw new InvalidInput('ingest parse stage stopped unexpectedly');
        await new Promise<void>((resolve) => (notify = resolve));
        notify = null;
        continue;
      }
      if (m.kind === 'done') return;
      if (m.kind === 'fatal') throw new InvalidInput(m.message);
      yield decodeUnit(m.unit);
    }
  }
  /** Parts merged into the unit last yielded: ack() grants the worker that many credits. */
  let merged = 0;
  async function* units(): AsyncGenerator<ParsedUnit> {
    let pending: ParsedUnit | null = null;
    let count = 0;
    for await (const part of messages()) {
      // A Bundle stays a unit of its own (all-or-nothing), and a unit stays within one file.
      const joinable =
        pending !== null && !pending.allOrNothing && !part.allOrNothing && pending.items.at(-1)?.file === part.items[0]?.file;
      if (pending && !joinable) {
        merged = count;
        yield pending;
        pending = null;
      }
      if (pending) {
        pending.items.push(...part.items);
        pending.bytesDone = part.bytesDone;
        count++;
      } else {
        pending = part;
        count = 1;
      }
      if (pending.allOrNothing || pending.items.length >= opts.batchSize) {
        merged = count;
        yield pending;
        pending = null;
      }
    }
    if (pending) {
      merged = count;
      yield pending;
    }
  }
  return {
    [Symbol.asyncIterator]: units,
    ack: () => worker.postMessage({ credit: merged } satisfies MainMessage),
    // Structured clone copies the key; the worker zeroes its copy once it has taken it over, and
    // the copy made here for sending is zeroed as soon as it is serialised.
    setKek: (tenantId, kek) => {
      const key = new Uint8Array(kek.key);
      worker.postMessage({ tenantId, kek: { version: kek.version, key } } satisfies MainMessage);
      key.fill(0);
    },
    close: async () => {
      await worker.terminate();
    },
  };
}

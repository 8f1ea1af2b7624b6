import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InvalidInput } from '../domain/errors.js';
import { parseUnits, type ParseOptions, type ParsedUnit } from './ingest-parse.js';
import type { IngestWorkerData, WorkerMessage } from './ingest-worker.js';

/**
 * Where the parse stage runs. In the built package it runs in a worker thread, so parsing,
 * validation and MACs use the second core while this thread encrypts and writes. Where the worker
 * script is not available as JavaScript (tests run the TypeScript sources), it runs in-process.
 */
const WORKER_URL = new URL('./ingest-worker.js', import.meta.url);

export function workerAvailable(): boolean {
  return WORKER_URL.protocol === 'file:' && existsSync(fileURLToPath(WORKER_URL));
}

/** Units in input order. `ack()` must be called once per unit consumed (it grants the worker a credit). */
export interface ParseSource extends AsyncIterable<ParsedUnit> {
  ack(): void;
  close(): Promise<void>;
}

export function openParseSource(files: readonly string[], opts: ParseOptions, useWorker = workerAvailable()): ParseSource {
  if (!useWorker) {
    const gen = parseUnits(files, opts);
    return {
      [Symbol.asyncIterator]: () => gen,
      ack: () => undefined,
      close: async () => {
        await gen.return(undefined);
      },
    };
  }
  const data: IngestWorkerData = {
    files: [...files],
    batchSize: opts.batchSize,
    indexKeys: [...opts.indexKeys].map(([t, k]) => [t, new Uint8Array(k)]),
    credits: 3,
  };
  const worker = new Worker(WORKER_URL, { workerData: data });
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
  async function* units(): AsyncGenerator<ParsedUnit> {
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
      yield m.unit;
    }
  }
  return {
    [Symbol.asyncIterator]: units,
    ack: () => worker.postMessage({ credit: 1 }),
    close: async () => {
      await worker.terminate();
    },
  };
}

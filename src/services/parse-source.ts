import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { fromWireError } from '../domain/error-wire.js';
import { InvalidInput } from '../domain/errors.js';
import { parseUnits, type ParseOptions, type ParsedUnit } from './ingest-parse.js';
import type { IngestWorkerData, MainMessage, WorkerMessage } from './ingest-worker.js';
import type { SealWorkerData } from './seal-worker.js';
import { UnitSealer, type TenantKek } from './unit-sealer.js';
import { decodeUnit } from './unit-wire.js';
import { INGEST_STAGE_NICE } from './thread-priority.js';

/**
 * Where the parse stage runs. In the built package it runs as two worker threads in a pipeline:
 * one parses, validates and MACs (ingest-worker.ts), the next encrypts ahead (seal-worker.ts),
 * while this thread writes. Where the worker scripts are not available as JavaScript (tests run
 * the TypeScript sources), both run in-process, in one step.
 */
const WORKER_URL = new URL('./ingest-worker.js', import.meta.url);
const SEAL_WORKER_URL = new URL('./seal-worker.js', import.meta.url);

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
  return [WORKER_URL, SEAL_WORKER_URL].every((u) => u.protocol === 'file:' && existsSync(fileURLToPath(u)));
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
  stageNice = INGEST_STAGE_NICE,
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
  // The parse worker sends parts of a unit, through the seal worker, merged back here. Everything a
  // unit holds survives the young generation in the worker until it is sent; a part is sent
  // 1/PARTS as late, so far less of it is copied by each scavenge and promoted to the old generation.
  const channel = new MessageChannel();
  const sealData: SealWorkerData = {
    keks: [...keks].map(([t, k]) => [t, { version: k.version, key: new Uint8Array(k.key) }]),
    input: channel.port2,
    stageNice,
  };
  const data: IngestWorkerData = {
    files: [...files],
    batchSize: Math.ceil(opts.batchSize / PARTS),
    indexKeys: [...opts.indexKeys].map(([t, k]) => [t, new Uint8Array(k)]),
    // Two units ahead, as parts: one being merged here while the next is parsed.
    credits: 2 * PARTS,
    output: channel.port1,
    stageNice,
  };
  const limits = { resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } };
  const sealWorker = new Worker(SEAL_WORKER_URL, { workerData: sealData, transferList: [channel.port2], ...limits });
  const worker = new Worker(WORKER_URL, { workerData: data, transferList: [channel.port1], ...limits });
  // workerData was serialised by the constructors: these copies of key material are no longer needed.
  for (const [, k] of sealData.keks) k.key.fill(0);
  for (const [, k] of data.indexKeys) k.fill(0);
  const queue: WorkerMessage[] = [];
  let notify: (() => void) | null = null;
  let failure: Error | null = null;
  let exited = false;
  sealWorker.on('message', (m: WorkerMessage) => {
    queue.push(m);
    notify?.();
  });
  for (const w of [worker, sealWorker]) {
    w.on('error', (e) => {
      failure = e;
      notify?.();
    });
  }
  // The parse worker ends once it has sent its last unit; the seal worker only after passing it on.
  // A parse worker that dies without a word would leave the seal worker waiting for input forever.
  worker.on('exit', (code) => {
    if (code === 0) return;
    failure ??= new Error(`parse worker exited with code ${code}`);
    notify?.();
  });
  sealWorker.on('exit', () => {
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
      if (m.kind === 'fatal') throw fromWireError(m);
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
    // The seal worker encrypts ahead, so it is the one to learn of a rotation.
    // Structured clone copies the key; the worker zeroes its copy once it has taken it over, and
    // the copy made here for sending is zeroed as soon as it is serialised.
    setKek: (tenantId, kek) => {
      const key = new Uint8Array(kek.key);
      sealWorker.postMessage({ tenantId, kek: { version: kek.version, key } } satisfies MainMessage);
      key.fill(0);
    },
    close: async () => {
      await Promise.all([worker.terminate(), sealWorker.terminate()]);
    },
  };
}

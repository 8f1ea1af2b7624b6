#!/usr/bin/env node
import { createReadStream, promises as fs } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyLog } from './verify-log.js';

/**
 * `node dist/audit/verifier/standalone.js EXPORT_DIR [VERIFIER_KEY]` — verifies an export made
 * by `labvault audit export` with no database and no application code: events.ndjson (one
 * canonical event per line), checkpoints/*.checkpoint (signed notes from the store and from the
 * witness) and vkey.txt (or the key given as second argument, which an auditor should take from
 * the lab's published key rather than from the export). Prints the result as JSON; exit 1 if bad.
 */
/** An NDJSON file as packed chunks of whole lines (~1 MiB each): no per-line work here. */
export async function* readEventLines(file: string): AsyncGenerator<{ ndjson: Buffer }> {
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    const buf: Buffer = rest.length > 0 ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
    const end = buf.lastIndexOf(0x0a) + 1;
    if (end > 0) yield { ndjson: buf.subarray(0, end) };
    rest = buf.subarray(end);
  }
  if (rest.length > 0) yield { ndjson: rest };
}

export async function readCheckpointDir(dir: string): Promise<{ source: string; note: string }[]> {
  const names = (await fs.readdir(dir)).filter((n) => n.endsWith('.checkpoint')).sort();
  return Promise.all(names.map(async (n) => ({ source: n, note: await fs.readFile(path.join(dir, n), 'utf8') })));
}

async function main(argv: string[]): Promise<number> {
  const [dir, key] = argv;
  if (!dir) {
    process.stderr.write('usage: standalone.js EXPORT_DIR [VERIFIER_KEY]\n');
    return 2;
  }
  const verifierKey = key ?? (await fs.readFile(path.join(dir, 'vkey.txt'), 'utf8')).trim();
  const events = path.join(dir, 'events.ndjson');
  const result = await verifyLog({
    workers: (await fs.stat(events)).size > 50e6 ? Math.min(4, availableParallelism()) : 0,
    events: readEventLines(events),
    checkpoints: await readCheckpointDir(path.join(dir, 'checkpoints')),
    verifierKey,
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return result.ok ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}

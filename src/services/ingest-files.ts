import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { ConfigurationError } from '../domain/errors.js';
import { INGEST_ORDER } from '../domain/resource-type.js';

/**
 * Finds and reads ingest input: NDJSON files (one resource or one Bundle per line), JSON files
 * (a Bundle or a single resource), directories of them, and `tenants.json`.
 */
export interface InputPlan {
  tenantFiles: string[];
  dataFiles: string[];
  totalBytes: number;
}

export const TENANTS_FILE = 'tenants.json';

/**
 * Orders files so that referenced types come first, whatever their names or the order the shell
 * globbed them in: by the resourceType of an NDJSON file's first line (Bundles and unreadable
 * files last; a Bundle resolves its own references).
 */
async function rank(file: string): Promise<number> {
  if (!/\.(ndjson|jsonl)$/i.test(file)) return INGEST_ORDER.length;
  const handle = await fs.open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(1 << 16), 0, 1 << 16, 0);
    const head = buffer.subarray(0, bytesRead);
    const nl = head.indexOf(10);
    const first = head.toString('utf8', 0, nl === -1 ? bytesRead : nl);
    const type = (JSON.parse(first) as { resourceType?: unknown }).resourceType;
    const i = INGEST_ORDER.findIndex((t) => t === type);
    return i === -1 ? INGEST_ORDER.length : i;
  } catch {
    return INGEST_ORDER.length;
  } finally {
    await handle.close();
  }
}

export async function planInput(paths: string[]): Promise<InputPlan> {
  const tenantFiles: string[] = [];
  const dataFiles: string[] = [];
  const visit = async (p: string): Promise<void> => {
    let st;
    try {
      st = await fs.stat(p);
    } catch (cause) {
      throw new ConfigurationError(`cannot read ${p}`, { cause });
    }
    if (st.isDirectory()) {
      const names = (await fs.readdir(p)).sort();
      for (const n of names) if (!n.startsWith('.')) await visit(path.join(p, n));
    } else if (path.basename(p) === TENANTS_FILE) tenantFiles.push(p);
    else if (/\.(ndjson|jsonl|json)$/i.test(p)) dataFiles.push(p);
    else if (paths.includes(p)) throw new ConfigurationError(`${p}: not an .ndjson, .jsonl or .json file`);
  };
  for (const p of paths) await visit(p);
  const ranks = new Map<string, number>();
  for (const f of dataFiles) ranks.set(f, await rank(f));
  dataFiles.sort((a, b) => (ranks.get(a) ?? 0) - (ranks.get(b) ?? 0) || a.localeCompare(b));
  let totalBytes = 0;
  for (const f of dataFiles) totalBytes += (await fs.stat(f)).size;
  return { tenantFiles, dataFiles, totalBytes };
}

export interface InputLine {
  line: number;
  text: string;
  /** Bytes consumed so far in this file, for progress. */
  bytes: number;
}

/**
 * Streams the non-empty lines of a file (LF or CRLF) with their 1-based line numbers; memory stays
 * constant. Newlines are found in the raw bytes and each line is decoded on its own: a UTF-8
 * newline byte never occurs inside a multi-byte character, and this is ~5× faster than decoding
 * whole chunks and slicing strings.
 */
export async function* readLines(file: string): AsyncGenerator<InputLine> {
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  let rest: Buffer | null = null;
  let line = 0;
  let bytes = 0;
  for await (const read of stream as AsyncIterable<Buffer>) {
    bytes += read.length;
    const chunk: Buffer = rest ? Buffer.concat([rest, read]) : read;
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      line++;
      const end = nl > start && chunk[nl - 1] === 13 ? nl - 1 : nl;
      if (end > start) yield { line, text: chunk.toString('utf8', start, end), bytes };
      start = nl + 1;
    }
    rest = start < chunk.length ? chunk.subarray(start) : null;
  }
  const last = rest?.toString('utf8').replace(/\r$/, '') ?? '';
  if (last.trim().length > 0) yield { line: line + 1, text: last, bytes };
}

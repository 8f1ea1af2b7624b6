import { InvalidInput } from '../domain/errors.js';
import { INGEST_ORDER } from '../domain/resource-type.js';
import { validateResource, type ValidRecord } from '../domain/validate-resource.js';
import { blindIndex, contentMac, nameBirthDateKey } from '../crypto/blind-index.js';
import { bundleEntries } from './bundle-entries.js';
import { readLines } from './ingest-files.js';

/**
 * The CPU-bound first stage of ingest: read lines, parse, validate, canonicalise, and compute the
 * keyed MAC and blind indexes. It needs no database, so it can run in a worker thread while the
 * main thread encrypts and writes (ingest-worker.ts); it runs in-process where no worker is
 * available. Both paths run this same code.
 */
/** A validated record as the database stage needs it: the resource itself only as canonical JSON. */
export interface ParsedRecord extends Omit<ValidRecord, 'resource' | 'identity'> {
  /** JSON of the resource as received (the NDJSON line) or re-serialised (a Bundle entry): what gets encrypted. */
  json: string;
  /** Keyed content MAC; null when the tenant is unknown (the record is then rejected). */
  mac: Uint8Array | null;
  bsnIndex: Uint8Array | null;
  nameIndex: Uint8Array | null;
}

export interface ParsedItem {
  file: string;
  line: number;
  error?: string;
  record?: ParsedRecord;
}

export interface ParsedUnit {
  /** A Bundle: stored all-or-nothing. */
  allOrNothing: boolean;
  items: ParsedItem[];
  /** Input bytes consumed so far over all files, for progress. */
  bytesDone: number;
}

export interface ParseOptions {
  batchSize: number;
  /** Unwrapped blind-index keys of the known tenants. */
  indexKeys: ReadonlyMap<string, Buffer>;
}

export async function* parseUnits(files: readonly string[], opts: ParseOptions): AsyncGenerator<ParsedUnit> {
  let before = 0;
  for (const file of files) {
    let items: ParsedItem[] = [];
    let fileBytes = 0;
    for await (const { line, text, bytes } of readLines(file)) {
      fileBytes = bytes;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        items.push({ file, line, error: 'malformed JSON' });
        continue;
      }
      if (isBundle(parsed)) {
        if (items.length > 0) yield { allOrNothing: false, items, bytesDone: before + fileBytes };
        items = [];
        yield { allOrNothing: true, items: unpackBundle(parsed, file, line, opts), bytesDone: before + fileBytes };
        continue;
      }
      items.push(toItem(parsed, file, line, opts, text));
      if (items.length >= opts.batchSize) {
        yield { allOrNothing: false, items, bytesDone: before + fileBytes };
        items = [];
      }
    }
    before += fileBytes;
    if (items.length > 0) yield { allOrNothing: false, items, bytesDone: before };
  }
}

function isBundle(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && (v as { resourceType?: unknown }).resourceType === 'Bundle';
}

/**
 * `raw` is the input line the resource was parsed from: it is what gets encrypted and MACed, which
 * saves re-serialising every resource. The same resource re-sent with different whitespace or key
 * order therefore counts as different content (a conflict), not as unchanged.
 */
function toItem(parsed: unknown, file: string, line: number, opts: ParseOptions, raw?: string): ParsedItem {
  let r: ValidRecord;
  try {
    r = validateResource(parsed);
  } catch (e) {
    return { file, line, error: e instanceof InvalidInput ? e.message : 'invalid resource' };
  }
  const json = raw ?? JSON.stringify(r.resource);
  const key = opts.indexKeys.get(r.tenantId);
  const identity = r.identity;
  return {
    file,
    line,
    record: {
      type: r.type,
      id: r.id,
      tenantId: r.tenantId,
      patientId: r.patientId,
      refs: r.refs,
      status: r.status,
      code: r.code,
      effectiveDate: r.effectiveDate,
      json,
      mac: key ? contentMac(key, Buffer.from(json, 'utf8')) : null,
      bsnIndex: key && identity ? blindIndex(key, 'bsn', identity.bsn) : null,
      nameIndex: key && identity ? blindIndex(key, 'name-birthdate', nameBirthDateKey(identity.family, identity.birthDate)) : null,
    },
  };
}

function unpackBundle(bundle: Record<string, unknown>, file: string, line: number, opts: ParseOptions): ParsedItem[] {
  let entries: unknown[];
  try {
    entries = bundleEntries(bundle);
  } catch (e) {
    return [{ file, line, error: e instanceof InvalidInput ? e.message : 'invalid Bundle' }];
  }
  const items = entries.map((e, i) => {
    const item = toItem(e, file, line, opts);
    return item.error ? { ...item, error: `Bundle.entry[${i}]: ${item.error}` } : item;
  });
  // Entries of a transaction have no order; resolve dependencies by processing referenced types first.
  const rank = (it: ParsedItem): number => (it.record ? INGEST_ORDER.indexOf(it.record.type) : -1);
  return items.sort((a, b) => rank(a) - rank(b));
}

import { readFile } from 'node:fs/promises';
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
  /** UTF-8 JSON of the resource, re-serialised: what gets encrypted and MACed. */
  json: Uint8Array;
  /** Keyed content MAC; null when the tenant is unknown (the record is then rejected). */
  mac: Uint8Array | null;
  bsnIndex: Uint8Array | null;
  nameIndex: Uint8Array | null;
  /**
   * Set when the parse stage encrypted the record ahead (unit-sealer.ts): the ciphertext, the
   * patient's DEK wrapped under KEK `sealedKekVersion` that it was sealed with, and that version.
   * The database stage uses them only after checking them against the store.
   */
  sealedBody?: Uint8Array;
  sealedDek?: Uint8Array;
  sealedKekVersion?: number;
}

export interface ParsedItem {
  file: string;
  line: number;
  error?: string;
  record?: ParsedRecord;
}

export interface ParsedUnit {
  /** Holds every byte array of the unit (see packUnit); transferred, not copied, to the main thread. */
  buffer: ArrayBuffer;
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
  /** Encrypts what it can of a unit before it is packed (unit-sealer.ts); none when absent. */
  seal?: (items: readonly ParsedItem[]) => void;
}

export async function* parseUnits(files: readonly string[], opts: ParseOptions): AsyncGenerator<ParsedUnit> {
  let before = 0;
  for (const file of files) {
    if (/\.json$/i.test(file)) {
      // A .json file is one document (usually a pretty-printed transaction Bundle), not NDJSON.
      const text = await readFile(file, 'utf8');
      before += Buffer.byteLength(text);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        yield packUnit([{ file, line: 1, error: 'malformed JSON' }], false, before, opts);
        continue;
      }
      yield isBundle(parsed)
        ? packUnit(unpackBundle(parsed, file, 1, opts), true, before, opts)
        : packUnit([toItem(parsed, file, 1, opts)], false, before, opts);
      continue;
    }
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
        if (items.length > 0) yield packUnit(items, false, before + fileBytes, opts);
        items = [];
        yield packUnit(unpackBundle(parsed, file, line, opts), true, before + fileBytes, opts);
        continue;
      }
      items.push(toItem(parsed, file, line, opts));
      if (items.length >= opts.batchSize) {
        yield packUnit(items, false, before + fileBytes, opts);
        items = [];
      }
    }
    before += fileBytes;
    if (items.length > 0) yield packUnit(items, false, before, opts);
  }
}

/**
 * One document already parsed from a request body (a resource or a transaction Bundle), as the
 * unit the database stage stores all-or-nothing. `label` stands in for a file name in errors.
 */
export function parseDocument(parsed: unknown, label: string, opts: ParseOptions): ParsedUnit {
  const items = isBundle(parsed) ? unpackBundle(parsed, label, 1, opts) : [toItem(parsed, label, 1, opts)];
  return packUnit(items, true, 0, opts);
}

function isBundle(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && (v as { resourceType?: unknown }).resourceType === 'Bundle';
}

/**
 * The resource is re-serialised, so the same resource sent as an NDJSON line, inside a Bundle or
 * with other whitespace has the same bytes and MAC (re-ingest finds it unchanged). Key order still
 * counts: a sender that reorders keys sends a conflicting version.
 */
function toItem(parsed: unknown, file: string, line: number, opts: ParseOptions): ParsedItem {
  let r: ValidRecord;
  try {
    r = validateResource(parsed);
  } catch (e) {
    return { file, line, error: e instanceof InvalidInput ? e.message : 'invalid resource' };
  }
  const json = Buffer.from(JSON.stringify(r.resource), 'utf8');
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
      mac: key ? contentMac(key, json) : null,
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

/**
 * Seals what it can (opts.seal), then copies the byte arrays of a unit (JSON, MAC, blind indexes,
 * ciphertexts) into one buffer and points the
 * records at views of it. Sent to the main thread, the unit then costs one ArrayBuffer instead of
 * one per field: per-record ArrayBuffers made garbage collection the main thread's largest cost.
 */
function packUnit(items: ParsedItem[], allOrNothing: boolean, bytesDone: number, opts: ParseOptions): ParsedUnit {
  opts.seal?.(items);
  let total = 0;
  for (const { record: r } of items) {
    if (!r) continue;
    total += r.json.length + (r.mac?.length ?? 0) + (r.bsnIndex?.length ?? 0) + (r.nameIndex?.length ?? 0);
    total += (r.sealedBody?.length ?? 0) + (r.sealedDek?.length ?? 0);
  }
  const buf = Buffer.allocUnsafeSlow(total);
  let at = 0;
  const place = (src: Uint8Array): Uint8Array => {
    buf.set(src, at);
    at += src.length;
    return buf.subarray(at - src.length, at);
  };
  for (const { record: r } of items) {
    if (!r) continue;
    r.json = place(r.json);
    if (r.mac) r.mac = place(r.mac);
    if (r.bsnIndex) r.bsnIndex = place(r.bsnIndex);
    if (r.nameIndex) r.nameIndex = place(r.nameIndex);
    if (r.sealedBody) r.sealedBody = place(r.sealedBody);
    if (r.sealedDek) r.sealedDek = place(r.sealedDek);
  }
  return { buffer: buf.buffer, allOrNothing, items, bytesDone };
}

import { readFile } from 'node:fs/promises';
import { InvalidInput } from '../domain/errors.js';
import { INGEST_ORDER } from '../domain/resource-type.js';
import { validateResource, type ValidRecord } from '../domain/validate-resource.js';
import { BLIND_INDEX_BYTES, blindIndexBatch, contentMac, nameBirthDateKey } from '../crypto/blind-index.js';
import { bundleEntries } from './bundle-entries.js';
import { readLines } from './ingest-files.js';
import { UnitArena } from './unit-arena.js';

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
  /** Encrypts what it can of a unit, into its arena, before it is packed (unit-sealer.ts); none when absent. */
  seal?: (items: readonly ParsedItem[], arena: UnitArena) => void;
}

/**
 * A unit being built: its arena, and the Patients whose blind indexes are still to be computed
 * (in one batch per tenant when the unit is packed: a block-cipher call per value cost ~20 µs).
 */
interface UnitDraft {
  arena: UnitArena;
  identities: { record: ParsedRecord; key: Buffer; bsn: string; name: string }[];
}

function draft(capacity: number): UnitDraft {
  return { arena: new UnitArena(capacity), identities: [] };
}

/** Arena size of the next unit: the last one's with room to spare, so a unit seldom has to move. */
function nextCapacity(d: UnitDraft): number {
  return Math.max(1 << 16, Math.ceil(d.arena.bytesUsed * 1.125));
}

export async function* parseUnits(files: readonly string[], opts: ParseOptions): AsyncGenerator<ParsedUnit> {
  let before = 0;
  let capacity = 1 << 20;
  for (const file of files) {
    if (/\.json$/i.test(file)) {
      // A .json file is one document (usually a pretty-printed transaction Bundle), not NDJSON.
      const text = await readFile(file, 'utf8');
      before += Buffer.byteLength(text);
      let parsed: unknown;
      const d = draft(Buffer.byteLength(text) * 2);
      try {
        parsed = JSON.parse(text);
      } catch {
        yield packUnit([{ file, line: 1, error: 'malformed JSON' }], false, before, opts, d);
        continue;
      }
      yield isBundle(parsed)
        ? packUnit(unpackBundle(parsed, file, 1, opts, d), true, before, opts, d)
        : packUnit([toItem(parsed, file, 1, opts, d)], false, before, opts, d);
      continue;
    }
    let items: ParsedItem[] = [];
    let d = draft(capacity);
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
        if (items.length > 0) yield packUnit(items, false, before + fileBytes, opts, d);
        items = [];
        const b = draft(text.length * 2);
        yield packUnit(unpackBundle(parsed, file, line, opts, b), true, before + fileBytes, opts, b);
        d = draft(capacity);
        continue;
      }
      items.push(toItem(parsed, file, line, opts, d));
      if (items.length >= opts.batchSize) {
        yield packUnit(items, false, before + fileBytes, opts, d);
        capacity = nextCapacity(d);
        items = [];
        d = draft(capacity);
      }
    }
    before += fileBytes;
    if (items.length > 0) yield packUnit(items, false, before, opts, d);
  }
}

/**
 * One document already parsed from a request body (a resource or a transaction Bundle), as the
 * unit the database stage stores all-or-nothing. `label` stands in for a file name in errors.
 */
export function parseDocument(parsed: unknown, label: string, opts: ParseOptions): ParsedUnit {
  const d = draft(1 << 16);
  const items = isBundle(parsed) ? unpackBundle(parsed, label, 1, opts, d) : [toItem(parsed, label, 1, opts, d)];
  return packUnit(items, true, 0, opts, d);
}

function isBundle(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && (v as { resourceType?: unknown }).resourceType === 'Bundle';
}

/**
 * The resource is re-serialised, so the same resource sent as an NDJSON line, inside a Bundle or
 * with other whitespace has the same bytes and MAC (re-ingest finds it unchanged). Key order still
 * counts: a sender that reorders keys sends a conflicting version.
 */
function toItem(parsed: unknown, file: string, line: number, opts: ParseOptions, d: UnitDraft): ParsedItem {
  let r: ValidRecord;
  try {
    r = validateResource(parsed);
  } catch (e) {
    return { file, line, error: e instanceof InvalidInput ? e.message : 'invalid resource' };
  }
  const key = opts.indexKeys.get(r.tenantId);
  const identity = r.identity;
  const record: ParsedRecord = {
    type: r.type,
    id: r.id,
    tenantId: r.tenantId,
    patientId: r.patientId,
    refs: r.refs,
    status: r.status,
    code: r.code,
    effectiveDate: r.effectiveDate,
    json: EMPTY,
    mac: null,
    bsnIndex: null,
    nameIndex: null,
  };
  const json = d.arena.claimString(record, 'json', JSON.stringify(r.resource));
  if (key) {
    d.arena.claimCopy(record, 'mac', contentMac(key, json));
    if (identity) {
      d.identities.push({ record, key, bsn: identity.bsn, name: nameBirthDateKey(identity.family, identity.birthDate) });
    }
  }
  return { file, line, record };
}

const EMPTY = new Uint8Array(0);

function unpackBundle(bundle: Record<string, unknown>, file: string, line: number, opts: ParseOptions, d: UnitDraft): ParsedItem[] {
  let entries: unknown[];
  try {
    entries = bundleEntries(bundle);
  } catch (e) {
    return [{ file, line, error: e instanceof InvalidInput ? e.message : 'invalid Bundle' }];
  }
  const items = entries.map((e, i) => {
    const item = toItem(e, file, line, opts, d);
    return item.error ? { ...item, error: `Bundle.entry[${i}]: ${item.error}` } : item;
  });
  // Entries of a transaction have no order; resolve dependencies by processing referenced types first.
  const rank = (it: ParsedItem): number => (it.record ? INGEST_ORDER.indexOf(it.record.type) : -1);
  return items.sort((a, b) => rank(a) - rank(b));
}

/**
 * Computes the unit's blind indexes (one batch per tenant and domain) and seals what it can
 * (opts.seal), all into the unit's arena. Sent to the main thread, the unit then costs one
 * ArrayBuffer instead of one per field: per-record ArrayBuffers made garbage collection the main
 * thread's largest cost.
 */
function packUnit(items: ParsedItem[], allOrNothing: boolean, bytesDone: number, opts: ParseOptions, d: UnitDraft): ParsedUnit {
  const byKey = new Map<Buffer, UnitDraft['identities']>();
  for (const p of d.identities) {
    const list = byKey.get(p.key);
    if (list) list.push(p);
    else byKey.set(p.key, [p]);
  }
  for (const [key, list] of byKey) {
    const bsn = blindIndexBatch(
      key,
      'bsn',
      list.map((p) => p.bsn),
    );
    const name = blindIndexBatch(
      key,
      'name-birthdate',
      list.map((p) => p.name),
    );
    list.forEach((p, i) => {
      d.arena.claimCopy(p.record, 'bsnIndex', bsn.subarray(i * BLIND_INDEX_BYTES, (i + 1) * BLIND_INDEX_BYTES));
      d.arena.claimCopy(p.record, 'nameIndex', name.subarray(i * BLIND_INDEX_BYTES, (i + 1) * BLIND_INDEX_BYTES));
    });
  }
  opts.seal?.(items, d.arena);
  return { buffer: d.arena.finish(), allOrNothing, items, bytesDone };
}

import type { VaultResourceType } from '../domain/resource-type.js';
import type { ParsedItem, ParsedRecord, ParsedUnit } from './ingest-parse.js';

/**
 * How a parsed unit crosses from the worker to the main thread. Structured clone writes every
 * property name of every object, so 10,000 records as objects took ~60 ms to serialise in the
 * worker and ~50 ms to deserialise on the main thread, per unit. Here the numbers (line, byte
 * offsets into the unit's transferred buffer, KEK version, indexes of strings) go in one Int32Array
 * and the distinct strings in one array: ~20 ms and ~10 ms, objects rebuilt on the main thread
 * with fixed shapes.
 */
export interface WireUnit {
  buffer: ArrayBuffer;
  allOrNothing: boolean;
  bytesDone: number;
  files: string[];
  ints: Int32Array<ArrayBuffer>;
  strings: string[];
}

const NONE = -1;

/**
 * Ints per item: line, file, ref count, error (a string index). A record adds six byte arrays
 * (offset, length) and a KEK version first, at fixed places so the seal stage can fill in its
 * three (sealWireUnit), then its seven string fields, then two strings per reference.
 */
const ITEM_INTS = 4;
const BYTE_INTS = 6 * 2 + 1;
const RECORD_INTS = BYTE_INTS + 7;
/** Where a record's sealed body, wrapped DEK and KEK version sit, from the record's first int. */
const SEALED_BODY_AT = 8;
const SEALED_DEK_AT = 10;
const SEALED_KEK_AT = 12;

/**
 * The unit's strings, each sent once: structured clone writes and reads every string it is given
 * (measured: ~0.14 µs to write and ~0.12 µs to read one id-sized string, and a unit crossed two
 * thread hops with ~14 strings a record). Most of them repeat within a unit — types, tenants,
 * statuses, codes, dates, and the patient id that a record also names in its subject reference —
 * so the ints refer to strings by index and a repeated value is sent once: ~5 strings a record
 * instead of ~14. The main thread then also gets one instance of each repeated value.
 */
class StringTable {
  readonly strings: string[] = [];
  private readonly index = new Map<string, number>();

  /** A value that repeats across records (a type, tenant, status, code, date): sent once per unit. */
  shared(s: string | null | undefined): number {
    if (s === null || s === undefined) return NONE;
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.strings.push(s) - 1;
      this.index.set(s, i);
    }
    return i;
  }

  /** A value that rarely repeats (an id, an error message): sent as it is, without a look-up. */
  own(s: string | null | undefined): number {
    return s === null || s === undefined ? NONE : this.strings.push(s) - 1;
  }
}

export function encodeUnit(unit: ParsedUnit): WireUnit {
  const files: string[] = [];
  const fileIndex = new Map<string, number>();
  // Sized up front: grown by push, the array of ~160,000 numbers per unit was reallocated (and its
  // pages faulted in) a dozen times, 14 % of the parse stage's CPU and as much of the seal stage's.
  let size = 0;
  for (const item of unit.items) size += item.record ? ITEM_INTS + RECORD_INTS + 2 * item.record.refs.length : ITEM_INTS;
  const ints = new Int32Array(size);
  let w = 0;
  const table = new StringTable();
  const bytes = (u: Uint8Array | null | undefined): void => {
    if (!u) {
      ints[w++] = NONE;
      ints[w++] = 0;
    } else {
      // Every byte array of a packed unit is a view of unit.buffer (packUnit).
      if (u.buffer !== unit.buffer) throw new Error('unit byte array outside the unit buffer');
      ints[w++] = u.byteOffset;
      ints[w++] = u.byteLength;
    }
  };
  for (const item of unit.items) {
    let f = fileIndex.get(item.file);
    if (f === undefined) {
      f = files.push(item.file) - 1;
      fileIndex.set(item.file, f);
    }
    const r = item.record;
    ints[w++] = item.line;
    ints[w++] = f;
    ints[w++] = r ? r.refs.length : NONE;
    ints[w++] = table.own(item.error);
    if (!r) continue;
    bytes(r.json);
    bytes(r.mac);
    bytes(r.bsnIndex);
    bytes(r.nameIndex);
    bytes(r.sealedBody);
    bytes(r.sealedDek);
    ints[w++] = r.sealedKekVersion ?? NONE;
    const id = table.own(r.id);
    // A Patient is its own patient; a clinical record names its patient again in its subject.
    const patient = r.patientId === r.id ? id : table.own(r.patientId);
    ints[w++] = table.shared(r.type);
    ints[w++] = id;
    ints[w++] = table.shared(r.tenantId);
    ints[w++] = patient;
    ints[w++] = table.shared(r.status);
    ints[w++] = table.shared(r.code);
    ints[w++] = table.shared(r.effectiveDate);
    for (const ref of r.refs) {
      ints[w++] = table.shared(ref.type);
      ints[w++] = ref.type === 'Patient' && ref.id === r.patientId ? patient : table.own(ref.id);
    }
  }
  if (w !== size) throw new Error('unit wire size miscounted');
  return {
    buffer: unit.buffer,
    allOrNothing: unit.allOrNothing,
    bytesDone: unit.bytesDone,
    files,
    ints,
    strings: table.strings,
  };
}

export function decodeUnit(w: WireUnit): ParsedUnit {
  return decode(w, null);
}

/**
 * The unit, and for each item the index in `ints` where its record's ints start (NONE for an item
 * without a record), for the seal stage to fill in what it encrypts (sealWireUnit).
 */
export function decodeWire(w: WireUnit): { unit: ParsedUnit; recordAt: number[] } {
  const recordAt: number[] = [];
  return { unit: decode(w, recordAt), recordAt };
}

/** Rebuilds the unit; `recordAt`, when given, gets each item's first record int (see decodeWire). */
function decode(w: WireUnit, recordAt: number[] | null): ParsedUnit {
  const { buffer, ints, strings, files } = w;
  let i = 0;
  const str = (): string => {
    const s = strings[ints[i++] ?? NONE];
    if (typeof s !== 'string') throw new Error('unit wire string missing');
    return s;
  };
  const opt = (): string | null => {
    const k = ints[i++] ?? NONE;
    return k === NONE ? null : (strings[k] ?? null);
  };
  const bytes = (): Uint8Array | null => {
    const off = ints[i++] ?? NONE;
    const len = ints[i++] ?? 0;
    // Buffers, not plain Uint8Arrays: the database stage needs Buffers and would otherwise wrap each again.
    return off === NONE ? null : Buffer.from(buffer, off, len);
  };
  const items: ParsedItem[] = [];
  while (i < ints.length) {
    const line = ints[i++] ?? 0;
    const file = files[ints[i++] ?? 0] ?? '';
    const refCount = ints[i++] ?? NONE;
    const error = opt();
    if (refCount === NONE) {
      items.push(error === null ? { file, line } : { file, line, error });
      recordAt?.push(NONE);
      continue;
    }
    recordAt?.push(i);
    const json = bytes() ?? Buffer.alloc(0);
    const mac = bytes();
    const bsnIndex = bytes();
    const nameIndex = bytes();
    const sealedBody = bytes();
    const sealedDek = bytes();
    const kekVersion = ints[i++] ?? NONE;
    const type = str() as VaultResourceType;
    const id = str();
    const tenantId = str();
    const patientId = str();
    const status = opt();
    const code = opt();
    const effectiveDate = opt();
    const refs: ParsedRecord['refs'] = [];
    for (let k = 0; k < refCount; k++) refs.push({ type: str() as VaultResourceType, id: str() });
    const record: ParsedRecord = {
      type,
      id,
      tenantId,
      patientId,
      refs,
      status,
      code,
      effectiveDate,
      json,
      mac,
      bsnIndex,
      nameIndex,
    };
    if (sealedBody && sealedDek && kekVersion !== NONE) {
      record.sealedBody = sealedBody;
      record.sealedDek = sealedDek;
      record.sealedKekVersion = kekVersion;
    }
    items.push(error === null ? { file, line, record } : { file, line, error, record });
  }
  return { buffer, allOrNothing: w.allOrNothing, items, bytesDone: w.bytesDone };
}

/**
 * Writes a record's sealed body, wrapped DEK and KEK version into the ints of the wire it was
 * decoded from (at `at`, from decodeWire), as views of `buffer`: the seal stage's additions, without
 * encoding the unit again.
 */
export function setSealed(ints: Int32Array, at: number, r: ParsedRecord, buffer: ArrayBuffer): void {
  const { sealedBody: body, sealedDek: dek, sealedKekVersion: kek } = r;
  if (!body || !dek || kek === undefined) return;
  if (body.buffer !== buffer || dek.buffer !== buffer) throw new Error('unit byte array outside the unit buffer');
  ints[at + SEALED_BODY_AT] = body.byteOffset;
  ints[at + SEALED_BODY_AT + 1] = body.byteLength;
  ints[at + SEALED_DEK_AT] = dek.byteOffset;
  ints[at + SEALED_DEK_AT + 1] = dek.byteLength;
  ints[at + SEALED_KEK_AT] = kek;
}

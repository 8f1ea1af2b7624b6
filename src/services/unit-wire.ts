import type { VaultResourceType } from '../domain/resource-type.js';
import type { ParsedItem, ParsedRecord, ParsedUnit } from './ingest-parse.js';

/**
 * How a parsed unit crosses from the worker to the main thread. Structured clone writes every
 * property name of every object, so 10,000 records as objects took ~60 ms to serialise in the
 * worker and ~50 ms to deserialise on the main thread, per unit. Here the numbers (line, byte
 * offsets into the unit's transferred buffer, KEK version) go in one Int32Array and the strings in
 * one array: ~20 ms and ~10 ms, objects rebuilt on the main thread with fixed shapes.
 */
export interface WireUnit {
  buffer: ArrayBuffer;
  allOrNothing: boolean;
  bytesDone: number;
  files: string[];
  ints: Int32Array<ArrayBuffer>;
  strings: (string | null)[];
}

const NONE = -1;

/** Ints per item: line, file, ref count; and for a record six byte arrays (offset, length) and a KEK version. */
const ITEM_INTS = 3;
const RECORD_INTS = 6 * 2 + 1;

export function encodeUnit(unit: ParsedUnit): WireUnit {
  const files: string[] = [];
  const fileIndex = new Map<string, number>();
  // Sized up front: grown by push, the array of ~160,000 numbers per unit was reallocated (and its
  // pages faulted in) a dozen times, 14 % of the parse stage's CPU and as much of the seal stage's.
  let size = 0;
  for (const item of unit.items) size += item.record ? ITEM_INTS + RECORD_INTS : ITEM_INTS;
  const ints = new Int32Array(size);
  let w = 0;
  const strings: (string | null)[] = [];
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
    if (!r) {
      strings.push(item.error ?? null);
      continue;
    }
    strings.push(item.error ?? null, r.type, r.id, r.tenantId, r.patientId, r.status, r.code, r.effectiveDate);
    for (const ref of r.refs) strings.push(ref.type, ref.id);
    bytes(r.json);
    bytes(r.mac);
    bytes(r.bsnIndex);
    bytes(r.nameIndex);
    bytes(r.sealedBody);
    bytes(r.sealedDek);
    ints[w++] = r.sealedKekVersion ?? NONE;
  }
  if (w !== size) throw new Error('unit wire size miscounted');
  return {
    buffer: unit.buffer,
    allOrNothing: unit.allOrNothing,
    bytesDone: unit.bytesDone,
    files,
    ints,
    strings,
  };
}

export function decodeUnit(w: WireUnit): ParsedUnit {
  const { buffer, ints, strings, files } = w;
  let i = 0;
  let s = 0;
  const str = (): string => strings[s++] as string;
  const opt = (): string | null => strings[s++] ?? null;
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
      continue;
    }
    const type = str() as VaultResourceType;
    const id = str();
    const tenantId = str();
    const patientId = str();
    const status = opt();
    const code = opt();
    const effectiveDate = opt();
    const refs: ParsedRecord['refs'] = [];
    for (let k = 0; k < refCount; k++) refs.push({ type: str() as VaultResourceType, id: str() });
    const json = bytes() ?? Buffer.alloc(0);
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
      mac: bytes(),
      bsnIndex: bytes(),
      nameIndex: bytes(),
    };
    const sealedBody = bytes();
    const sealedDek = bytes();
    const kekVersion = ints[i++] ?? NONE;
    if (sealedBody && sealedDek && kekVersion !== NONE) {
      record.sealedBody = sealedBody;
      record.sealedDek = sealedDek;
      record.sealedKekVersion = kekVersion;
    }
    items.push(error === null ? { file, line, record } : { file, line, error, record });
  }
  return { buffer, allOrNothing: w.allOrNothing, items, bytesDone: w.bytesDone };
}

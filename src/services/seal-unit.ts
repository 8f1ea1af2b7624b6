import { sealedLength } from '../crypto/envelope.js';
import type { ParsedRecord } from './ingest-parse.js';
import { UnitArena } from './unit-arena.js';
import type { UnitSealer } from './unit-sealer.js';
import { decodeUnit, encodeUnit, type WireUnit } from './unit-wire.js';

const BYTE_FIELDS = ['json', 'mac', 'bsnIndex', 'nameIndex', 'sealedBody', 'sealedDek'] as const;

/**
 * The seal stage's work on one unit the parse stage packed (seal-worker.ts): the unit's bytes are
 * copied once into an arena with exactly the room its ciphertexts need, the records' views are
 * moved onto that copy, and the sealer writes the ciphertexts after them. The result crosses to
 * the main thread as one buffer again, like a unit sealed in the parse stage itself.
 */
export function sealWireUnit(wire: WireUnit, sealer: UnitSealer): WireUnit {
  const unit = decodeUnit(wire);
  let used = 0;
  let room = 0;
  for (const { record: r } of unit.items) {
    if (!r) continue;
    for (const f of BYTE_FIELDS) {
      const v = r[f];
      if (v) used = Math.max(used, v.byteOffset + v.byteLength);
    }
    // What seal() may claim for this record: its ciphertext and its patient's wrapped DEK.
    if (r.mac) room += sealedLength(r.json.length) + sealedLength(DEK_BYTES);
  }
  const arena = UnitArena.after(new Uint8Array(wire.buffer, 0, used), room);
  const buffer = arena.buffer;
  for (const { record: r } of unit.items) if (r) rebase(r, buffer);
  sealer.seal(unit.items, arena);
  unit.buffer = arena.finish();
  return encodeUnit(unit);
}

const DEK_BYTES = 32;

/** Points every byte view of the record at the same bytes in `buffer` (a copy of the one it views). */
function rebase(r: ParsedRecord, buffer: ArrayBuffer): void {
  for (const f of BYTE_FIELDS) {
    const v = r[f];
    if (v) r[f] = Buffer.from(buffer, v.byteOffset, v.byteLength);
  }
}

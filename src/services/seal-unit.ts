import { sealedLength } from '../crypto/envelope.js';
import { UnitArena } from './unit-arena.js';
import type { UnitSealer } from './unit-sealer.js';
import { decodeWire, setSealed, type WireUnit } from './unit-wire.js';

const BYTE_FIELDS = ['json', 'mac', 'bsnIndex', 'nameIndex', 'sealedBody', 'sealedDek'] as const;

/**
 * The seal stage's work on one unit the parse stage packed (seal-worker.ts): the unit's bytes are
 * copied once into an arena with exactly the room its ciphertexts need, at the same offsets, and
 * the sealer writes the ciphertexts after them. Only what it added is written into the wire's ints
 * (setSealed); the strings and every other int pass on as they came, so the unit is not encoded a
 * second time. The result crosses to the main thread as one buffer again, like a unit sealed in
 * the parse stage itself.
 */
export function sealWireUnit(wire: WireUnit, sealer: UnitSealer): WireUnit {
  const { unit, recordAt } = decodeWire(wire);
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
  // The records keep viewing the parse stage's buffer (the sealer reads their JSON from it); what
  // the sealer claims is written into the arena, whose first `used` bytes are the same.
  sealer.seal(unit.items, arena);
  const buffer = arena.finish();
  // Records sealed before this stage (none when it runs) keep the offsets the wire has for them.
  unit.items.forEach(({ record: r }, k) => {
    if (r?.sealedBody?.buffer === buffer) setSealed(wire.ints, recordAt[k] as number, r, buffer);
  });
  return { ...wire, buffer };
}

const DEK_BYTES = 32;

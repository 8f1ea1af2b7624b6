import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Section, dekAad, recordAad } from '../crypto/aad.js';
import { open } from '../crypto/envelope.js';
import { ndjson, observation, patient, serviceRequest } from '../../test/support/fhir-builders.js';
import { parseUnits, type ParsedUnit } from './ingest-parse.js';
import { sealWireUnit } from './seal-unit.js';
import { UnitArena } from './unit-arena.js';
import { UnitSealer } from './unit-sealer.js';
import { decodeUnit, encodeUnit } from './unit-wire.js';

const T = 'screening';

describe('seal stage (seal-worker.ts) on units the parse stage packed without sealing', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function parsed(rows: unknown[]): Promise<ParsedUnit> {
    const dir = mkdtempSync(join(tmpdir(), 'lv-seal-'));
    dirs.push(dir);
    const file = join(dir, 'lab.ndjson');
    writeFileSync(file, ndjson(rows));
    const units: ParsedUnit[] = [];
    for await (const u of parseUnits([file], { batchSize: 1000, indexKeys: new Map([[T, randomBytes(32)]]) })) units.push(u);
    expect(units).toHaveLength(1);
    return units[0] as ParsedUnit;
  }

  it('encrypts every record it has a DEK for, readable under the KEK, leaving the rest of the unit as it was (every view in the one buffer, or encodeUnit throws)', async () => {
    const kek = randomBytes(32);
    const unit = await parsed([
      patient(T, 'p1'),
      patient(T, 'p2', '111222333'),
      serviceRequest(T, 'sr1', 'p1'),
      observation(T, 'o1', 'p2'),
      // No Patient line for p9 in this unit or before: nothing to seal it under here.
      observation(T, 'o9', 'p9'),
      // Unknown tenant: no MAC, never sealed.
      observation('nobody', 'o-x', 'p1'),
    ]);
    const before = unit.items.map((i) => ({ json: Buffer.from(i.record?.json ?? []), mac: i.record?.mac && Buffer.from(i.record.mac) }));
    const sealer = new UnitSealer([[T, { version: 3, key: new Uint8Array(kek) }]]);
    const wire = sealWireUnit(encodeUnit(unit), sealer);
    sealer.close();
    const out = decodeUnit(wire);

    expect(out.items.map((i) => i.record?.id)).toEqual(['p1', 'p2', 'sr1', 'o1', 'o9', 'o-x']);
    out.items.forEach((item, n) => {
      const r = item.record;
      if (!r) throw new Error('record expected');
      expect(Buffer.from(r.json)).toEqual(before[n]?.json);
      expect(r.mac && Buffer.from(r.mac)).toEqual(before[n]?.mac);
    });
    const sealed = out.items.flatMap((i) => (i.record?.sealedBody ? [i.record] : []));
    expect(sealed.map((r) => r.id)).toEqual(['p1', 'p2', 'sr1', 'o1']);
    for (const r of sealed) {
      expect(r.sealedKekVersion).toBe(3);
      const dek = open(kek, Buffer.from(r.sealedDek ?? []), dekAad(T, r.patientId, 3));
      const section = r.type === 'Patient' ? Section.Identity : Section.Body;
      expect(open(dek, Buffer.from(r.sealedBody ?? []), recordAad(T, r.type, r.id, 1, section))).toEqual(Buffer.from(r.json));
    }
  });

  it('an arena continuing another stage’s bytes never moves: a claim beyond its room fails instead', () => {
    const arena = UnitArena.after(new Uint8Array([1, 2, 3]), 4);
    const holder = { a: new Uint8Array(0), b: new Uint8Array(0) };
    arena.claimCopy(holder, 'a', new Uint8Array([9, 9, 9, 9]));
    expect(() => arena.claim(holder, 'b', 1)).toThrow(/unit arena full/);
    expect([...new Uint8Array(arena.finish())]).toEqual([1, 2, 3, 9, 9, 9, 9]);
  });
});

import { describe, expect, it } from 'vitest';
import type { ParsedItem, ParsedUnit } from './ingest-parse.js';
import { decodeUnit, encodeUnit } from './unit-wire.js';

/** Byte arrays as the parse stage packs them: views of one buffer. */
function packed(...parts: number[][]): { buffer: ArrayBuffer; views: Uint8Array[] } {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const buffer = new ArrayBuffer(total);
  let at = 0;
  const views = parts.map((p) => {
    const v = new Uint8Array(buffer, at, p.length);
    v.set(p);
    at += p.length;
    return v;
  });
  return { buffer, views };
}

/** Items with byte arrays (Uint8Array or Buffer) as number arrays, comparable after the originals are detached. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).flatMap(([k, x]) => (x === undefined ? [] : [[k, plain(x)]])));
  }
  return v;
}

describe('unit wire format (worker → main thread)', () => {
  it('round-trips errors, patients, clinical records, nulls and sealed fields', () => {
    const { buffer, views } = packed([1, 2, 3], [4], [5, 6], [7], [8, 9], [10], [11, 12], [13], []);
    const view = (i: number): Uint8Array => views[i] ?? new Uint8Array(0);
    const [pJson, pMac, pBsn, pName, pBody, pDek, oJson, oBody, empty] = [
      view(0),
      view(1),
      view(2),
      view(3),
      view(4),
      view(5),
      view(6),
      view(7),
      view(8),
    ];
    const items: ParsedItem[] = [
      { file: 'a.ndjson', line: 1, error: 'malformed JSON' },
      {
        file: 'a.ndjson',
        line: 2,
        record: {
          type: 'Patient',
          id: 'p1',
          tenantId: 'screening',
          patientId: 'p1',
          refs: [],
          status: null,
          code: null,
          effectiveDate: null,
          json: pJson,
          mac: pMac,
          bsnIndex: pBsn,
          nameIndex: pName,
          sealedBody: pBody,
          sealedDek: pDek,
          sealedKekVersion: 2,
        },
      },
      {
        file: 'b.ndjson',
        line: 7,
        error: 'Bundle.entry[0]: whatever',
        record: {
          type: 'Observation',
          id: 'o1',
          tenantId: 'unknown',
          patientId: 'p1',
          refs: [
            { type: 'Patient', id: 'p1' },
            { type: 'Specimen', id: 's\u00001' },
          ],
          status: 'final',
          code: '\u0000',
          effectiveDate: '2024-05-06',
          json: oJson,
          mac: null,
          bsnIndex: null,
          nameIndex: empty,
          sealedBody: oBody,
        },
      },
    ];
    // A sealed body without its wrapped DEK is not usable, so it does not come back.
    const { sealedBody: _dropped, ...observation } = items[2]?.record ?? {};
    void _dropped;
    const expected = plain([items[0], items[1], { ...items[2], record: observation }]);
    const unit: ParsedUnit = { buffer, allOrNothing: true, items, bytesDone: 123 };
    const wire = encodeUnit(unit);
    // Transferred as the worker does: the views sent are detached here afterwards.
    const back = decodeUnit(structuredClone(wire, { transfer: [wire.buffer, wire.ints.buffer] }));
    expect(pJson.byteLength).toBe(0);
    expect(back.allOrNothing).toBe(true);
    expect(back.bytesDone).toBe(123);
    expect(plain(back.items)).toEqual(expected);
  });

  it('sends shared values (type, tenant, status, code, date) once a unit and a subject id once a record; another patient as itself', () => {
    const { buffer, views } = packed([1], [2], [3]);
    const record = (id: string, patientId: string, refs: { type: 'Patient' | 'ServiceRequest'; id: string }[], json: Uint8Array) => ({
      type: 'Observation' as const,
      id,
      tenantId: 'screening',
      patientId,
      refs,
      status: 'final',
      code: '82675-0',
      effectiveDate: '2024-05-06',
      json,
      mac: null,
      bsnIndex: null,
      nameIndex: null,
    });
    const view = (i: number): Uint8Array => views[i] ?? new Uint8Array(0);
    const items: ParsedItem[] = [
      {
        file: 'o.ndjson',
        line: 1,
        record: record(
          'o1',
          'p1',
          [
            { type: 'Patient', id: 'p1' },
            { type: 'ServiceRequest', id: 'sr1' },
          ],
          view(0),
        ),
      },
      { file: 'o.ndjson', line: 2, record: record('o2', 'p1', [{ type: 'Patient', id: 'p1' }], view(1)) },
      // Not its subject: the reference keeps its own id (the validator rejects it later, not the wire).
      { file: 'o.ndjson', line: 3, record: record('o3', 'p2', [{ type: 'Patient', id: 'p3' }], view(2)) },
    ];
    const expected = plain(items);
    const wire = encodeUnit({ buffer, allOrNothing: false, items, bytesDone: 0 });
    // Ids as each record names them (a subject once, though its reference names it again), shared values once.
    expect([...wire.strings].sort()).toEqual(
      [
        '2024-05-06',
        '82675-0',
        'Observation',
        'Patient',
        'ServiceRequest',
        'final',
        'o1',
        'o2',
        'o3',
        'p1',
        'p1',
        'p2',
        'p3',
        'screening',
        'sr1',
      ].sort(),
    );
    const back = decodeUnit(structuredClone(wire, { transfer: [wire.buffer, wire.ints.buffer] }));
    expect(plain(back.items)).toEqual(expected);
  });

  it('refuses a byte array that is not a view of the unit buffer (it would not arrive)', () => {
    const { buffer } = packed([1]);
    const stray = new Uint8Array([1, 2]);
    const unit: ParsedUnit = {
      buffer,
      allOrNothing: false,
      bytesDone: 0,
      items: [
        {
          file: 'a',
          line: 1,
          record: {
            type: 'Patient',
            id: 'p',
            tenantId: 't',
            patientId: 'p',
            refs: [],
            status: null,
            code: null,
            effectiveDate: null,
            json: stray,
            mac: null,
            bsnIndex: null,
            nameIndex: null,
          },
        },
      ],
    };
    expect(() => encodeUnit(unit)).toThrow(/outside the unit buffer/);
  });
});

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BSN_SYSTEM, isValidBsn } from '../domain/bsn.js';
import { InvalidInput } from '../domain/errors.js';
import { TENANT_TAG_SYSTEM } from '../domain/tenant.js';
import { generateCanaryRecords, type CanaryOptions, type CanaryRecords } from './canary-records.js';
import { CERVICAL_ORDER_CODE } from './cervical-screening.js';
import { generateSyntheticLab } from './generator.js';

type Json = Record<string, unknown>;

const ID_PREFIX: Readonly<Record<string, string>> = {
  Patient: 'pat',
  ServiceRequest: 'sr',
  Specimen: 'spec',
  Observation: 'obs',
  DiagnosticReport: 'dr',
};
const TYPES = Object.keys(ID_PREFIX);

/** A window well inside the lab's sampling period, so the planner also dates orders outside it. */
const BASE: CanaryOptions = {
  tenantId: 'hospital-west',
  count: 80,
  seed: 0x9e21c4a7,
  earliestDay: '2022-09-01',
  latestDay: '2023-06-30',
};

const all = (r: CanaryRecords): Json[] => [...r.patients, ...r.resources];
const typeOf = (r: Json): string => String(r.resourceType);
const bsnOf = (p: Json): string => (p.identifier as { system: string; value: string }[]).find((i) => i.system === BSN_SYSTEM)?.value ?? '';

/** Every `reference` string anywhere in a value. */
function referencesIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) referencesIn(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string') out.push(v);
      else referencesIn(v, out);
    }
  }
  return out;
}

/** The dates a record carries, per type; a missing one is an error (the date checks must not pass vacuously). */
function datesOf(r: Json): string[] {
  const collection = r.collection as { collectedDateTime?: string } | undefined;
  const fields: Record<string, (string | undefined)[]> = {
    ServiceRequest: [r.authoredOn as string | undefined],
    Specimen: [collection?.collectedDateTime, r.receivedTime as string | undefined],
    Observation: [r.effectiveDateTime as string | undefined, r.issued as string | undefined],
    DiagnosticReport: [r.effectiveDateTime as string | undefined, r.issued as string | undefined],
  };
  const dates = fields[typeOf(r)] ?? [];
  for (const d of dates) expect(d, `${typeOf(r)} date`).toMatch(/^\d{4}-\d{2}-\d{2}/);
  return dates.map((d) => (d ?? '').slice(0, 10));
}

/** Key paths of a JSON value, array positions folded: `code.coding[].system`. */
function keyPaths(value: unknown, prefix = '', out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) keyPaths(v, `${prefix}[]`, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const p = prefix === '' ? k : `${prefix}.${k}`;
      out.add(p);
      keyPaths(v, p, out);
    }
  }
  return out;
}
const topKeys = (r: Json): string => Object.keys(r).sort().join(',');

function tenantOf(r: Json): string {
  const { tag } = r.meta as { tag: { system: string; code: string }[] };
  return tag.find((t) => t.system === TENANT_TAG_SYSTEM)?.code ?? '';
}

describe('generateCanaryRecords', () => {
  let records: CanaryRecords = { patients: [], resources: [] };
  beforeAll(() => {
    records = generateCanaryRecords(BASE);
  });

  it('plants exactly `count` patients, each with at least one complete order', () => {
    expect(records.patients).toHaveLength(BASE.count);
    for (const p of records.patients) {
      const ref = `Patient/${String(p.id)}`;
      const mine = records.resources.filter((r) => (r.subject as { reference: string }).reference === ref);
      for (const t of TYPES.slice(1)) expect(mine.some((r) => typeOf(r) === t)).toBe(true);
    }
    expect(generateCanaryRecords({ ...BASE, count: 1 }).patients).toHaveLength(1);
  });

  it('uses unique ids of the synthetic lab’s shapes', () => {
    const ids = all(records).map((r) => String(r.id));
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of all(records)) {
      expect(String(r.id)).toMatch(new RegExp(`^${ID_PREFIX[typeOf(r)] ?? '?'}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$`));
    }
  });

  it('keeps patients apart and resources in reference order, every reference resolving to an earlier record', () => {
    expect(records.patients.every((p) => p.resourceType === 'Patient')).toBe(true);
    const seen = new Set(records.patients.map((p) => `Patient/${String(p.id)}`));
    let lastType = 1;
    for (const r of records.resources) {
      const typeIndex = TYPES.indexOf(typeOf(r));
      expect(typeIndex).toBeGreaterThanOrEqual(lastType);
      lastType = typeIndex;
      const refs = referencesIn(r);
      expect(refs.length).toBeGreaterThan(0);
      for (const ref of refs) expect(seen.has(ref), ref).toBe(true);
      seen.add(`${typeOf(r)}/${String(r.id)}`);
    }
  });

  it('dates no record outside [earliestDay, latestDay]', () => {
    const dates = records.resources.flatMap(datesOf);
    expect(dates.length).toBeGreaterThan(4 * BASE.count);
    for (const d of dates) {
      expect(d >= (BASE.earliestDay ?? '')).toBe(true);
      expect(d <= BASE.latestDay).toBe(true);
    }
    // Without earliestDay the lab's first clinical day bounds the window.
    const open = generateCanaryRecords({ ...BASE, count: 20, earliestDay: undefined, latestDay: '2022-03-31' });
    expect(open.patients).toHaveLength(20);
    for (const d of open.resources.flatMap(datesOf)) expect(d >= '2022-01-03' && d <= '2022-03-31', d).toBe(true);
  });

  it('gives distinct, 11-proof-valid BSNs and never one that isTaken reports', () => {
    const bsns = records.patients.map(bsnOf);
    expect(new Set(bsns).size).toBe(bsns.length);
    for (const b of bsns) expect(isValidBsn(b), b).toBe(true);

    const taken = new Set(bsns.slice(0, BASE.count / 2));
    let asked = 0;
    const again = generateCanaryRecords({
      ...BASE,
      isTaken: (b) => {
        asked++;
        return taken.has(b);
      },
    });
    expect(asked).toBeGreaterThan(BASE.count);
    expect(again.patients).toHaveLength(BASE.count);
    for (const b of again.patients.map(bsnOf)) expect(taken.has(b)).toBe(false);

    expect(() => generateCanaryRecords({ ...BASE, count: 3, isTaken: () => true })).toThrow(InvalidInput);
  });

  it('is deterministic for a seed and differs for another', () => {
    expect(generateCanaryRecords(BASE)).toEqual(records);
    const other = generateCanaryRecords({ ...BASE, seed: BASE.seed + 1 });
    const ids = new Set(all(records).map((r) => r.id));
    expect(all(other).some((r) => ids.has(r.id))).toBe(false);
    const bsns = new Set(records.patients.map(bsnOf));
    expect(other.patients.some((p) => bsns.has(bsnOf(p)))).toBe(false);
  });

  it('contains nothing that marks a record as a canary', () => {
    expect(JSON.stringify(records).toLowerCase()).not.toContain('canary');
    expect(JSON.stringify(generateCanaryRecords({ ...BASE, tenantId: 'screening' })).toLowerCase()).not.toContain('canary');
  });

  it('gives the screening tenant eligible women with cervical screening orders', () => {
    const screening = generateCanaryRecords({ ...BASE, tenantId: 'screening', count: 40 });
    expect(screening.patients).toHaveLength(40);
    for (const p of screening.patients) {
      expect(p.gender).toBe('female');
      const year = Number(String(p.birthDate).slice(0, 4));
      expect(year >= 1959 && year <= 1995).toBe(true);
    }
    const allowed = [CERVICAL_ORDER_CODE.screening, CERVICAL_ORDER_CODE['follow-up']];
    const orders = screening.resources.filter((r) => typeOf(r) === 'ServiceRequest');
    expect(orders.length).toBeGreaterThanOrEqual(40);
    for (const sr of orders) expect(allowed).toContainEqual(sr.code);
  });

  it('refuses bad options and windows it cannot fill', () => {
    const bad: Partial<CanaryOptions>[] = [
      { tenantId: 'hospital-north' },
      { count: 0 },
      { count: 1001 },
      { count: 1.5 },
      { seed: -1 },
      { seed: 2 ** 32 },
      { seed: 0.5 },
      { latestDay: '2023-02-30' },
      { latestDay: '2023/06/30' },
      { earliestDay: '2023-07-01' },
      // Before the lab's first clinical day.
      { earliestDay: '2021-01-01', latestDay: '2021-12-31' },
      // A weekend: the lab never takes a sample on one, so no draw can succeed.
      { earliestDay: '2023-03-04', latestDay: '2023-03-05' },
    ];
    for (const b of bad) expect(() => generateCanaryRecords({ ...BASE, count: 5, ...b }), JSON.stringify(b)).toThrow(InvalidInput);
  });
});

describe('generateCanaryRecords: same shape as the synthetic lab', () => {
  let dir = '';
  const lab = new Map<string, Json[]>();

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'labvault-canary-test-'));
    await generateSyntheticLab({ patients: 4000, seed: 11, outDir: dir });
    for (const t of TYPES) {
      const text = await readFile(path.join(dir, `${t}.ndjson`), 'utf8');
      lab.set(
        t,
        text
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line) as Json),
      );
    }
  });

  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('shares no id or BSN with a lab generated from the same seed number', () => {
    const canaries = generateCanaryRecords({ ...BASE, tenantId: 'screening', seed: 11, count: 200 });
    const labIds = new Set(TYPES.flatMap((t) => (lab.get(t) ?? []).map((r) => r.id)));
    const labBsns = new Set((lab.get('Patient') ?? []).map(bsnOf));
    expect(labIds.size).toBeGreaterThan(10_000);
    expect(all(canaries).filter((r) => labIds.has(r.id))).toEqual([]);
    expect(canaries.patients.map(bsnOf).filter((b) => labBsns.has(b))).toEqual([]);
  });

  for (const tenantId of ['hospital-west', 'screening', 'gp-network']) {
    it(`has the key sets of ${tenantId}'s lab records, per resource type`, () => {
      const canaries = generateCanaryRecords({ ...BASE, tenantId, count: 60 });
      for (const type of TYPES) {
        const labRecords = (lab.get(type) ?? []).filter((r) => tenantOf(r) === tenantId);
        const mine = all(canaries).filter((r) => typeOf(r) === type);
        expect(labRecords.length).toBeGreaterThan(0);
        expect(mine.length).toBeGreaterThan(0);
        const labTop = [...new Set(labRecords.map(topKeys))];
        const labPaths = [...new Set(labRecords.flatMap((r) => [...keyPaths(r)]))];
        for (const r of mine) {
          expect(labTop, `${type} keys`).toContain(topKeys(r));
          for (const p of keyPaths(r)) expect(labPaths, `${type} key path`).toContain(p);
          expect(r.meta).toEqual(labRecords[0]?.meta);
        }
        // Fixed-shape types: one key set, the same on both sides.
        if (type !== 'Observation') expect([...new Set(mine.map(topKeys))]).toEqual(labTop);
      }
    });
  }
});

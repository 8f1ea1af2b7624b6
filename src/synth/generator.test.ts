import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BSN_SYSTEM, isValidBsn } from '../domain/bsn.js';
import { InvalidInput } from '../domain/errors.js';
import { TENANT_TAG_SYSTEM } from '../domain/tenant.js';
import { validateResource } from '../domain/validate-resource.js';
import { generateSyntheticLab, type SynthSummary } from './generator.js';
import { SYNTH_TENANTS } from './tenants.js';

const TYPES = ['Patient', 'ServiceRequest', 'Specimen', 'Observation', 'DiagnosticReport'] as const;

/** The parts of the generated resources the tests look at. */
interface Coding {
  system: string;
  code: string;
}
interface Concept {
  coding: Coding[];
  text?: string;
}
interface Ref {
  reference: string;
}
interface Json {
  resourceType: string;
  id: string;
  meta: { tag: Coding[] };
  identifier?: { system: string; value: string }[];
  name?: { family: string; given: string[] }[];
  gender?: string;
  birthDate?: string;
  address?: { line: string[]; city: string; postalCode: string }[];
  telecom?: { system: string; value: string }[];
  extension?: { url: string; valueString: string }[];
  code?: Concept;
  basedOn?: Ref[];
  result?: Ref[];
  valueCodeableConcept?: Concept;
  authoredOn?: string;
  receivedTime?: string;
  collection?: { collectedDateTime: string };
  effectiveDateTime?: string;
  issued?: string;
  conclusion?: string;
  conclusionCode?: Concept[];
}

const codeOf = (c: Concept | undefined): string | undefined => c?.coding[0]?.code;

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'labvault-synth-test-'));
  dirs.push(dir);
  return dir;
}

async function generate(patients: number, seed?: number): Promise<{ dir: string; summary: SynthSummary }> {
  const dir = await tempDir();
  const summary = await generateSyntheticLab({ patients, outDir: dir, ...(seed === undefined ? {} : { seed }) });
  return { dir, summary };
}

async function readType(dir: string, type: string): Promise<Json[]> {
  const text = await readFile(path.join(dir, `${type}.ndjson`), 'utf8');
  if (text === '') return [];
  expect(text.endsWith('\n')).toBe(true);
  expect(text.includes('\r')).toBe(false);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as Json);
}

function tenantOf(r: Json): string {
  return r.meta.tag[0]?.code ?? '';
}

/** Whole years on 2025-07-01, computed independently of the generator's calendar code. */
function ageOnReferenceDate(birthDate: string): number {
  const [y, m, d] = birthDate.split('-').map(Number) as [number, number, number];
  let age = 2025 - y;
  if (m > 7 || (m === 7 && d > 1)) age--;
  return age;
}

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('generateSyntheticLab: determinism', () => {
  it('writes byte-identical files for the same patients and seed, and different ones for another seed', async () => {
    const a = await generate(400, 7);
    const b = await generate(400, 7);
    const c = await generate(400, 8);
    for (const name of ['tenants.json', ...TYPES.map((t) => `${t}.ndjson`)]) {
      const bytesA = await readFile(path.join(a.dir, name));
      const bytesB = await readFile(path.join(b.dir, name));
      expect(bytesA.equals(bytesB), name).toBe(true);
    }
    expect(a.summary.resources).toBe(b.summary.resources);
    const patientsA = await readFile(path.join(a.dir, 'Patient.ndjson'));
    const patientsC = await readFile(path.join(c.dir, 'Patient.ndjson'));
    expect(patientsA.equals(patientsC)).toBe(false);
  });

  it('defaults the seed to 1', async () => {
    const implicit = await generate(50);
    const explicit = await generate(50, 1);
    const a = await readFile(path.join(implicit.dir, 'Observation.ndjson'));
    const b = await readFile(path.join(explicit.dir, 'Observation.ndjson'));
    expect(a.equals(b)).toBe(true);
  });
});

describe('generateSyntheticLab: 5000 persons', () => {
  const N = 5000;
  let dir: string;
  let summary: SynthSummary;
  const byType = new Map<string, Json[]>();

  beforeAll(async () => {
    ({ dir, summary } = await generate(N, 42));
    for (const t of TYPES) byType.set(t, await readType(dir, t));
  });
  const all = (t: (typeof TYPES)[number]): Json[] => byType.get(t) ?? [];

  it('returns a summary that matches the files', async () => {
    expect(summary.patients).toBe(N);
    expect(summary.tenants).toEqual(SYNTH_TENANTS.map((t) => t.id));
    expect(summary.files).toEqual([path.join(dir, 'tenants.json'), ...TYPES.map((t) => path.join(dir, `${t}.ndjson`))]);
    for (const f of summary.files) expect(path.isAbsolute(f)).toBe(true);
    const total = TYPES.reduce((sum, t) => sum + all(t).length, 0);
    expect(summary.resources).toBe(total);
    const tenants = JSON.parse(await readFile(path.join(dir, 'tenants.json'), 'utf8')) as unknown;
    expect(tenants).toEqual(SYNTH_TENANTS);
  });

  it('gives every person a unique, 11-proof-valid BSN, some with a leading zero', () => {
    const bsns = new Set<string>();
    for (const p of all('Patient')) {
      const ids = (p.identifier ?? []).filter((i) => i.system === BSN_SYSTEM);
      expect(ids).toHaveLength(1);
      const bsn = ids[0]?.value ?? '';
      expect(isValidBsn(bsn), bsn).toBe(true);
      bsns.add(bsn);
    }
    // One BSN per person: duplicates across Patient records are only the multi-tenant persons.
    expect(bsns.size).toBe(N);
    expect([...bsns].some((b) => b.startsWith('0'))).toBe(true);
  });

  it('tags every resource with exactly one known tenant', () => {
    const known = new Set(SYNTH_TENANTS.map((t) => t.id));
    for (const t of TYPES) {
      for (const r of all(t)) {
        expect(r.resourceType).toBe(t);
        expect(r.meta.tag).toHaveLength(1);
        expect(r.meta.tag[0]?.system).toBe(TENANT_TAG_SYSTEM);
        expect(known.has(tenantOf(r))).toBe(true);
      }
    }
    // Every tenant actually has data.
    const used = new Set(all('Patient').map(tenantOf));
    expect([...used].sort()).toEqual([...known].sort());
  });

  it('passes the vault validator and resolves every reference within the tenant to an earlier file', () => {
    const seen = new Map<string, { tenant: string; fileIndex: number }>();
    TYPES.forEach((type, fileIndex) => {
      for (const r of all(type)) {
        const rec = validateResource(r);
        for (const ref of rec.refs) {
          const target = seen.get(`${ref.type}/${ref.id}`);
          expect(target, `${type}/${rec.id} -> ${ref.type}/${ref.id}`).toBeDefined();
          expect(target?.tenant).toBe(rec.tenantId);
          expect(target?.fileIndex).toBeLessThanOrEqual(fileIndex);
        }
        const key = `${type}/${rec.id}`;
        expect(seen.has(key), `duplicate id ${key}`).toBe(false);
        seen.set(key, { tenant: rec.tenantId, fileIndex });
      }
    });
    // Ids are unique across types too, and pseudonymous (prefix + 16 hex digits).
    const ids = [...seen.keys()].map((k) => k.split('/')[1] ?? '');
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^(pat|sr|spec|obs|dr)-[0-9a-f]{4}(-[0-9a-f]{4}){3}$/);
  });

  it('lists all of an order’s observations in its DiagnosticReport', () => {
    const obsByRequest = new Map<string, string[]>();
    for (const o of all('Observation')) {
      const sr = o.basedOn?.[0]?.reference ?? '';
      obsByRequest.set(sr, [...(obsByRequest.get(sr) ?? []), `Observation/${o.id}`]);
    }
    expect(all('DiagnosticReport')).toHaveLength(all('ServiceRequest').length);
    for (const dr of all('DiagnosticReport')) {
      const results = (dr.result ?? []).map((r) => r.reference);
      expect(results.length).toBeGreaterThan(0);
      expect(results).toEqual(obsByRequest.get(dr.basedOn?.[0]?.reference ?? ''));
      expect(typeof dr.conclusion).toBe('string');
      expect(codeOf(dr.conclusionCode?.[0])).toBeTruthy();
    }
  });

  it('keeps the screening hrHPV positive rate in a realistic band, with reflex tests for positives', () => {
    const screeningObs = all('Observation').filter((o) => tenantOf(o) === 'screening');
    const hpv = screeningObs.filter((o) => codeOf(o.code) === '82675-0');
    const positive = hpv.filter((o) => codeOf(o.valueCodeableConcept) === '10828004');
    const rate = positive.length / hpv.length;
    expect(hpv.length).toBeGreaterThan(3000);
    expect(rate).toBeGreaterThan(0.06);
    expect(rate).toBeLessThan(0.12);
    // Genotyping only follows a positive hrHPV test.
    const genotypes = screeningObs.filter((o) => codeOf(o.code) === '77379-6');
    expect(genotypes).toHaveLength(positive.length);
    const conclusions = all('DiagnosticReport')
      .filter((d) => tenantOf(d) === 'screening')
      .map((d) => d.conclusion ?? '');
    expect(conclusions.some((c) => c.includes('U ontvangt over 5 jaar een nieuwe uitnodiging.'))).toBe(true);
    expect(conclusions.some((c) => c.includes('Verwijzing naar gynaecoloog voor colposcopie.'))).toBe(true);
    expect(conclusions.some((c) => c.includes('Herhaling uitstrijkje over 6 maanden.'))).toBe(true);
  });

  it('gives about 10 % of persons a Patient record under two tenants with the same identity', () => {
    const byBsn = new Map<string, Json[]>();
    for (const p of all('Patient')) {
      const bsn = p.identifier?.[0]?.value ?? '';
      byBsn.set(bsn, [...(byBsn.get(bsn) ?? []), p]);
    }
    const multi = [...byBsn.values()].filter((records) => records.length > 1);
    expect(multi.length / N).toBeGreaterThan(0.07);
    expect(multi.length / N).toBeLessThan(0.13);
    for (const records of multi) {
      expect(records).toHaveLength(2);
      const [a, b] = records as [Json, Json];
      expect(tenantOf(a)).not.toBe(tenantOf(b));
      expect(a.id).not.toBe(b.id);
      const identity = (p: Json): unknown => [p.name, p.gender, p.birthDate, p.address, p.telecom];
      expect(identity(a)).toEqual(identity(b));
    }
  });

  it('only screens women aged 30–65 on the reference date', () => {
    const screened = all('Patient').filter((p) => tenantOf(p) === 'screening');
    expect(screened.length / all('Patient').length).toBeGreaterThan(0.6);
    for (const p of screened) {
      expect(p.gender).toBe('female');
      const age = ageOnReferenceDate(p.birthDate ?? '');
      expect(age).toBeGreaterThanOrEqual(30);
      expect(age).toBeLessThanOrEqual(65);
    }
  });

  it('keeps clinical dates between 2022 and the reference date, in order', () => {
    // Same UTC offset within one order except across a DST switch, so string order is time order
    // up to an hour; the generator keeps steps far larger than that.
    for (const sr of all('ServiceRequest')) {
      const authored = sr.authoredOn ?? '';
      expect(authored >= '2022-01-01' && authored < '2025-07-01').toBe(true);
    }
    for (const s of all('Specimen')) {
      expect(Date.parse(s.receivedTime ?? '')).toBeGreaterThan(Date.parse(s.collection?.collectedDateTime ?? ''));
    }
    for (const d of all('DiagnosticReport')) {
      expect(Date.parse(d.issued ?? '')).toBeGreaterThan(Date.parse(d.effectiveDateTime ?? ''));
      expect((d.issued ?? '') < '2025-07-01').toBe(true);
    }
  });

  it('produces Dutch-looking addresses and contact details', () => {
    for (const p of all('Patient').slice(0, 500)) {
      const address = p.address?.[0];
      expect(address?.postalCode).toMatch(/^[1-9]\d{3} [A-Z]{2}$/);
      expect(address?.line[0]).toMatch(/ \d+/);
      expect(p.telecom?.[0]?.value).toMatch(/^\+31 6 \d{8}$/);
      expect(p.telecom?.[1]?.value).toMatch(/^[a-z0-9.]+@[a-z]+\.example$/);
      expect(p.extension?.[0]?.valueString).toBeTruthy();
    }
    const families = all('Patient').map((p) => p.name?.[0]?.family ?? '');
    expect(families.some((f) => /^(van|de|van der|van den|van de|ter|ten) /.test(f))).toBe(true);
  });
});

describe('generateSyntheticLab: edge cases', () => {
  it('writes empty resource files for zero persons', async () => {
    const { dir, summary } = await generate(0);
    expect(summary.resources).toBe(0);
    for (const t of TYPES) expect(await readType(dir, t)).toEqual([]);
  });

  it('rejects invalid options', async () => {
    const outDir = await tempDir();
    await expect(generateSyntheticLab({ patients: -1, outDir })).rejects.toBeInstanceOf(InvalidInput);
    await expect(generateSyntheticLab({ patients: 1.5, outDir })).rejects.toBeInstanceOf(InvalidInput);
    await expect(generateSyntheticLab({ patients: 1, seed: Number.NaN, outDir })).rejects.toBeInstanceOf(InvalidInput);
    await expect(generateSyntheticLab({ patients: 1, outDir: '' })).rejects.toBeInstanceOf(InvalidInput);
  });
});

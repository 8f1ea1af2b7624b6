import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInput } from '../domain/errors.js';
import { BsnSequence } from './bsn-sequence.js';
import { Region } from './dutch-places.js';
import { IdMinter } from './id-minter.js';
import { buildIdentityPools } from './identity-pools.js';
import { LabRecordEmitter, type LabOutputs } from './lab-record-emitter.js';
import { NdjsonWriter } from './ndjson-writer.js';
import { OrderPlanner } from './order-planner.js';
import { PersonFactory, type PersonConstraints } from './person-factory.js';
import { Prng, WeightedTable } from './prng.js';
import { SYNTH_TENANTS, type SynthTenantId } from './tenants.js';

export interface SynthOptions {
  /** Number of distinct persons (each gets one Patient record per tenant that knows them). */
  patients: number;
  /** Seed of every random choice; the same (patients, seed) gives byte-identical files. Default 1. */
  seed?: number;
  /** Output directory, created if missing; existing files of the same names are overwritten. */
  outDir: string;
}

export interface SynthSummary {
  /** Distinct persons generated. */
  patients: number;
  /** FHIR resources written, all types together (Patient records included). */
  resources: number;
  /** Absolute paths of the files written: tenants.json, then one NDJSON file per type in reference order. */
  files: string[];
  /** Ids of the tenants in tenants.json. */
  tenants: string[];
}

/** Upper bound that keeps runs sane; the BSN space itself would allow about 90 million. */
const MAX_PATIENTS = 50_000_000;

/** Share of persons known to two tenants (e.g. screened and also a hospital patient). */
const SECOND_TENANT_SHARE = 0.1;

/**
 * Where a tenant's persons come from: the national programme is spread by population. Exported so
 * that records planted later in a tenant (canaries) come from the same places as its lab records.
 */
export const TENANT_REGION: Readonly<Record<SynthTenantId, Omit<PersonConstraints, 'screening'>>> = {
  screening: { region: null, regionShare: 0 },
  'hospital-west': { region: Region.West, regionShare: 0.85 },
  'hospital-south': { region: Region.South, regionShare: 0.85 },
  'gp-network': { region: Region.Mid, regionShare: 0.9 },
  'private-clinic': { region: Region.West, regionShare: 0.6 },
};

const TENANT_MIX = new WeightedTable<SynthTenantId>([
  ['screening', 70],
  ['hospital-west', 10],
  ['hospital-south', 8],
  ['gp-network', 8],
  ['private-clinic', 4],
]);

function validate(opts: SynthOptions): { patients: number; seed: number; outDir: string } {
  const { patients, seed = 1, outDir } = opts;
  if (!Number.isSafeInteger(patients) || patients < 0 || patients > MAX_PATIENTS) {
    throw new InvalidInput(`patients must be an integer between 0 and ${MAX_PATIENTS}`);
  }
  if (!Number.isSafeInteger(seed)) throw new InvalidInput('seed must be a safe integer');
  if (typeof outDir !== 'string' || outDir.trim() === '') throw new InvalidInput('outDir is required');
  return { patients, seed, outDir: path.resolve(outDir) };
}

/** The tenants that know a person: a main one and, for about one in ten, a second. */
function drawTenants(prng: Prng): SynthTenantId[] {
  const main = TENANT_MIX.pick(prng);
  if (!prng.chance(SECOND_TENANT_SHARE)) return [main];
  let other = TENANT_MIX.pick(prng);
  while (other === main) other = TENANT_MIX.pick(prng);
  return [main, other];
}

/**
 * Generates a deterministic synthetic Dutch clinical lab: `tenants.json` plus FHIR R4 NDJSON files
 * (Patient, ServiceRequest, Specimen, Observation, DiagnosticReport) in which every reference
 * resolves within the same tenant to a resource in the same or an earlier file.
 *
 * Streaming with bounded memory: persons are generated one at a time and nothing is kept per
 * person (BSNs and ids are unique by construction, not by lookup), so 485 000 persons
 * (about 3.2 million resources, 2.5 GB) run in roughly constant memory. Output depends only on (patients, seed) and
 * the pinned faker version — never on the clock or the machine.
 */
export async function generateSyntheticLab(opts: SynthOptions): Promise<SynthSummary> {
  const { patients, seed, outDir } = validate(opts);
  await mkdir(outDir, { recursive: true });
  const tenantsFile = path.join(outDir, 'tenants.json');
  await writeFile(tenantsFile, `${JSON.stringify(SYNTH_TENANTS, null, 2)}\n`, 'utf8');

  // Separate streams per concern, all derived from the seed: adding a draw to the person model
  // later does not silently change every id and BSN, and vice versa.
  const root = new Prng(seed);
  const ids = new IdMinter(new Prng(root.uint32()));
  const bsns = new BsnSequence(new Prng(root.uint32()));
  const pools = buildIdentityPools(root.uint32());
  const prng = new Prng(root.uint32());
  const persons = new PersonFactory(prng, pools, bsns);
  const planner = new OrderPlanner(prng);

  const writer = (type: keyof LabOutputs): NdjsonWriter => new NdjsonWriter(path.join(outDir, `${type}.ndjson`));
  // `satisfies`, not an annotation: the members must stay NdjsonWriters for flush/close below.
  const outputs = {
    Patient: writer('Patient'),
    ServiceRequest: writer('ServiceRequest'),
    Specimen: writer('Specimen'),
    Observation: writer('Observation'),
    DiagnosticReport: writer('DiagnosticReport'),
  } satisfies LabOutputs;
  // Reference order, which is also the order of `files` in the summary.
  const writers: NdjsonWriter[] = [
    outputs.Patient,
    outputs.ServiceRequest,
    outputs.Specimen,
    outputs.Observation,
    outputs.DiagnosticReport,
  ];
  const emitter = new LabRecordEmitter(outputs, ids);

  try {
    for (let i = 0; i < patients; i++) {
      const tenants = drawTenants(prng);
      const main = tenants[0] ?? 'screening';
      const person = persons.create({ screening: tenants.includes('screening'), ...TENANT_REGION[main] });
      for (const tenant of tenants) {
        const patient = emitter.patient(tenant, person);
        for (const order of planner.plan(tenant, person)) emitter.order(patient, order);
      }
      for (const w of writers) if (w.full) await w.flush();
    }
    for (const w of writers) await w.close();
  } catch (err) {
    for (const w of writers) w.destroy();
    throw err;
  }

  return {
    patients,
    resources: writers.reduce((sum, w) => sum + w.count, 0),
    files: [tenantsFile, ...writers.map((w) => w.path)],
    tenants: SYNTH_TENANTS.map((t) => t.id),
  };
}

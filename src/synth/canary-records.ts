import { InvalidInput } from '../domain/errors.js';
import type { CanaryRecords } from './canary-bundle.js';
import { BsnSequence } from './bsn-sequence.js';
import { TENANT_REGION } from './generator.js';
import { IdMinter } from './id-minter.js';
import { buildIdentityPools } from './identity-pools.js';
import { dayOf, FIRST_CLINICAL_DAY } from './lab-calendar.js';
import { LabRecordEmitter, type LabOutputs, type OrderSpec, type RecordSink } from './lab-record-emitter.js';
import { LAST_SAMPLE_DAY, OrderPlanner } from './order-planner.js';
import { PersonFactory } from './person-factory.js';
import { Prng } from './prng.js';
import { SYNTH_TENANTS, type SynthTenantId } from './tenants.js';

export type { CanaryRecords } from './canary-bundle.js';

export interface CanaryOptions {
  /** One of the synthetic lab's tenants (`SYNTH_TENANTS`); anything else is InvalidInput. */
  tenantId: string;
  /** Canary persons to plant, 1–1000. */
  count: number;
  /** A crypto-random uint32 from the caller: canaries must not be predictable from the public synth seed. */
  seed: number;
  /** `yyyy-mm-dd`: no record is dated after this day (collected, received, issued, authoredOn). */
  latestDay: string;
  /** `yyyy-mm-dd`: no record is dated before this day. Default: the first day of the synthetic calendar. */
  earliestDay?: string;
  /** BSNs already in use (real patients); such a BSN is never used. Must be deterministic for deterministic output. */
  isTaken?: (bsn: string) => boolean;
}

const MAX_COUNT = 1000;

/**
 * Persons drawn per requested canary before giving up. Even a window of a few weeks keeps some
 * orders of one draw in fifty; a window that does not is too narrow to hide anything in.
 */
const DRAWS_PER_CANARY = 50;

/**
 * Put into the high bits of the seed (tag · 2^32 + seed stays a safe integer): canaries seeded with
 * the same number as a lab run must not replay that run's persons, BSNs and ids.
 */
const STREAM_TAG = 0x1c4e5;
const TWO_POW_32 = 4294967296;
const MS_PER_DAY = 86_400_000;

const TENANT_IDS: ReadonlySet<string> = new Set(SYNTH_TENANTS.map((t) => t.id));

/** Keeps what the emitter writes as plain JSON: drops undefined members and unshares constant fragments. */
class JsonCollector implements RecordSink {
  readonly records: Record<string, unknown>[] = [];

  write(value: unknown): void {
    this.records.push(JSON.parse(JSON.stringify(value)) as Record<string, unknown>);
  }
}

interface Validated {
  tenant: SynthTenantId;
  count: number;
  seed: number;
  earliest: number;
  latest: number;
  isTaken: (bsn: string) => boolean;
}

function isSynthTenant(id: unknown): id is SynthTenantId {
  return typeof id === 'string' && TENANT_IDS.has(id);
}

/** Day number of a `yyyy-mm-dd` string; impossible dates (2023-02-30) are refused, not rolled over. */
function parseDay(value: unknown, name: string): number {
  const m = typeof value === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(value) : null;
  if (m) {
    const day = dayOf(Number(m[1]), Number(m[2]), Number(m[3]));
    if (Number.isFinite(day) && new Date(day * MS_PER_DAY).toISOString().slice(0, 10) === value) return day;
  }
  throw new InvalidInput(`${name} must be a calendar date (yyyy-mm-dd)`);
}

function validate(opts: CanaryOptions): Validated {
  const { tenantId, count, seed, isTaken = () => false } = opts;
  if (!isSynthTenant(tenantId)) throw new InvalidInput('tenantId must be one of the synthetic lab tenants');
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_COUNT) {
    throw new InvalidInput(`count must be an integer between 1 and ${MAX_COUNT}`);
  }
  if (!Number.isSafeInteger(seed) || seed < 0 || seed >= TWO_POW_32) throw new InvalidInput('seed must be an unsigned 32-bit integer');
  if (typeof isTaken !== 'function') throw new InvalidInput('isTaken must be a function');
  const latest = parseDay(opts.latestDay, 'latestDay');
  const earliest = opts.earliestDay === undefined ? FIRST_CLINICAL_DAY : parseDay(opts.earliestDay, 'earliestDay');
  if (earliest > latest) throw new InvalidInput('earliestDay must not be after latestDay');
  // Cheap early answer for a window the planner can never hit; narrower misses are caught by the draw bound.
  if (latest < FIRST_CLINICAL_DAY || earliest > LAST_SAMPLE_DAY) {
    throw new InvalidInput('the date window lies outside the period in which the synthetic lab takes samples');
  }
  return { tenant: tenantId, count, seed, earliest, latest, isTaken };
}

/** Every date the order's resources carry lies in [earliest, latest] (authoredOn is the collection day). */
function within(order: OrderSpec, earliest: number, latest: number): boolean {
  const days = [order.collected.day, order.received.day, order.issued.day];
  return order.results.length > 0 && Math.min(...days) >= earliest && Math.max(...days) <= latest;
}

/**
 * Generates canary patients for one tenant: synthetic persons and orders made by the very parts of
 * the synthetic lab (same person model, order planner and emitter), so that through the FHIR API
 * they cannot be told apart from the tenant's other records — nothing in them says what they are.
 *
 * Every record is dated within [earliestDay, latestDay]; with a window well in the past, workflow
 * queries for recent results never return a canary, while a bulk read of old data does. Orders the
 * planner dates outside the window are dropped rather than shifted (shifting would pile dates up
 * at the window's edges); a person left without an order is replaced by a new draw.
 *
 * Deterministic for the same options; all randomness comes from `seed`, never from the lab's seed,
 * so knowing how the lab was generated does not reveal the canaries. Pure: no I/O, no clock.
 *
 * @throws InvalidInput on bad options, or when `count` persons cannot be found within the window
 *   (and outside `isTaken`) in 50 draws per person.
 */
export function generateCanaryRecords(opts: CanaryOptions): CanaryRecords {
  const { tenant, count, seed, earliest, latest, isTaken } = validate(opts);

  // The same stream layout as the lab generator, so persons and orders are drawn the same way.
  const root = new Prng(STREAM_TAG * TWO_POW_32 + seed);
  const ids = new IdMinter(new Prng(root.uint32()));
  const bsns = new BsnSequence(new Prng(root.uint32()));
  const pools = buildIdentityPools(root.uint32());
  const prng = new Prng(root.uint32());
  const persons = new PersonFactory(prng, pools, bsns);
  const planner = new OrderPlanner(prng);

  const out = {
    Patient: new JsonCollector(),
    ServiceRequest: new JsonCollector(),
    Specimen: new JsonCollector(),
    Observation: new JsonCollector(),
    DiagnosticReport: new JsonCollector(),
  } satisfies LabOutputs;
  const emitter = new LabRecordEmitter(out, ids);
  const constraints = { screening: tenant === 'screening', ...TENANT_REGION[tenant] };

  const maxDraws = count * DRAWS_PER_CANARY;
  let planted = 0;
  for (let draws = 0; planted < count; draws++) {
    if (draws === maxDraws) {
      throw new InvalidInput(
        `only ${planted} of ${count} canary patients fit in ${maxDraws} draws: widen the window ` +
          `${opts.earliestDay ?? 'start'}..${opts.latestDay} or check isTaken`,
      );
    }
    const person = persons.create(constraints);
    // Planned before isTaken is asked, so a taken BSN replaces only its own person, not the draws after it.
    const orders = planner.plan(tenant, person).filter((o) => within(o, earliest, latest));
    if (orders.length === 0 || isTaken(person.bsn)) continue;
    const patient = emitter.patient(tenant, person);
    for (const order of orders) emitter.order(patient, order);
    planted++;
  }

  return {
    patients: out.Patient.records,
    resources: [...out.ServiceRequest.records, ...out.Specimen.records, ...out.Observation.records, ...out.DiagnosticReport.records],
  };
}

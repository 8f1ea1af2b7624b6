import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config.js';
import { openVault } from '../compose.js';
import { ConfigurationError } from '../domain/errors.js';
import { operatorContext } from '../domain/principal.js';
import { TENANT_TAG_SYSTEM } from '../domain/tenant.js';
import { readLines } from '../services/ingest-files.js';
import { generateSyntheticLab } from '../synth/generator.js';
import { BenchFailed } from './bench-failed.js';
import { servedReads, startBenchServer, type BenchServer } from './bench-server.js';
import { answeredCount, cannon, failureCount, okCount } from './cannon.js';
import { startCpuSample } from './cpu-sample.js';
import { httpGet } from './http-get.js';
import { pacedRun } from './paced-run.js';
import { cleanUpOnInterrupt } from './interrupt-cleanup.js';

/**
 * `labvault bench api`: authenticated, authorised, audited FHIR Patient reads over loopback
 * against the real server (`labvault serve`, a child process, so the load generator does not share
 * its event loop), with — in the same run, against the same server — GET /healthz as the
 * baseline (no credential, no policy, no decryption, no audit event).
 *
 * A fresh temporary vault (SQLite, local keyring) gets a synthetic lab and a controller-system
 * principal of the `screening` tenant; reads cycle over that tenant's patients with its bearer
 * token and X-Purpose-Of-Use PUBHLTH. Runs: a short warm-up, the healthz baseline, reads at a
 * fixed 500 requests/s, then reads at maximum throughput (autocannon, closed loop, `connections`
 * in flight). The fixed rate comes from an open-loop generator that sends on a 2 ms schedule and measures each
 * latency from the request's scheduled time (so a stall is not hidden by requests not sent).
 * Not autocannon's overallRate: it lets each connection send its share of a second back to back
 * when the second starts and then idle (measured: all 500 requests in the first ~0.5 s), so its
 * latencies describe a burst; and its coordinated-omission correction uses an expected interval of
 * ceil(1 / rate) = 1 ms, which back-fills phantom samples into p99.
 * Afterwards the vault's audit log is opened: every read served must have left an event.
 *
 * The server runs with a rate limit far above what a loopback run can reach (reported as
 * `rate_limit_per_min`), so 429s never shape the figures.
 */
export interface ApiBenchResult {
  /** 2xx Patient reads per second at maximum throughput. */
  reads_per_s: number;
  p50_ms: number;
  p99_ms: number;
  /** Non-2xx responses plus socket errors and timeouts in the maximum-throughput run. */
  errors: number;
  /** The fixed-rate run: target rate, what was achieved, and latency from the scheduled send time. */
  rate_500_p50_ms: number;
  rate_500_p99_ms: number;
  rate_500_target_per_s: number;
  rate_500_achieved_per_s: number;
  rate_500_errors: number;
  /** GET /healthz on the same server, same connections, same length of run. */
  baseline_healthz_per_s: number;
  baseline_healthz_p50_ms: number;
  baseline_healthz_p99_ms: number;
  /**
   * CPU of the server and of this process during the baseline, in % of one core: with a single
   * load-generator process the baseline can be bound by the client, not the server (then it is a
   * lower bound and overhead_ratio understates the cost).
   */
  baseline_healthz_server_cpu_pct: number | null;
  baseline_healthz_client_cpu_pct: number;
  /** baseline_healthz_per_s / reads_per_s: what authentication, policy, decryption and audit cost. */
  overhead_ratio: number | null;
  /** Audit-log growth over all read runs (warm-up included), read from the vault afterwards. */
  audit_events_written: number;
  /** Patient read responses the load generators received over the same runs. */
  reads_answered: number;
  /**
   * Patient reads the server finished, from its own /metrics (GET /fhir/Patient/:id, any status):
   * a few more than reads_answered, as requests in flight when a run stops are served, not counted.
   */
  reads_served: number;
  /** Every read the server served left its audit event: audit_events_written ≥ reads_served ≥ reads_answered. */
  every_read_audited: boolean;
  /** The audit log verified after the run (signed checkpoints, hash tree). */
  audit_verified: boolean;
  /** Signed audit checkpoints stored over the server's life (the server signs every 1000 events or 1 s). */
  audit_checkpoints_written: number;
  patients: number;
  /** Patients of the `screening` tenant the reads cycle over. */
  tenant_patients: number;
  seconds: number;
  connections: number;
  rate_limit_per_min: number;
  backend: 'sqlite';
  /** Detection mode of the main runs (monitor: every rule judged, nothing contained). */
  detection_mode: string;
  /** The same reads against a server with detection off, in the same run, before the main runs. */
  detection_off_reads_per_s: number;
  detection_off_p50_ms: number;
  detection_off_p99_ms: number;
  detection_off_rate_500_p50_ms: number;
  detection_off_rate_500_p99_ms: number;
  detection_off_errors: number;
  detection_off_mean_ms: number;
  /** Mean latency of the maximum-throughput run (autocannon's percentiles are whole ms; its mean is not). */
  mean_ms: number;
  /**
   * What detection adds, in %: to the p50 of the 500/s run (open loop, microsecond resolution: the
   * API's read latency at a steady rate), to the mean latency at maximum throughput, and to the
   * reads per second it costs (off / on − 1).
   */
  detection_p50_overhead_pct: number | null;
  detection_max_mean_overhead_pct: number | null;
  detection_throughput_cost_pct: number | null;
  /** Server process CPU during the maximum-throughput read run, in % of one core (null off Linux). */
  server_cpu_pct: number | null;
  /** Load-generator (this process) CPU during the same run, in % of one core. */
  client_cpu_pct: number;
  cpus: number;
  loadavg_1m_before: number;
}

export interface ApiBenchOptions {
  patients: number;
  seconds: number;
  connections: number;
  /** Fixed request rate of the latency run. */
  rate?: number;
  /** Extra node arguments for the server process (profiling: `--cpu-prof`, `--cpu-prof-dir=DIR`). */
  serverNodeArgs?: string[];
  log?: (s: string) => void;
}

const TENANT = 'screening';
const PURPOSE = 'PUBHLTH';
/** Far above what one loopback run can reach in a minute; the server's maximum setting is 1e8. */
export const BENCH_RATE_LIMIT_PER_MIN = 100_000_000;
const WARMUP_SECONDS = 1;

export async function benchApi(opts: ApiBenchOptions): Promise<ApiBenchResult> {
  const log = opts.log ?? (() => undefined);
  const rate = opts.rate ?? 500;
  const loadBefore = os.loadavg()[0] ?? 0;
  const work = await mkdtemp(path.join(os.tmpdir(), 'labvault-bench-api-'));
  let server: BenchServer | null = null;
  const release = cleanUpOnInterrupt(work, () => server);
  try {
    const dataDir = path.join(work, 'vault');
    const config = loadConfig({ dataDir, keyProvider: 'local' }, {});
    log(`generating a synthetic lab of ${opts.patients} persons…`);
    const labDir = path.join(work, 'lab');
    await generateSyntheticLab({ patients: opts.patients, seed: 1, outDir: labDir });
    const ids = await tenantPatientIds(path.join(labDir, 'Patient.ndjson'), TENANT);
    if (ids.length === 0) throw new ConfigurationError(`the synthetic lab has no ${TENANT} patients: use more --patients`);

    log('ingesting into a fresh vault and creating a controller-system principal…');
    const operator = operatorContext('bench', 'labvault-bench');
    let token: string;
    let auditBefore: number;
    let checkpointsBefore: number;
    const vault = await openVault(config, { create: true });
    try {
      await vault.ingest.ingest(operator, [labDir]);
      const created = await vault.principals.create(operator, {
        name: 'bench screening programme system',
        role: 'controller-system',
        tenants: [TENANT],
        purpose: PURPOSE,
      });
      token = created.token;
      auditBefore = (await vault.store.auditHead()).size;
      checkpointsBefore = (await vault.store.listCheckpoints()).length;
    } finally {
      await vault.close();
    }
    // The plaintext source files are not needed by the server.
    await rm(labDir, { recursive: true, force: true });

    const readHeaders = { authorization: `Bearer ${token}`, 'x-purpose-of-use': PURPOSE, accept: 'application/fhir+json' };
    const paths = ids.map((id) => `/fhir/Patient/${encodeURIComponent(id)}`);
    let readsAnswered = 0;

    // Detection's cost, measured in the same run: the same reads against a server with detection
    // off, before the main runs (detection on). The bench principal reads a whole tenant as fast
    // as it can — exactly what enforce mode contains — so the main runs use monitor mode, which
    // judges every read with every rule and only skips the containment itself.
    log('detection off: starting the server…');
    server = await startBenchServer({ ...serverOpts(opts, dataDir), env: { LABVAULT_DETECTION_MODE: 'off' } });
    await probeRead(server.base, paths[0] as string, readHeaders);
    readsAnswered +=
      1 +
      answeredCount(
        await cannon({ base: server.base, paths, headers: readHeaders, seconds: WARMUP_SECONDS, connections: opts.connections }),
      );
    log(`detection off: fixed rate ${rate} reads/s for ${opts.seconds} s…`);
    const offPaced = await pacedRun({ base: server.base, paths, headers: readHeaders, rate, seconds: opts.seconds });
    readsAnswered += offPaced.answered;
    log(`detection off: reads for ${opts.seconds} s, ${opts.connections} connections…`);
    const offReads = await cannon({ base: server.base, paths, headers: readHeaders, seconds: opts.seconds, connections: opts.connections });
    readsAnswered += answeredCount(offReads);
    const servedOff = await servedReads(server.base);
    await server.stop();
    server = null;

    log('starting the server (labvault serve, child process, detection in monitor mode)…');
    server = await startBenchServer({ ...serverOpts(opts, dataDir), env: { LABVAULT_DETECTION_MODE: DETECTION_MODE } });
    const base = server.base;
    log(`server at ${base}`);
    await probeRead(base, paths[0] as string, readHeaders);
    readsAnswered += 1;

    log(`warm-up: ${WARMUP_SECONDS} s of reads…`);
    const warm = await cannon({ base, paths, headers: readHeaders, seconds: WARMUP_SECONDS, connections: opts.connections });
    readsAnswered += answeredCount(warm);

    log(`baseline: GET /healthz for ${opts.seconds} s, ${opts.connections} connections…`);
    const endHealthCpu = startCpuSample(server.cpuSeconds);
    const health = await cannon({ base, paths: ['/healthz'], headers: {}, seconds: opts.seconds, connections: opts.connections });
    const healthCpu = endHealthCpu();

    // The fixed-rate run goes before the maximum-throughput run: after that one the disk is still
    // busy folding tens of MB of WAL into the database, and its slow syncs (measured up to 300 ms)
    // would be charged to the 500/s run instead of to a steady state.
    log(`fixed rate: ${rate} reads/s for ${opts.seconds} s (open loop, latency from the scheduled send)…`);
    const paced = await pacedRun({ base, paths, headers: readHeaders, rate, seconds: opts.seconds });
    readsAnswered += paced.answered;

    log(`reads: GET /fhir/Patient/{id} for ${opts.seconds} s, ${opts.connections} connections…`);
    const endReadsCpu = startCpuSample(server.cpuSeconds);
    const reads = await cannon({ base, paths, headers: readHeaders, seconds: opts.seconds, connections: opts.connections });
    const readsCpu = endReadsCpu();
    readsAnswered += answeredCount(reads);

    const readsServed = servedOff + (await servedReads(base));

    log('stopping the server…');
    await server.stop();
    server = null;

    log('reading the audit log…');
    const after = await openVault(config, { auditReadOnly: true });
    let auditAfter: number;
    let checkpointsAfter: number;
    let verified: boolean;
    try {
      auditAfter = (await after.store.auditHead()).size;
      checkpointsAfter = (await after.store.listCheckpoints()).length;
      verified = (await after.audit.verify()).ok;
    } finally {
      await after.close();
    }
    const events = auditAfter - auditBefore;
    const readsPerS = okCount(reads) / reads.duration;
    const healthPerS = okCount(health) / health.duration;
    return {
      reads_per_s: Math.round(readsPerS),
      p50_ms: round(reads.latency.p50),
      p99_ms: round(reads.latency.p99),
      errors: failureCount(reads),
      rate_500_p50_ms: round(paced.p50),
      rate_500_p99_ms: round(paced.p99),
      rate_500_target_per_s: rate,
      rate_500_achieved_per_s: Math.round(paced.achievedPerS),
      rate_500_errors: paced.errors,
      baseline_healthz_per_s: Math.round(healthPerS),
      baseline_healthz_p50_ms: round(health.latency.p50),
      baseline_healthz_p99_ms: round(health.latency.p99),
      baseline_healthz_server_cpu_pct: healthCpu.serverPct,
      baseline_healthz_client_cpu_pct: healthCpu.clientPct,
      overhead_ratio: readsPerS > 0 ? round(healthPerS / readsPerS) : null,
      audit_events_written: events,
      reads_answered: readsAnswered,
      reads_served: readsServed,
      every_read_audited: events >= readsServed && readsServed >= readsAnswered,
      audit_verified: verified,
      audit_checkpoints_written: checkpointsAfter - checkpointsBefore,
      patients: opts.patients,
      tenant_patients: ids.length,
      seconds: opts.seconds,
      connections: opts.connections,
      rate_limit_per_min: BENCH_RATE_LIMIT_PER_MIN,
      backend: 'sqlite',
      detection_mode: DETECTION_MODE,
      detection_off_reads_per_s: Math.round(okCount(offReads) / offReads.duration),
      detection_off_p50_ms: round(offReads.latency.p50),
      detection_off_p99_ms: round(offReads.latency.p99),
      detection_off_rate_500_p50_ms: round(offPaced.p50),
      detection_off_rate_500_p99_ms: round(offPaced.p99),
      detection_off_errors: failureCount(offReads) + offPaced.errors,
      detection_off_mean_ms: round(offReads.latency.mean),
      mean_ms: round(reads.latency.mean),
      detection_p50_overhead_pct: pct(paced.p50, offPaced.p50),
      detection_max_mean_overhead_pct: pct(reads.latency.mean, offReads.latency.mean),
      detection_throughput_cost_pct: pct(okCount(offReads) / offReads.duration, readsPerS),
      server_cpu_pct: readsCpu.serverPct,
      client_cpu_pct: readsCpu.clientPct,
      cpus: os.availableParallelism(),
      loadavg_1m_before: round(loadBefore),
    };
  } finally {
    release();
    if (server) await server.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

/** The ids of one tenant's Patient records in a synthetic lab's Patient.ndjson. */
async function tenantPatientIds(file: string, tenant: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const { text } of readLines(file)) {
    const r = JSON.parse(text) as { id: string; meta?: { tag?: { system?: string; code?: string }[] } };
    if (r.meta?.tag?.some((t) => t.system === TENANT_TAG_SYSTEM && t.code === tenant)) ids.push(r.id);
  }
  return ids;
}

const DETECTION_MODE = 'monitor';

function serverOpts(opts: ApiBenchOptions, dataDir: string): { dataDir: string; nodeArgs: string[]; rateLimitPerMin: number } {
  return { dataDir, nodeArgs: opts.serverNodeArgs ?? [], rateLimitPerMin: BENCH_RATE_LIMIT_PER_MIN };
}

/** One real read first: a misconfiguration fails loudly here, not as a run of errors. */
async function probeRead(base: string, p: string, headers: Record<string, string>): Promise<void> {
  const probe = await httpGet(base, p, headers);
  if (probe.status !== 200) throw new BenchFailed(`a Patient read answered ${probe.status}: ${probe.body.slice(0, 200)}`);
}

/** (with − without) / without, in %. */
function pct(withIt: number, without: number): number | null {
  return without > 0 ? round(((withIt - without) / without) * 100) : null;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

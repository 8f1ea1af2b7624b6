import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config.js';
import { openVault } from '../compose.js';
import { ConfigurationError, ErrorCode, VaultError } from '../domain/errors.js';
import { operatorContext } from '../domain/principal.js';
import { TENANT_TAG_SYSTEM } from '../domain/tenant.js';
import { readLines } from '../services/ingest-files.js';
import { generateSyntheticLab } from '../synth/generator.js';

/**
 * `labvault bench api`: authenticated, authorised, audited FHIR Patient reads over loopback
 * against the real server (`labvault serve`, a child process, so the load generator does not share
 * its event loop), with — in the same run, against the same server — GET /healthz as the
 * baseline (no credential, no policy, no decryption, no audit event).
 *
 * A fresh temporary vault (SQLite, local keyring) gets a synthetic lab and a controller-system
 * principal of the `screening` tenant; reads cycle over that tenant's patients with its bearer
 * token and X-Purpose-Of-Use PUBHLTH. Runs: a short warm-up, the healthz baseline and the reads at
 * maximum throughput (autocannon, closed loop, `connections` in flight), then reads at a fixed
 * 500 requests/s from an open-loop generator that sends on a 2 ms schedule and measures each
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

/** The run could not be done (the server did not start, or refused the benchmark's reads): one line, exit 1. */
class BenchFailed extends VaultError {
  constructor(message: string) {
    super(ErrorCode.Storage, message);
  }
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
  let server: Server | null = null;
  // Interrupted (Ctrl-C): the temporary vault holds its keyring next to its data, so it goes too.
  const interrupted = (signal: NodeJS.Signals): void => {
    void (server?.stop().catch(() => undefined) ?? Promise.resolve())
      .then(() => rm(work, { recursive: true, force: true }))
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
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

    log('starting the server (labvault serve, child process)…');
    server = await startServer(dataDir, opts.serverNodeArgs ?? []);
    const base = server.base;
    log(`server at ${base}`);
    const readHeaders = { authorization: `Bearer ${token}`, 'x-purpose-of-use': PURPOSE, accept: 'application/fhir+json' };
    const paths = ids.map((id) => `/fhir/Patient/${encodeURIComponent(id)}`);

    // One real read first: a misconfiguration fails loudly here, not as a run of errors.
    const probe = await httpGet(base, paths[0] as string, readHeaders);
    if (probe.status !== 200) throw new BenchFailed(`a Patient read answered ${probe.status}: ${probe.body.slice(0, 200)}`);
    let readsAnswered = 1;

    log(`warm-up: ${WARMUP_SECONDS} s of reads…`);
    const warm = await cannon({ base, paths, headers: readHeaders, seconds: WARMUP_SECONDS, connections: opts.connections });
    readsAnswered += answered(warm);

    log(`baseline: GET /healthz for ${opts.seconds} s, ${opts.connections} connections…`);
    const hCpu0 = server.cpuSeconds();
    const hClient0 = process.cpuUsage();
    const h0 = performance.now();
    const health = await cannon({ base, paths: ['/healthz'], headers: {}, seconds: opts.seconds, connections: opts.connections });
    const hWall = (performance.now() - h0) / 1000;
    const hCpu1 = server.cpuSeconds();
    const hClient1 = process.cpuUsage(hClient0);

    log(`reads: GET /fhir/Patient/{id} for ${opts.seconds} s, ${opts.connections} connections…`);
    const cpu0 = server.cpuSeconds();
    const client0 = process.cpuUsage();
    const t0 = performance.now();
    const reads = await cannon({ base, paths, headers: readHeaders, seconds: opts.seconds, connections: opts.connections });
    const wall = (performance.now() - t0) / 1000;
    const cpu1 = server.cpuSeconds();
    const client1 = process.cpuUsage(client0);
    readsAnswered += answered(reads);

    log(`fixed rate: ${rate} reads/s for ${opts.seconds} s (open loop, latency from the scheduled send)…`);
    const paced = await pacedRun({ base, paths, headers: readHeaders, rate, seconds: opts.seconds });
    readsAnswered += paced.answered;

    const readsServed = await servedReads(base);

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
    const readsPerS = ok(reads) / reads.duration;
    const healthPerS = ok(health) / health.duration;
    return {
      reads_per_s: Math.round(readsPerS),
      p50_ms: round(reads.latency.p50),
      p99_ms: round(reads.latency.p99),
      errors: failures(reads),
      rate_500_p50_ms: round(paced.p50),
      rate_500_p99_ms: round(paced.p99),
      rate_500_target_per_s: rate,
      rate_500_achieved_per_s: Math.round(paced.achievedPerS),
      rate_500_errors: paced.errors,
      baseline_healthz_per_s: Math.round(healthPerS),
      baseline_healthz_p50_ms: round(health.latency.p50),
      baseline_healthz_p99_ms: round(health.latency.p99),
      baseline_healthz_server_cpu_pct: cpuPct(hCpu0, hCpu1, hWall),
      baseline_healthz_client_cpu_pct: Math.round(((hClient1.user + hClient1.system) / 1e6 / hWall) * 100),
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
      server_cpu_pct: cpuPct(cpu0, cpu1, wall),
      client_cpu_pct: Math.round(((client1.user + client1.system) / 1e6 / wall) * 100),
      cpus: os.availableParallelism(),
      loadavg_1m_before: round(loadBefore),
    };
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
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

// ---------------------------------------------------------------------------------------------
// The server: `node dist/cli/main.js --data-dir … serve --port 0`, address parsed from stdout.

interface Server {
  base: string;
  /** utime + stime of the server process so far, in seconds (null where /proc is absent). */
  cpuSeconds(): number | null;
  stop(): Promise<void>;
}

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../cli/main.js');
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

async function startServer(dataDir: string, nodeArgs: string[]): Promise<Server> {
  // A clean environment: only the rate limit is set; everything else is given as flags.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LABVAULT_API_RATE_LIMIT: String(BENCH_RATE_LIMIT_PER_MIN),
    // Audit checkpoint cadence may be tuned for an experiment; the defaults are what is measured.
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('LABVAULT_AUDIT_CHECKPOINT_'))),
  };
  const args = [...nodeArgs, MAIN, '--data-dir', dataDir, '--key-provider', 'local', 'serve', '--host', '127.0.0.1', '--port', '0'];
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ? null : code)));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 20_000) stderr = stderr.slice(-10_000);
  });
  const base = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new BenchFailed('the server did not start within 60 s')), START_TIMEOUT_MS);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /FHIR base\s+(http:\/\/\S+?)\/fhir\s/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new BenchFailed(`the server exited (${String(code)}) before listening: ${lastLine(stderr)}`));
    });
  }).catch(async (e: unknown) => {
    await kill(child, exited);
    throw e;
  });
  let stopped: Promise<void> | null = null;
  return {
    base,
    cpuSeconds: () => processCpuSeconds(child.pid),
    stop: () =>
      (stopped ??= (async () => {
        const code = await kill(child, exited);
        if (code !== 0) throw new BenchFailed(`the server exited with ${String(code)} on SIGTERM: ${lastLine(stderr)}`);
      })()),
  };
}

/** SIGTERM (the server closes cleanly: final checkpoint, WAL folded), SIGKILL if it hangs. */
async function kill(child: ChildProcess, exited: Promise<number | null>): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

function lastLine(s: string): string {
  return s.trim().split('\n').pop()?.slice(0, 300) ?? '';
}

function cpuPct(before: number | null, after: number | null, wallSeconds: number): number | null {
  return before === null || after === null ? null : Math.round(((after - before) / wallSeconds) * 100);
}

/** utime + stime of a Linux process in seconds, from /proc (USER_HZ is 100 on every Linux ABI node runs on). */
function processCpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ": state is field 3, so utime (14) and stime (15) are at 11 and 12.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Load generators.

interface CannonRun {
  duration: number;
  latency: { p50: number; p99: number };
  statusCodeStats: Record<string, { count: number }>;
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** Closed loop, maximum throughput: `connections` requests in flight, cycling over `paths`. */
async function cannon(o: {
  base: string;
  paths: string[];
  headers: Record<string, string>;
  seconds: number;
  connections: number;
}): Promise<CannonRun> {
  let next = 0;
  const r = await autocannon({
    url: o.base,
    connections: o.connections,
    pipelining: 1,
    duration: o.seconds,
    timeout: 10,
    headers: o.headers,
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => {
          const p = o.paths[next] as string;
          next = (next + 1) % o.paths.length;
          return { ...req, path: p };
        },
      },
    ],
  });
  return {
    duration: r.duration,
    latency: { p50: r.latency.p50, p99: r.latency.p99 },
    statusCodeStats: r.statusCodeStats as unknown as Record<string, { count: number }>,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}

function ok(r: CannonRun): number {
  let n = 0;
  for (const [code, s] of Object.entries(r.statusCodeStats)) if (code.startsWith('2')) n += Number(s.count);
  return n;
}

function answered(r: CannonRun): number {
  let n = 0;
  for (const s of Object.values(r.statusCodeStats)) n += Number(s.count);
  return n;
}

function failures(r: CannonRun): number {
  // autocannon's `errors` already includes timeouts.
  return r.non2xx + r.errors;
}

/**
 * Open loop at a fixed rate: request i is due at start + i/rate and is sent then whatever happened
 * to earlier ones; its latency runs from that due time to the end of the response. (autocannon's
 * overallRate sends each connection's share of a second back to back at the start of the second,
 * which measures a burst, not a steady rate.)
 */
async function pacedRun(o: {
  base: string;
  paths: string[];
  headers: Record<string, string>;
  rate: number;
  seconds: number;
}): Promise<{ p50: number; p99: number; achievedPerS: number; errors: number; answered: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const url = new URL(o.base);
  const total = Math.max(1, Math.round(o.rate * o.seconds));
  const interval = 1000 / o.rate;
  const latencies: number[] = [];
  let errors = 0;
  let answeredCount = 0;
  let done = 0;
  const start = performance.now() + 5;
  try {
    await new Promise<void>((resolve) => {
      const finish = (): void => {
        if (++done === total) resolve();
      };
      const send = (i: number): void => {
        const due = start + i * interval;
        const req = http.request(
          {
            agent,
            host: url.hostname,
            port: url.port,
            method: 'GET',
            path: o.paths[i % o.paths.length],
            headers: o.headers,
            timeout: 10_000,
          },
          (res) => {
            res.resume();
            res.on('end', () => {
              answeredCount++;
              if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) latencies.push(performance.now() - due);
              else errors++;
              finish();
            });
            res.on('error', () => {
              errors++;
              finish();
            });
          },
        );
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', () => {
          errors++;
          finish();
        });
        req.end();
      };
      let i = 0;
      const tick = (): void => {
        const now = performance.now();
        while (i < total && start + i * interval <= now) send(i++);
        if (i < total) setTimeout(tick, Math.max(0, start + i * interval - performance.now()));
      };
      setTimeout(tick, 5);
    });
  } finally {
    agent.destroy();
  }
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    achievedPerS: latencies.length / elapsed,
    errors,
    answered: answeredCount,
  };
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

function httpGet(base: string, p: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL(p, base), { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** GET /fhir/Patient/:id requests the server finished (any status), from its Prometheus counter. */
async function servedReads(base: string): Promise<number> {
  const r = await httpGet(base, '/metrics', {});
  if (r.status !== 200) throw new BenchFailed(`GET /metrics answered ${r.status}`);
  let n = 0;
  for (const line of r.body.split('\n')) {
    if (!line.startsWith('labvault_http_requests_total{')) continue;
    if (!line.includes('method="GET"') || !line.includes('route="/fhir/Patient/:id"')) continue;
    n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

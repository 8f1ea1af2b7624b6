import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchFailed } from './bench-failed.js';
import { processCpuSeconds } from './cpu-sample.js';
import { httpGet } from './http-get.js';

/**
 * The server under test: `node dist/cli/main.js --data-dir … serve --port 0`, a child process so
 * the load generator does not share its event loop; its address is parsed from its stdout.
 */
export interface BenchServer {
  base: string;
  /** utime + stime of the server process so far, in seconds (null where /proc is absent). */
  cpuSeconds: () => number | null;
  stop(): Promise<void>;
}

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../cli/main.js');
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

export async function startBenchServer(o: {
  dataDir: string;
  nodeArgs: string[];
  rateLimitPerMin: number;
  /** Extra LABVAULT_* settings for the server (the drill's detection mode and thresholds file). */
  env?: Readonly<Record<string, string>>;
  /** Extra `serve` flags (the ransomware drill's `--read-only --from-backup PATH`). */
  serveArgs?: readonly string[];
}): Promise<BenchServer> {
  // A clean environment: only the rate limit (and what the caller adds) is set; everything else is given as flags.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LABVAULT_API_RATE_LIMIT: String(o.rateLimitPerMin),
    // Audit checkpoint cadence may be tuned for an experiment; the defaults are what is measured.
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('LABVAULT_AUDIT_CHECKPOINT_'))),
    ...o.env,
  };
  const args = [
    ...o.nodeArgs,
    MAIN,
    '--data-dir',
    o.dataDir,
    '--key-provider',
    'local',
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    ...(o.serveArgs ?? []),
  ];
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

/** GET /fhir/Patient/:id requests the server finished (any status), from its Prometheus counter. */
export async function servedReads(base: string): Promise<number> {
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

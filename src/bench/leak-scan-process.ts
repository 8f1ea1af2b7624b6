import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { LeakScanReport } from '../services/leak-scan.js';
import { BenchFailed } from './bench-failed.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MAIN = path.resolve(HERE, '../cli/main.js');
const HOOK = pathToFileURL(path.resolve(HERE, 'peak-rss-hook.js')).href;

/**
 * `labvault leak scan PATH --details FILE --json` as an operator runs it: its own process, against
 * the benchmark's vault (local keyring, detection off), in a clean environment (no LABVAULT_*
 * setting of the caller's leaks in). Returns its report and its peak RSS. The benchmark process
 * built the lab and holds its vault: a scan in there shared its heap and its garbage collection
 * (measured 0.5 s slower per GB than the command at 485,000 patients).
 */
export async function leakScanProcess(o: {
  dataDir: string;
  paths: readonly string[];
  details: string;
}): Promise<{ report: LeakScanReport; peakRssMb: number }> {
  const args = [
    '--import',
    HOOK,
    MAIN,
    '--data-dir',
    o.dataDir,
    '--key-provider',
    'local',
    'leak',
    'scan',
    ...o.paths,
    '--details',
    o.details,
    '--json',
  ];
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LABVAULT_DETECTION_MODE: 'off', BENCH_PEAK_RSS_FD: '3' };
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const read = (i: 1 | 2 | 3): Promise<string> =>
    new Promise((resolve, reject) => {
      // fd 3 is a pipe the child writes: readable on this side.
      const s = child.stdio[i] as Readable | null;
      if (!s) return resolve('');
      let out = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => (out += d));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
  let stdout: string, stderr: string, rss: string;
  let exit: { code: number | null; signal: NodeJS.Signals | null };
  try {
    [stdout, stderr, rss, exit] = await Promise.all([
      read(1),
      read(2),
      read(3),
      new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code, signal) => resolve({ code, signal }));
      }),
    ]);
  } catch (e) {
    // Not left running over a directory the benchmark is about to remove.
    child.kill('SIGKILL');
    throw e;
  }
  if (exit.code !== 0)
    throw new BenchFailed(`leak scan failed (${exit.signal ?? String(exit.code)}): ${stderr.trim().split('\n').pop() ?? ''}`);
  let report: LeakScanReport;
  let maxRssKb: number;
  try {
    report = JSON.parse(stdout) as LeakScanReport;
    const last = rss.trim().split('\n').pop() ?? '';
    maxRssKb = (JSON.parse(last) as { max_rss_kb: number }).max_rss_kb;
  } catch {
    throw new BenchFailed('leak scan printed no JSON report or no peak RSS');
  }
  return { report, peakRssMb: Math.round(maxRssKb / 1024) };
}

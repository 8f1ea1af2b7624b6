import { spawn } from 'node:child_process';
import path from 'node:path';
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
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LABVAULT_DETECTION_MODE: 'off' };
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const read = (i: 1 | 2 | 3): Promise<string> =>
    new Promise((resolve, reject) => {
      const s = child.stdio[i];
      if (!s) return resolve('');
      let out = '';
      s.on('data', (d: Buffer) => (out += d.toString()));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
  const [stdout, stderr, rss, code] = await Promise.all([
    read(1),
    read(2),
    read(3),
    new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c) => resolve(c));
    }),
  ]);
  if (code !== 0) throw new BenchFailed(`leak scan failed (${String(code)}): ${stderr.trim().split('\n').pop() ?? ''}`);
  let report: LeakScanReport;
  let maxRssKb: number;
  try {
    report = JSON.parse(stdout) as LeakScanReport;
    maxRssKb = (JSON.parse(rss) as { max_rss_kb: number }).max_rss_kb;
  } catch {
    throw new BenchFailed('leak scan printed no JSON report or no peak RSS');
  }
  return { report, peakRssMb: Math.round(maxRssKb / 1024) };
}

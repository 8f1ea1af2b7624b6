import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** CPU over one measured run, in % of one core. */
export interface CpuSample {
  /** The server process (null where /proc is absent). */
  serverPct: number | null;
  /** This process, the load generator: tells whether a run was bound by the client, not the server. */
  clientPct: number;
}

/**
 * Starts measuring the server's and this process's CPU over a run; call the returned function when
 * the run ends. Server CPU comes from `serverCpuSeconds` (cumulative utime + stime, as /proc gives it).
 */
export function startCpuSample(serverCpuSeconds: () => number | null): () => CpuSample {
  const server0 = serverCpuSeconds();
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const wall = (performance.now() - t0) / 1000;
    const server1 = serverCpuSeconds();
    const client1 = process.cpuUsage(client0);
    return {
      serverPct: server0 === null || server1 === null ? null : Math.round(((server1 - server0) / wall) * 100),
      clientPct: Math.round(((client1.user + client1.system) / 1e6 / wall) * 100),
    };
  };
}

/** utime + stime of a Linux process in seconds, from /proc (USER_HZ is 100 on every Linux ABI node runs on). */
export function processCpuSeconds(pid: number | undefined): number | null {
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

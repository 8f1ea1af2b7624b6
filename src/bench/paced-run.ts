import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface PacedRunResult {
  /** Latency of 2xx responses from each request's scheduled send time, in ms. */
  p50: number;
  p99: number;
  /** 2xx responses per second over the run. */
  achievedPerS: number;
  /** Non-2xx responses plus socket errors and timeouts. */
  errors: number;
  /** Responses of any status. */
  answered: number;
}

/**
 * Open loop at a fixed rate: request i is due at start + i/rate and is sent then whatever happened
 * to earlier ones; its latency runs from that due time to the end of the response. (autocannon's
 * overallRate sends each connection's share of a second back to back at the start of the second,
 * which measures a burst, not a steady rate.)
 */
export async function pacedRun(o: {
  base: string;
  paths: string[];
  headers: Record<string, string>;
  rate: number;
  seconds: number;
}): Promise<PacedRunResult> {
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

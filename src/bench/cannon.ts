import autocannon from 'autocannon';

/** The parts of an autocannon result the API benchmark reports. */
export interface CannonRun {
  duration: number;
  /** Milliseconds; autocannon's percentiles are whole milliseconds, its mean is not. */
  latency: { p50: number; p99: number; mean: number };
  statusCodeStats: Record<string, { count: number }>;
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** Closed loop, maximum throughput: `connections` requests in flight, cycling over `paths`. */
export async function cannon(o: {
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
    latency: { p50: r.latency.p50, p99: r.latency.p99, mean: r.latency.average },
    statusCodeStats: r.statusCodeStats as unknown as Record<string, { count: number }>,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}

/** 2xx responses. */
export function okCount(r: CannonRun): number {
  let n = 0;
  for (const [code, s] of Object.entries(r.statusCodeStats)) if (code.startsWith('2')) n += Number(s.count);
  return n;
}

/** Responses of any status. */
export function answeredCount(r: CannonRun): number {
  let n = 0;
  for (const s of Object.values(r.statusCodeStats)) n += Number(s.count);
  return n;
}

/** Non-2xx responses plus socket errors and timeouts. */
export function failureCount(r: CannonRun): number {
  // autocannon's `errors` already includes timeouts.
  return r.non2xx + r.errors;
}

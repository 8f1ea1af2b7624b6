import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * One client of the drill: a bearer token, a purpose of use, the source address its sockets bind
 * to (every 127.x.y.z address reaches the loopback server on Linux, so each attacker gets its own,
 * as thieves on other machines would), and keep-alive connections like a real FHIR client's.
 */
export interface ActorOptions {
  base: string;
  token: string;
  purpose: string;
  /** Local address the sockets bind to (127.0.0.1 for the lab's own clients). */
  localAddress: string;
  /** Requests this actor keeps in flight at most. */
  inFlight?: number;
}

/** One answer, reduced to what the drill measures. */
export interface Reply {
  /** HTTP status, 0 for a network error or timeout. */
  status: number;
  /** Distinct patient ids in the body: Patient ids, subject references, included patients. */
  patients: string[];
  /** Resources in the body (entries of a Bundle, 1 for a single resource, 0 for an OperationOutcome). */
  resources: number;
  /** Path and query of the Bundle's next link, if any. */
  next: string | null;
  /** From sending the request to the end of the answer. */
  ms: number;
}

const TIMEOUT_MS = 30_000;

export class HttpActor {
  private readonly agent: http.Agent;

  constructor(private readonly o: ActorOptions) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: o.inFlight ?? 1 });
  }

  get(pathAndQuery: string, tenant?: string): Promise<Reply> {
    return this.send('GET', pathAndQuery, tenant, null);
  }

  /** POST of a form body (FHIR `_search`: keeps a BSN out of the URL). */
  postForm(p: string, form: Record<string, string>, tenant?: string): Promise<Reply> {
    return this.send('POST', p, tenant, new URLSearchParams(form).toString());
  }

  close(): void {
    this.agent.destroy();
  }

  private send(method: string, p: string, tenant: string | undefined, body: string | null): Promise<Reply> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.o.token}`,
      'x-purpose-of-use': this.o.purpose,
      accept: 'application/fhir+json',
      'user-agent': 'labvault-drill/0.1',
    };
    if (tenant !== undefined) headers['x-tenant'] = tenant;
    if (body !== null) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const t0 = performance.now();
    return new Promise<Omit<Reply, 'ms'>>((resolve) => {
      const failed = (): void => resolve({ status: 0, patients: [], resources: 0, next: null });
      const req = http.request(
        new URL(p, this.o.base),
        { method, headers, agent: this.agent, localAddress: this.o.localAddress, timeout: TIMEOUT_MS },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('error', failed);
          res.on('end', () => resolve(reply(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', failed);
      req.end(body ?? undefined);
    }).then((r) => ({ ...r, ms: performance.now() - t0 }));
  }
}

/** Sleeps `ms`, but never past `until` (epoch ms, as Date.now()). */
export async function sleepUntil(ms: number, until: number): Promise<void> {
  const wait = Math.min(ms, until - Date.now());
  if (wait > 0) await delay(wait);
}

function reply(status: number, text: string): Omit<Reply, 'ms'> {
  if (status < 200 || status >= 300) return { status, patients: [], resources: 0, next: null };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { status, patients: [], resources: 0, next: null };
  }
  return { status, ...contents(body) };
}

interface Resource {
  resourceType?: string;
  id?: string;
  subject?: { reference?: string };
  patient?: { reference?: string };
  entry?: { resource?: Resource }[];
  link?: { relation?: string; url?: string }[];
}

function contents(body: unknown): Omit<Reply, 'status' | 'ms'> {
  const r = body as Resource;
  const patients = new Set<string>();
  const add = (x: Resource | undefined): void => {
    if (!x) return;
    if (x.resourceType === 'Patient' && typeof x.id === 'string') patients.add(x.id);
    const ref = x.subject?.reference ?? x.patient?.reference;
    const m = typeof ref === 'string' ? /^Patient\/(.+)$/.exec(ref) : null;
    if (m?.[1]) patients.add(m[1]);
  };
  if (r.resourceType === 'Bundle') {
    const entries = r.entry ?? [];
    for (const e of entries) add(e.resource);
    const url = r.link?.find((l) => l.relation === 'next')?.url;
    let next: string | null = null;
    if (typeof url === 'string') {
      const u = new URL(url);
      next = `${u.pathname}${u.search}`;
    }
    return { patients: [...patients], resources: entries.length, next };
  }
  if (r.resourceType === 'OperationOutcome') return { patients: [], resources: 0, next: null };
  add(r);
  return { patients: [...patients], resources: 1, next: null };
}

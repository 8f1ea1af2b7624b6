import type { FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Vault } from '../compose.js';

/**
 * Prometheus metrics of one server: requests by route and status, latency, authentication
 * failures by cause, rate-limit refusals, the audit log's size. Labels are route patterns
 * (`/fhir/Patient/:id`), never URLs, so no id or identifier becomes a label. A registry per app,
 * so tests can run several servers in one process.
 */
export class ApiMetrics {
  private readonly registry = new Registry();
  private readonly started = new WeakMap<FastifyRequest, bigint>();
  private readonly requests = new Counter({
    name: 'labvault_http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'labvault_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  private readonly authFailures = new Counter({
    name: 'labvault_auth_failures_total',
    help: 'Rejected credentials by cause',
    labelNames: ['cause'] as const,
    registers: [this.registry],
  });
  private readonly limited = new Counter({
    name: 'labvault_rate_limited_total',
    help: 'Requests refused with 429',
    registers: [this.registry],
  });
  private readonly auditSize = new Gauge({ name: 'labvault_audit_events', help: 'Events in the audit log', registers: [this.registry] });
  private readonly blocked = new Counter({
    name: 'labvault_origin_blocked_total',
    help: 'Requests refused because their address is blocked by a containment',
    registers: [this.registry],
  });

  constructor(vault?: Vault) {
    collectDefaultMetrics({ register: this.registry, prefix: 'labvault_' });
    if (!vault) return;
    // Detection and alert delivery keep plain counts (no metrics library in the core); they are
    // mirrored here at scrape time. Labels are rule names and sink kinds, never request values.
    this.mirror(
      'labvault_detection_findings_total',
      'Detection findings by rule and severity (alert or contain)',
      ['rule', 'severity'],
      () =>
        [...vault.detector.counts().findings].map(([key, n]) => {
          const [rule = '', severity = ''] = key.split('\u0000');
          return [{ rule, severity }, n];
        }),
    );
    this.mirror('labvault_detection_reads_total', 'Reads inspected by detection, and those it withheld', ['verdict'], () => {
      const c = vault.detector.counts();
      return [
        [{ verdict: 'inspected' }, c.inspected],
        [{ verdict: 'withheld' }, c.denied],
      ];
    });
    this.mirror('labvault_alerts_total', 'Alerts handed to collectors, by sink and outcome', ['sink', 'outcome'], () =>
      vault.alertCounters.snapshot().map((c) => [{ sink: c.sink, outcome: c.outcome }, c.count]),
    );
    new Gauge({
      name: 'labvault_containments_active',
      help: 'Containments in force (suspended principals)',
      registers: [this.registry],
      collect() {
        this.set(vault.containment.activeCount());
      },
    });
  }

  /** A Prometheus counter following a monotonic count kept elsewhere. */
  private mirror(name: string, help: string, labelNames: string[], read: () => [Record<string, string>, number][]): void {
    const seen = new Map<string, number>();
    new Counter({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        for (const [labels, n] of read()) {
          const key = JSON.stringify(labels);
          const prev = seen.get(key) ?? 0;
          if (n > prev) this.inc(labels, n - prev);
          else if (!seen.has(key)) this.inc(labels, 0);
          seen.set(key, Math.max(prev, n));
        }
      },
    });
  }

  originBlocked(): void {
    this.blocked.inc();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  start(req: FastifyRequest): void {
    this.started.set(req, process.hrtime.bigint());
  }

  finish(req: FastifyRequest, status: number): void {
    const route = req.routeOptions.url ?? 'unmatched';
    this.requests.inc({ method: req.method, route, status: String(status) });
    const t0 = this.started.get(req);
    if (t0 !== undefined) this.duration.observe({ route }, Number(process.hrtime.bigint() - t0) / 1e9);
  }

  authFailure(cause: string): void {
    this.authFailures.inc({ cause });
  }

  rateLimited(_req: FastifyRequest): void {
    this.limited.inc();
  }

  async render(vault: Vault): Promise<string> {
    this.auditSize.set((await vault.store.auditHead()).size);
    return this.registry.metrics();
  }
}

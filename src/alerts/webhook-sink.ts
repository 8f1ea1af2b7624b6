import type { Alert } from '../domain/alert.js';
import type { AlertSink } from '../ports/alert-sink.js';
import { systemClock, type Clock } from '../ports/clock.js';
import { AlertDeliveryError } from './alert-delivery-error.js';

export interface WebhookSinkOptions {
  url: string;
  /** Per attempt, covering connect, request and response headers. */
  timeoutMs?: number;
  /** Attempts in total, first included. */
  maxAttempts?: number;
  /** First backoff; doubles per attempt up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A Retry-After longer than this gives up instead of holding the alert for hours. */
  maxRetryAfterMs?: number;
  /** Extra headers (an `Authorization` for the collector). */
  headers?: Readonly<Record<string, string>>;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1); drives the jitter. */
  random?: () => number;
  /** Resolves Retry-After given as an HTTP date. */
  clock?: Clock;
}

/** The JSON body: a versioned envelope, so receivers can evolve with us. */
export interface WebhookPayload {
  readonly type: 'labvault.alert';
  readonly version: 1;
  readonly alert: Alert;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * POSTs each alert as JSON. Retries network errors, timeouts, 5xx, 408 and 429 with exponential
 * backoff and jitter (equal jitter: half the step fixed, half random, so retries from several nodes
 * spread out but never hammer), honouring Retry-After; any other 4xx is the receiver refusing the
 * alert and is not retried. Attempts are bounded, so a dead collector costs a bounded time.
 */
export class WebhookSink implements AlertSink {
  private readonly url: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly headers: Record<string, string>;
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly clock: Clock;
  private closed = false;

  constructor(o: WebhookSinkOptions) {
    const u = new URL(o.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError('webhook URL must be http(s)');
    this.url = u.href;
    this.timeoutMs = o.timeoutMs ?? 5000;
    this.maxAttempts = Math.max(1, o.maxAttempts ?? 5);
    this.baseDelayMs = o.baseDelayMs ?? 500;
    this.maxDelayMs = o.maxDelayMs ?? 30_000;
    this.maxRetryAfterMs = o.maxRetryAfterMs ?? 120_000;
    this.headers = { 'content-type': 'application/json', 'user-agent': 'labvault-alerts/1', ...(o.headers ?? {}) };
    this.fetch = o.fetch ?? globalThis.fetch;
    this.sleep = o.sleep ?? defaultSleep;
    this.random = o.random ?? Math.random;
    this.clock = o.clock ?? systemClock;
  }

  async send(alert: Alert): Promise<void> {
    if (this.closed) throw new AlertDeliveryError('webhook', 'sink is closed');
    const payload: WebhookPayload = { type: 'labvault.alert', version: 1, alert };
    const body = JSON.stringify(payload);
    let last: string;
    for (let attempt = 1; ; attempt++) {
      let retryAfterMs: number | null = null;
      let cause: unknown;
      try {
        const res = await this.fetch(this.url, {
          method: 'POST',
          headers: { ...this.headers, 'idempotency-key': alert.id },
          body,
          signal: AbortSignal.timeout(this.timeoutMs),
          redirect: 'error',
        });
        // Drain the body so the connection returns to the pool.
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return;
        last = `HTTP ${res.status}`;
        if (!isRetryableStatus(res.status)) throw new AlertDeliveryError('webhook', `refused with ${last}`);
        retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), this.clock.now());
      } catch (e) {
        if (e instanceof AlertDeliveryError) throw e;
        // Network error or timeout. The message may carry the URL; keep it only as the cause.
        last = e instanceof Error && e.name === 'TimeoutError' ? 'timed out' : 'network error';
        cause = e;
      }
      if (attempt >= this.maxAttempts) {
        throw new AlertDeliveryError('webhook', `gave up after ${attempt} attempts (last: ${last})`, { cause });
      }
      if (retryAfterMs !== null && retryAfterMs > this.maxRetryAfterMs) {
        throw new AlertDeliveryError('webhook', `collector asked to retry after ${Math.ceil(retryAfterMs / 1000)} s; gave up`, { cause });
      }
      await this.sleep(Math.max(retryAfterMs ?? 0, this.backoff(attempt)));
    }
  }

  /** Delay before attempt `attempt + 1`: equal jitter over min(max, base · 2^(attempt−1)). */
  backoff(attempt: number): number {
    const step = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(step / 2 + this.random() * (step / 2));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/** Retry-After as delay-seconds or an HTTP date (RFC 9110 §10.2.3); null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: Date): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // Only an HTTP date (IMF-fixdate or the obsolete forms, all ending in GMT): Date.parse alone
  // would read `-5` as a year.
  if (!/^[A-Za-z]{3,9},? .*\bGMT$/.test(v)) return null;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now.getTime());
}

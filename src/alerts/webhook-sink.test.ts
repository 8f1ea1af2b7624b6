import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAlert } from '../domain/alert.js';
import { AlertDeliveryError } from './alert-delivery-error.js';
import { WebhookSink, parseRetryAfter, type WebhookPayload } from './webhook-sink.js';

const alert = createAlert(
  {
    severity: 'critical',
    rule: 'canary.touch',
    principal: 'tech-17',
    tenant: 'lab-west',
    summary: 'canary patient read',
    counts: { patients: 1 },
    containment: 'suspend-principal',
  },
  { id: '5d1f0c2a-9e8b-4c7d-b6a5-f4e3d2c1b0a9', time: new Date('2026-03-01T08:00:00.000Z') },
);

interface Scripted {
  status: number;
  headers?: Record<string, string>;
  /** Accept the request but never answer (client timeout). */
  hang?: boolean;
}

interface Received {
  method: string | undefined;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** A loopback receiver answering with `script` in order (the last entry repeats). */
async function receiver(script: Scripted[]): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const step = script[Math.min(received.length - 1, script.length - 1)] ?? { status: 200 };
      if (step.hang) return;
      res.writeHead(step.status, step.headers).end(step.status >= 400 ? 'nope' : 'ok');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/alerts?token=s3cret`, received };
}

function sink(url: string, extra: Partial<ConstructorParameters<typeof WebhookSink>[0]> = {}) {
  const sleeps: number[] = [];
  const s = new WebhookSink({
    url,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    maxAttempts: 5,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    clock: { now: () => new Date('2026-03-01T08:00:00.000Z') },
    ...extra,
  });
  return { s, sleeps };
}

describe('WebhookSink', () => {
  it('POSTs the alert as a versioned JSON envelope', async () => {
    const r = await receiver([{ status: 204 }]);
    const { s, sleeps } = sink(r.url);
    await s.send(alert);
    expect(r.received).toHaveLength(1);
    const got = r.received[0]!;
    expect(got.method).toBe('POST');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['idempotency-key']).toBe(alert.id);
    const payload = JSON.parse(got.body) as WebhookPayload;
    expect(payload).toEqual({ type: 'labvault.alert', version: 1, alert });
    expect(sleeps).toEqual([]);
  });

  it('retries 503s with exponential backoff and jitter, then succeeds', async () => {
    const r = await receiver([{ status: 503 }, { status: 502 }, { status: 500 }, { status: 200 }]);
    const { s, sleeps } = sink(r.url);
    await s.send(alert);
    expect(r.received).toHaveLength(4);
    // Equal jitter with random 0.5: 3/4 of 100, 200, 400.
    expect(sleeps).toEqual([75, 150, 300]);
    // Every attempt carries the same body and idempotency key, so the receiver can de-duplicate.
    expect(new Set(r.received.map((x) => x.body)).size).toBe(1);
  });

  it('jitter stays within [step/2, step] and the step is capped', () => {
    const lo = sink('http://127.0.0.1:1/', { random: () => 0 }).s;
    const hi = sink('http://127.0.0.1:1/', { random: () => 0.999999 }).s;
    expect([1, 2, 3, 4, 5, 6].map((n) => lo.backoff(n))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5, 6].map((n) => hi.backoff(n))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('honours Retry-After on 429 (seconds and HTTP date)', async () => {
    const r = await receiver([
      { status: 429, headers: { 'retry-after': '7' } },
      { status: 429, headers: { 'retry-after': 'Sun, 01 Mar 2026 08:00:03 GMT' } },
      { status: 200 },
    ]);
    const { s, sleeps } = sink(r.url);
    await s.send(alert);
    expect(r.received).toHaveLength(3);
    expect(sleeps).toEqual([7000, 3000]);
  });

  it('never waits less than its own backoff when Retry-After is shorter', async () => {
    const r = await receiver([{ status: 503, headers: { 'retry-after': '0' } }, { status: 200 }]);
    const { s, sleeps } = sink(r.url);
    await s.send(alert);
    expect(sleeps).toEqual([75]);
  });

  it('gives up when Retry-After exceeds the limit', async () => {
    const r = await receiver([{ status: 503, headers: { 'retry-after': '3600' } }]);
    const { s, sleeps } = sink(r.url);
    await expect(s.send(alert)).rejects.toThrow(/retry after 3600 s; gave up/);
    expect(r.received).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('does not retry other 4xx', async () => {
    for (const status of [400, 401, 403, 404, 413]) {
      const r = await receiver([{ status }]);
      const { s, sleeps } = sink(r.url);
      await expect(s.send(alert)).rejects.toThrow(new AlertDeliveryError('webhook', `refused with HTTP ${status}`));
      expect(r.received).toHaveLength(1);
      expect(sleeps).toEqual([]);
    }
  });

  it('bounds attempts and never puts the URL (with its token) in the error', async () => {
    const r = await receiver([{ status: 503 }]);
    const { s, sleeps } = sink(r.url, { maxAttempts: 3 });
    const err = await s.send(alert).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AlertDeliveryError);
    expect((err as Error).message).toBe('webhook: gave up after 3 attempts (last: HTTP 503)');
    expect((err as Error).message).not.toMatch(/s3cret|127\.0\.0\.1/);
    expect(r.received).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
  });

  it('retries network errors (connection refused)', async () => {
    const r = await receiver([{ status: 200 }]);
    const dead = servers.pop()!;
    dead.closeAllConnections();
    await new Promise((resolve) => dead.close(resolve));
    const { s, sleeps } = sink(r.url, { maxAttempts: 2 });
    await expect(s.send(alert)).rejects.toThrow('webhook: gave up after 2 attempts (last: network error)');
    expect(sleeps).toEqual([75]);
  });

  it('times out a hanging receiver and retries', async () => {
    const r = await receiver([{ status: 200, hang: true }, { status: 200 }]);
    const { s, sleeps } = sink(r.url, { timeoutMs: 200 });
    await s.send(alert);
    expect(r.received).toHaveLength(2);
    expect(sleeps).toEqual([75]);
  });

  it('refuses non-http URLs and sends after close', async () => {
    expect(() => new WebhookSink({ url: 'file:///etc/passwd' })).toThrow(TypeError);
    const { s } = sink('http://127.0.0.1:1/');
    await s.close();
    await expect(s.send(alert)).rejects.toThrow('webhook: sink is closed');
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2026-03-01T08:00:00.000Z');
  it('reads seconds and dates, ignores junk', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 08:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 07:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter('-5', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { createAlert, type Alert } from '../domain/alert.js';
import type { AlertSink } from '../ports/alert-sink.js';
import { AlertCounters } from './alert-counters.js';
import { AlertDeliveryError } from './alert-delivery-error.js';
import { FanoutSink } from './fanout-sink.js';

const alert = createAlert(
  { severity: 'medium', rule: 'baseline.ewma', principal: 'p1', summary: 'above baseline' },
  { id: 'a-1', time: new Date('2026-03-01T08:00:00.000Z') },
);

class Recording implements AlertSink {
  readonly got: Alert[] = [];
  closed = 0;
  constructor(private readonly fail = false) {}
  async send(a: Alert): Promise<void> {
    if (this.fail) throw new AlertDeliveryError('webhook', 'refused with HTTP 400');
    this.got.push(a);
  }
  async close(): Promise<void> {
    this.closed++;
  }
}

describe('FanoutSink', () => {
  it('delivers to every sink even when one fails, and counts per kind', async () => {
    const ok = new Recording();
    const bad = new Recording(true);
    const errors: [string, unknown][] = [];
    const f = new FanoutSink(
      [
        { kind: 'webhook', sink: bad },
        { kind: 'syslog', sink: ok },
      ],
      { onError: (k, e) => errors.push([k, e]) },
    );
    expect(f.counters.snapshot()).toEqual([
      { sink: 'syslog', outcome: 'failed', count: 0 },
      { sink: 'syslog', outcome: 'sent', count: 0 },
      { sink: 'webhook', outcome: 'failed', count: 0 },
      { sink: 'webhook', outcome: 'sent', count: 0 },
    ]);
    await f.send(alert);
    const results = await f.deliver(alert);
    expect(ok.got).toEqual([alert, alert]);
    expect(results.map((r) => [r.kind, r.ok])).toEqual([
      ['webhook', false],
      ['syslog', true],
    ]);
    expect(f.counters.get('webhook', 'failed')).toBe(2);
    expect(f.counters.get('webhook', 'sent')).toBe(0);
    expect(f.counters.get('syslog', 'sent')).toBe(2);
    expect(errors.map(([k, e]) => [k, (e as Error).message])).toEqual([
      ['webhook', 'webhook: refused with HTTP 400'],
      ['webhook', 'webhook: refused with HTTP 400'],
    ]);
  });

  it('does not wait on a slow sink to deliver to the others', async () => {
    const ok = new Recording();
    let release: () => void = () => undefined;
    const slow: AlertSink = { send: () => new Promise<void>((r) => (release = r)), close: async () => undefined };
    const f = new FanoutSink([
      { kind: 'webhook', sink: slow },
      { kind: 'syslog', sink: ok },
    ]);
    const p = f.send(alert);
    await Promise.resolve();
    expect(ok.got).toHaveLength(1);
    release();
    await p;
    expect(f.counters.get('webhook', 'sent')).toBe(1);
  });

  it('survives a throwing error hook, shares counters, closes every sink', async () => {
    const counters = new AlertCounters();
    const a = new Recording(true);
    const b = new Recording();
    const f = new FanoutSink(
      [
        { kind: 'webhook', sink: a },
        { kind: 'syslog', sink: b },
      ],
      {
        counters,
        onError: () => {
          throw new Error('log down');
        },
      },
    );
    await expect(f.send(alert)).resolves.toBeUndefined();
    expect(counters.get('webhook', 'failed')).toBe(1);
    await f.close();
    expect([a.closed, b.closed]).toEqual([1, 1]);
  });

  it('with no sinks, send is a no-op', async () => {
    const f = new FanoutSink([]);
    expect(f.size).toBe(0);
    await f.send(alert);
    expect(f.counters.snapshot()).toEqual([]);
  });
});

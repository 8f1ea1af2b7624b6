import type { Alert } from '../domain/alert.js';
import type { AlertSink } from '../ports/alert-sink.js';
import { AlertCounters } from './alert-counters.js';

export interface NamedSink {
  /** Sink kind, the counters' label (`webhook`, `syslog`). */
  readonly kind: string;
  readonly sink: AlertSink;
}

export interface SinkResult {
  readonly kind: string;
  readonly ok: boolean;
  readonly error?: unknown;
}

export interface FanoutOptions {
  counters?: AlertCounters;
  /** Called for each failed delivery (for the log); must not throw. */
  onError?: (kind: string, error: unknown) => void;
}

/**
 * Sends each alert to every sink in parallel. One failing or slow sink does not stop the others;
 * every delivery is counted as sent or failed per sink kind. `send` never rejects: an alert that
 * could not be delivered anywhere is still in the audit log, and a collector outage must not turn
 * into errors for the request that triggered detection.
 */
export class FanoutSink implements AlertSink {
  readonly counters: AlertCounters;
  private readonly onError: (kind: string, error: unknown) => void;

  constructor(
    private readonly sinks: readonly NamedSink[],
    options: FanoutOptions = {},
  ) {
    this.counters = options.counters ?? new AlertCounters();
    this.onError = options.onError ?? (() => undefined);
    for (const s of sinks) this.counters.declare(s.kind);
  }

  get size(): number {
    return this.sinks.length;
  }

  async send(alert: Alert): Promise<void> {
    await this.deliver(alert);
  }

  /** Like `send`, with the outcome per sink. */
  async deliver(alert: Alert): Promise<SinkResult[]> {
    const settled = await Promise.allSettled(this.sinks.map((s) => s.sink.send(alert)));
    return settled.map((r, i) => {
      const kind = this.sinks[i]?.kind ?? 'unknown';
      if (r.status === 'fulfilled') {
        this.counters.record(kind, 'sent');
        return { kind, ok: true };
      }
      this.counters.record(kind, 'failed');
      try {
        this.onError(kind, r.reason as unknown);
      } catch {
        // A broken log hook must not break delivery to the other sinks.
      }
      const error: unknown = r.reason;
      return { kind, ok: false, error };
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.sinks.map((s) => s.sink.close()));
  }
}

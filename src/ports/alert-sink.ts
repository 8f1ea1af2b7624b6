import type { Alert } from '../domain/alert.js';

/**
 * Where alerts go: a webhook, a syslog collector, several at once. `send` resolves once the alert
 * was handed over (HTTP 2xx, datagram sent, TCP write flushed) and rejects when it could not be,
 * after the adapter's own retries. Callers in the request path must not await delivery to a slow
 * collector before answering: containment decides, alerts report.
 */
export interface AlertSink {
  send(alert: Alert): Promise<void>;
  /** Releases sockets; further sends fail. Idempotent. */
  close(): Promise<void>;
}

import type { AlertsConfig } from '../config.js';
import { AlertCounters } from './alert-counters.js';
import { FanoutSink, type NamedSink } from './fanout-sink.js';
import { SyslogSink, type SyslogSinkOptions } from './syslog-sink.js';
import { WebhookSink, type WebhookSinkOptions } from './webhook-sink.js';

export interface AlertSinkDeps {
  counters?: AlertCounters;
  onError?: (kind: string, error: unknown) => void;
  /** Test seams and tuning passed through to the adapters. */
  webhook?: Omit<WebhookSinkOptions, 'url'>;
  syslog?: Omit<SyslogSinkOptions, 'transport' | 'host' | 'port' | 'format'>;
}

/**
 * Builds the alert fanout from configuration: a webhook sink when `LABVAULT_ALERT_WEBHOOK_URL` is
 * set, a syslog sink when `LABVAULT_ALERT_SYSLOG` is. With neither, the fanout has no sinks and
 * `send` does nothing (alerts are still audit events). Counted per sink kind in `counters`.
 */
export function createAlertSinks(config: AlertsConfig, deps: AlertSinkDeps = {}): FanoutSink {
  const sinks: NamedSink[] = [];
  if (config.webhookUrl !== null) sinks.push({ kind: 'webhook', sink: new WebhookSink({ ...deps.webhook, url: config.webhookUrl }) });
  if (config.syslog !== null) {
    const { transport, host, port, format } = config.syslog;
    sinks.push({ kind: 'syslog', sink: new SyslogSink({ ...deps.syslog, transport, host, port, format }) });
  }
  return new FanoutSink(sinks, { counters: deps.counters ?? new AlertCounters(), onError: deps.onError });
}

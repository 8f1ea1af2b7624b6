/**
 * An alert could not be handed to a collector. Not a VaultError: it never reaches a client (the
 * fanout counts it and reports it to the log hook), so it needs no code for the API's mapping.
 * Messages never carry the collector's URL (it may hold a token) nor alert content.
 */
export class AlertDeliveryError extends Error {
  /** Sink kind: `webhook`, `syslog`. */
  readonly sink: string;
  constructor(sink: string, message: string, options?: { cause?: unknown }) {
    super(`${sink}: ${message}`, options);
    this.name = 'AlertDeliveryError';
    this.sink = sink;
  }
}

/**
 * Delivery counts per sink kind, kept here rather than in prom-client so the alert adapters need no
 * metrics registry; `ApiMetrics` can read `snapshot()` in a collect callback and expose them as
 * `labvault_alerts_total{sink,outcome}`. Labels are sink kinds only, never alert content.
 */
export const AlertOutcomes = ['sent', 'failed'] as const;
export type AlertOutcome = (typeof AlertOutcomes)[number];

export interface AlertCount {
  readonly sink: string;
  readonly outcome: AlertOutcome;
  readonly count: number;
}

/** The read side, for the metrics endpoint. */
export interface AlertCounterSource {
  /** Every (sink, outcome) pair seen so far, sorted; counts only ever grow. */
  snapshot(): AlertCount[];
}

export class AlertCounters implements AlertCounterSource {
  private readonly counts = new Map<string, number>();

  record(sink: string, outcome: AlertOutcome): void {
    const key = `${sink}\u0000${outcome}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Pre-registers a sink so its counters read 0 before the first alert (Prometheus prefers that). */
  declare(sink: string): void {
    for (const outcome of AlertOutcomes) {
      const key = `${sink}\u0000${outcome}`;
      if (!this.counts.has(key)) this.counts.set(key, 0);
    }
  }

  get(sink: string, outcome: AlertOutcome): number {
    return this.counts.get(`${sink}\u0000${outcome}`) ?? 0;
  }

  snapshot(): AlertCount[] {
    return [...this.counts]
      .map(([key, count]) => {
        const [sink = '', outcome = 'sent'] = key.split('\u0000');
        return { sink, outcome: outcome as AlertOutcome, count };
      })
      .sort((a, b) => (a.sink === b.sink ? a.outcome.localeCompare(b.outcome) : a.sink.localeCompare(b.sink)));
  }
}

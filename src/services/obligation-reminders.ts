import { randomUUID } from 'node:crypto';
import { createAlert } from '../domain/alert.js';
import { bsnFreeId } from '../domain/validate-resource.js';
import type { AccessContext } from '../domain/principal.js';
import type { Obligation } from '../incidents/obligations.js';
import type { AlertSink } from '../ports/alert-sink.js';
import type { Clock } from '../ports/clock.js';
import type { IncidentRegister } from './incident-register.js';

/** The automated actor that reminds, in the audit log. */
const REMINDER_CTX: AccessContext = {
  principal: { id: 'labvault-incidents', role: 'security-officer', tenants: ['*'] },
  purpose: 'HOPERAT',
  origin: { ip: null, userAgent: 'labvault-reminders', requestId: null },
};

/** Reminder stages: half the window gone, two hours left, overdue. */
export type ReminderStage = 'half' | '2h' | 'late';

/**
 * Reminds the lab of its notice deadlines through the alert sinks: when half of an obligation's
 * window has passed, when two hours are left, and once it is late — each stage once per
 * obligation, recorded with the incident (audited), so a restart or a second node does not repeat
 * it. Obligations sent, withdrawn, or found not to apply are not reminded.
 */
export class ObligationReminders {
  constructor(
    private readonly register: IncidentRegister,
    private readonly sink: AlertSink | null,
    private readonly clock: Clock,
    private readonly onError: (what: string, e: unknown) => void,
  ) {}

  /** One pass over the open incidents; returns the reminders sent. */
  async tick(): Promise<{ incident: string; obligation: string; stage: ReminderStage }[]> {
    const now = this.clock.now().getTime();
    const sent: { incident: string; obligation: string; stage: ReminderStage }[] = [];
    for (const incident of await this.register.list()) {
      if (incident.status !== 'open') continue;
      const done = (incident.doc.reminders as Record<string, ReminderStage[]> | undefined) ?? {};
      for (const o of await this.register.obligations(incident.id)) {
        const stage = stageOf(o, now);
        if (stage === null || (done[o.id] ?? []).includes(stage)) continue;
        await this.register.recordReminder(REMINDER_CTX, incident.id, o.id, stage);
        this.alert(incident.id, o, stage);
        sent.push({ incident: incident.id, obligation: o.id, stage });
      }
    }
    return sent;
  }

  private alert(incidentId: string, o: Obligation, stage: ReminderStage): void {
    if (!this.sink) return;
    const when = stage === 'late' ? 'is overdue' : stage === '2h' ? 'is due within two hours' : 'has used half of its time';
    try {
      const alert = createAlert(
        {
          severity: stage === 'late' ? 'critical' : stage === '2h' ? 'high' : 'medium',
          rule: `obligation.${stage === '2h' ? 'due-soon' : stage}`,
          principal: 'labvault-incidents',
          tenant: o.tenant,
          summary: `${o.regime} notice ${when}`,
          incidentId,
        },
        { id: bsnFreeId(randomUUID), time: this.clock.now() },
      );
      this.sink.send(alert).catch((e: unknown) => this.onError('reminder delivery failed', e));
    } catch (e) {
      this.onError('reminder not built', e);
    }
  }
}

/** The latest stage the obligation has reached now, or null (nothing to remind). */
export function stageOf(o: Obligation, now: number): ReminderStage | null {
  if (o.state === 'sent' || o.state === 'withdrawn' || o.applies === false || o.anchorAt === null || o.dueAt === null) return null;
  const start = Date.parse(o.anchorAt);
  const due = Date.parse(o.dueAt);
  if (now > due) return 'late';
  if (due - now <= 2 * 3_600_000) return '2h';
  if (now - start >= (due - start) / 2) return 'half';
  return null;
}

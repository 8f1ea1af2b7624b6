import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.js';
import type { DetectionConfig } from '../detection/detection-config.js';
import type { ContainmentPort } from '../detection/detector.js';
import type { PrincipalActivity } from '../detection/principal-activity.js';
import { createAlert, type AlertSeverity, type ContainmentAction } from '../domain/alert.js';
import type { Finding, Observation } from '../domain/detection.js';
import { AccessDenied, Conflict, InvalidInput, NotFound } from '../domain/errors.js';
import type { AccessContext } from '../domain/principal.js';
import { bsnFreeId, containsBsnLike } from '../domain/validate-resource.js';
import type { AlertSink } from '../ports/alert-sink.js';
import type { Clock } from '../ports/clock.js';
import type { ContainmentRow, DetectionStore, IncidentRow, ReleaseOutcome } from '../ports/detection-store.js';

/** The automated actor of containment decisions in the audit log. */
export const DETECTION_PRINCIPAL = { id: 'labvault-detection', role: 'security-officer', tenants: ['*'] } as const;

/** How often a node re-reads active containments others may have made (several nodes, one database). */
const REFRESH_MS = 2000;

export interface ReleaseResult extends ReleaseOutcome {
  containment: ContainmentRow;
}

/**
 * Surgical containment: the principal is suspended (every token and API key it holds fails from
 * its next request, because authentication checks its status on every request), its origin is
 * blocked unless allow-listed, and the tenant's exports are frozen when the rule says so — and
 * nobody else is touched. The incident, the containment, the suspension and their audit events
 * commit in one transaction before the read that caused them is answered. Release takes a security
 * officer other than the contained principal, with a reason; two different officers after a canary.
 */
export class ContainmentService implements ContainmentPort {
  /** principal id → active containment id (also set before the containment commits: fail closed). */
  private readonly held = new Map<string, string>();
  private readonly origins = new Map<string, string>();
  private readonly frozen = new Map<string, string>();
  private loadedAt = -Infinity;
  private loading: Promise<void> | null = null;
  private readonly lastAlert = new Map<string, number>();

  constructor(
    private readonly store: DetectionStore,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly config: DetectionConfig,
    private readonly sink: AlertSink | null,
    private readonly onError: (what: string, e: unknown) => void,
    private readonly onRelease: (principalId: string) => void,
  ) {}

  /** Re-reads active containments when the last read is older than the refresh interval. */
  async refresh(force = false): Promise<void> {
    if (!force && this.clock.now().getTime() - this.loadedAt < REFRESH_MS) return;
    this.loading ??= (async () => {
      try {
        const active = await this.store.activeContainments();
        const held = new Map<string, string>();
        const origins = new Map<string, string>();
        const frozen = new Map<string, string>();
        for (const c of active) {
          held.set(c.principalId, c.id);
          if (c.originIp !== null) origins.set(c.originIp, c.id);
          for (const t of c.frozenTenants) frozen.set(t, c.id);
        }
        // A containment this node made but has not read back yet stays in force.
        for (const [p, id] of this.held) if (!held.has(p) && !(await this.isReleased(id))) held.set(p, id);
        this.replace(this.held, held);
        this.replace(this.origins, origins);
        this.replace(this.frozen, frozen);
        this.loadedAt = this.clock.now().getTime();
      } finally {
        this.loading = null;
      }
    })();
    await this.loading;
  }

  /** Containments in force as this node knows them. */
  activeCount(): number {
    return this.held.size;
  }

  activeFor(principalId: string): string | null {
    return this.held.get(principalId) ?? null;
  }

  /** The containment blocking this client address, if any. */
  originBlocked(ip: string | null): string | null {
    return ip === null ? null : (this.origins.get(ip) ?? null);
  }

  /** The containment freezing this tenant's exports, if any. */
  exportsFrozen(tenantId: string): string | null {
    return this.frozen.get(tenantId) ?? null;
  }

  async contain(
    obs: Observation,
    findings: readonly Finding[],
    activity: PrincipalActivity,
  ): Promise<{ containmentId: string; incidentId: string }> {
    const pid = obs.principal.id;
    const existing = this.held.get(pid);
    if (existing !== undefined) return { containmentId: existing, incidentId: '' };
    const containmentId = bsnFreeId(() => `con-${randomUUID()}`);
    const incidentId = bsnFreeId(() => `inc-${randomUUID()}`);
    // Before any await: every other in-flight read of this principal is refused from now on.
    this.held.set(pid, containmentId);
    const decisive = findings.filter((f) => f.severity === 'contain');
    const first = decisive[0] as Finding;
    const approvals = decisive.some((f) => f.approvalsRequired === 2) ? 2 : 1;
    const freeze = decisive.some((f) => f.freezeExports);
    const origin = obs.ip !== null && !this.config.originAllowlist.includes(obs.ip) ? obs.ip : null;
    const now = this.clock.now();
    const exposedToday = activity.day.size(obs.at);
    const incident: IncidentRow = {
      id: incidentId,
      openedAt: now.toISOString(),
      source: 'detection',
      trigger: first.rule,
      principalId: pid,
      tenants: [obs.tenant],
      windowStart: new Date(activity.firstSeen ?? obs.at).toISOString(),
      windowEnd: new Date(obs.at).toISOString(),
      status: 'open',
      doc: {
        containment: containmentId,
        findings: decisive.map((f) => ({ rule: f.rule, summary: f.summary, measured: f.measured, threshold: f.threshold })),
        exposure: { patients_last_day: exposedToday, withheld_records: obs.records },
        origin_ip: obs.ip,
      },
    };
    const row: ContainmentRow = {
      id: containmentId,
      incidentId,
      principalId: pid,
      originIp: origin,
      frozenTenants: freeze ? [obs.tenant] : [],
      rule: first.rule,
      approvalsRequired: approvals,
      state: 'active',
      createdAt: now.toISOString(),
      releasedAt: null,
    };
    const ctx = this.actor(obs);
    const detail = { subject: pid, rule: first.rule, containment: containmentId, incident: incidentId };
    const events = [
      this.audit.event(ctx, {
        action: 'incident.open',
        tenant: obs.tenant,
        detail: { incident: incidentId, trigger: first.rule, subject: pid },
      }),
      this.audit.event(ctx, {
        action: 'detection.contain',
        tenant: obs.tenant,
        detail: {
          ...detail,
          measured: first.measured,
          threshold: first.threshold,
          origin_blocked: origin !== null,
          exports_frozen: freeze,
          approvals_required: approvals,
        },
      }),
      this.audit.event(ctx, { action: 'principal.suspend', tenant: obs.tenant, detail }),
    ];
    await this.audit.ready();
    await this.store.contain(incident, row, `contained by ${containmentId} (${first.rule})`, events);
    await this.audit.committed();
    if (origin !== null) this.origins.set(origin, containmentId);
    if (freeze) this.frozen.set(obs.tenant, containmentId);
    // The alert names the action every containment takes; origin block and export freeze are in
    // the incident and the audit event.
    const action: ContainmentAction = 'suspend-principal';
    this.send(obs, first, first.rule === 'canary.touch' ? 'critical' : 'high', action, incidentId, activity);
    return { containmentId, incidentId };
  }

  alert(obs: Observation, findings: readonly Finding[], activity: PrincipalActivity): void {
    const now = obs.at;
    for (const f of findings) {
      const key = `${obs.principal.id}\u0000${f.rule}`;
      const last = this.lastAlert.get(key);
      if (last !== undefined && now - last < this.config.alertQuietSeconds * 1000) continue;
      this.lastAlert.set(key, now);
      const event = this.audit.event(this.actor(obs), {
        action: 'detection.alert',
        tenant: obs.tenant,
        reason: null,
        detail: { subject: obs.principal.id, rule: f.rule, measured: f.measured, threshold: f.threshold },
      });
      this.audit.record([event]).catch((e: unknown) => this.onError('alert audit event failed', e));
      this.send(obs, f, f.rule.startsWith('baseline') || f.rule.startsWith('unexplained') ? 'medium' : 'low', null, null, activity);
    }
  }

  /**
   * One security officer's release of a containment, with a reason. The contained principal
   * cannot release itself; a canary containment needs a second, different officer.
   */
  async release(ctx: AccessContext, containmentId: string, reason: string): Promise<ReleaseResult> {
    if (ctx.principal.role !== 'security-officer') throw new AccessDenied('only a security officer releases a containment');
    const why = reason.trim();
    if (why.length < 3 || why.length > 500) throw new InvalidInput('reason: 3–500 characters saying why the release is safe');
    if (containsBsnLike(why)) throw new InvalidInput('reason: must not contain an identifier');
    const c = await this.store.getContainment(containmentId);
    if (!c) throw new NotFound('no such containment');
    if (c.principalId === ctx.principal.id) throw new AccessDenied('a contained principal cannot release itself');
    const at = this.clock.now().toISOString();
    await this.audit.ready();
    const outcome = await this.store.approveRelease({ containmentId, officerId: ctx.principal.id, reason: why, at }, (o) => {
      const detail = { containment: containmentId, subject: c.principalId, approvals: o.approvals, required: c.approvalsRequired };
      const events = [
        this.audit.event(ctx, {
          action: 'containment.approve',
          outcome: o.found && o.counted ? 'allowed' : 'denied',
          reason: o.found ? (o.counted ? null : 'conflict') : 'not-found',
          detail,
        }),
      ];
      if (o.released) {
        events.push(this.audit.event(ctx, { action: 'containment.release', detail }));
        events.push(this.audit.event(ctx, { action: 'principal.release', detail: { subject: c.principalId, containment: containmentId } }));
      }
      return events;
    });
    await this.audit.committed();
    if (!outcome.found) throw new Conflict('the containment is not active');
    if (!outcome.counted) throw new Conflict('this officer has already approved the release; another officer must approve');
    if (outcome.released) {
      await this.refresh(true);
      if (this.held.get(c.principalId) === containmentId) this.held.delete(c.principalId);
      this.onRelease(c.principalId);
    }
    return { ...outcome, containment: (await this.store.getContainment(containmentId)) ?? c };
  }

  private actor(obs: Observation): AccessContext {
    return {
      principal: { ...DETECTION_PRINCIPAL, tenants: ['*'] },
      purpose: 'HOPERAT',
      origin: { ip: obs.ip, userAgent: 'labvault-detection', requestId: null },
    };
  }

  private send(
    obs: Observation,
    f: Finding,
    severity: AlertSeverity,
    containment: ContainmentAction | null,
    incidentId: string | null,
    a: PrincipalActivity,
  ): void {
    if (!this.sink) return;
    try {
      const alert = createAlert(
        {
          severity,
          rule: f.rule,
          principal: obs.principal.id,
          tenant: obs.tenant,
          originIp: obs.ip,
          summary: f.summary,
          counts: { patients: a.day.size(obs.at), records: obs.records, bytes: obs.bytes, requests: 1 },
          containment,
          incidentId,
        },
        { id: bsnFreeId(randomUUID), time: this.clock.now() },
      );
      this.sink.send(alert).catch((e: unknown) => this.onError('alert delivery failed', e));
    } catch (e) {
      this.onError('alert not built', e);
    }
  }

  private async isReleased(id: string): Promise<boolean> {
    const c = await this.store.getContainment(id);
    return c !== null && c.state === 'released';
  }

  private replace(target: Map<string, string>, source: Map<string, string>): void {
    target.clear();
    for (const [k, v] of source) target.set(k, v);
  }
}

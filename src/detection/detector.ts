import type { Finding, Observation, Verdict } from '../domain/detection.js';
import type { Clock } from '../ports/clock.js';
import type { BaselineRow, DetectionStore } from '../ports/detection-store.js';
import type { CanaryIndex } from './canary-index.js';
import type { DetectionConfig } from './detection-config.js';
import type { Explainer } from './explainer.js';
import { LocalClock } from './local-time.js';
import { PrincipalActivity } from './principal-activity.js';
import { ALL_RULES } from './rules/all-rules.js';
import type { DetectionRule, RuleContext } from './rules/rule-context.js';

/** What the detector asks of containment (services/containment-service.ts implements it). */
export interface ContainmentPort {
  /** The active containment holding this principal, if any (in-flight requests meet it too). */
  activeFor(principalId: string): string | null;
  /** Contains now: suspension, origin block, export freeze, incident, audit events, alert. */
  contain(
    obs: Observation,
    findings: readonly Finding[],
    activity: PrincipalActivity,
  ): Promise<{ containmentId: string; incidentId: string }>;
  /** Sends alert-level findings out (never awaited by a read). */
  alert(obs: Observation, findings: readonly Finding[], activity: PrincipalActivity): void;
}

/** Counts for /metrics, by rule and severity. */
export interface DetectionCounts {
  readonly inspected: number;
  readonly denied: number;
  readonly findings: ReadonlyMap<string, number>;
}

const ALLOW: Verdict = Object.freeze({ allowed: true, findings: [], containmentId: null, incidentId: null });

/**
 * The detection engine, called by every read after the data is decrypted and before its audit
 * event is written and its response leaves. It looks up what needs I/O first (canaries, order
 * book, origins, baselines), then judges and records synchronously, so two concurrent reads of one
 * principal cannot both slip under a cap. A contain finding (in enforce mode) withholds the
 * response and contains the principal before the verdict returns; alert findings go out
 * asynchronously and the read proceeds. In monitor mode everything is judged and alerted, nothing
 * is contained (for tuning thresholds on live traffic).
 */
export class Detector {
  private readonly activities = new Map<string, PrincipalActivity>();
  private readonly local: LocalClock;
  private inspected = 0;
  private denied = 0;
  private readonly findingCounts = new Map<string, number>();

  constructor(
    readonly config: DetectionConfig,
    private readonly clock: Clock,
    private readonly canaries: CanaryIndex,
    private readonly explainer: Explainer,
    private readonly store: Pick<DetectionStore, 'loadBaselines' | 'saveBaselines' | 'recordOrigin' | 'hasOrigins'>,
    private readonly containment: ContainmentPort,
    private readonly onError: (what: string, e: unknown) => void = () => undefined,
    private readonly rules: readonly DetectionRule[] = ALL_RULES,
  ) {
    this.local = new LocalClock(config.offHours.timeZone);
  }

  get enabled(): boolean {
    return this.config.mode !== 'off';
  }

  now(): number {
    return this.clock.now().getTime();
  }

  async inspect(obs: Observation): Promise<Verdict> {
    if (this.config.mode === 'off') return ALLOW;
    this.inspected++;
    const pid = obs.principal.id;
    const held = this.containment.activeFor(pid);
    if (held !== null) return this.deny([], held, null);
    const activity = await this.activity(pid);
    const unexplained =
      obs.kind === 'export' || obs.patients.length === 0 ? [] : await this.explainer.unexplained(obs.tenant, obs.patients, obs.at);
    const newOrigin = obs.ip !== null && !activity.origins.has(obs.ip) ? await this.originIsNew(activity, obs.ip, obs.at) : false;

    // Synchronous from here on: judge and record as one step.
    const heldNow = this.containment.activeFor(pid);
    if (heldNow !== null) return this.deny([], heldNow, null);
    const b = this.config.baseline;
    const closed = activity.roll(obs.at, b.windowSeconds * 1000, b.alpha, (ms) => this.local.at(ms).hourOfWeek);
    if (closed.length > 0) this.persist(pid, closed);
    const lt = this.local.at(obs.at);
    const ctx: RuleContext = {
      obs,
      activity,
      limits: this.config.roles[obs.principal.role],
      config: this.config,
      canaries: obs.kind === 'export' ? 0 : this.canaries.count(obs.tenant, obs.patients),
      unexplained,
      newOrigin,
      localHour: lt.hour,
      weekend: lt.weekend,
      hourOfWeek: activity.windowHour,
    };
    const findings: Finding[] = [];
    for (const rule of this.rules) {
      const f = rule(ctx);
      if (f) findings.push(f);
    }
    for (const f of findings)
      this.findingCounts.set(`${f.rule}\u0000${f.severity}`, (this.findingCounts.get(`${f.rule}\u0000${f.severity}`) ?? 0) + 1);
    if (this.config.mode === 'enforce' && findings.some((f) => f.severity === 'contain')) {
      const { containmentId, incidentId } = await this.containment.contain(obs, findings, activity);
      return this.deny(findings, containmentId, incidentId);
    }
    activity.commit(obs, unexplained, this.config.enumeration.sequentialGap);
    if (findings.length > 0) this.containment.alert(obs, findings, activity);
    return findings.length === 0 ? ALLOW : { allowed: true, findings, containmentId: null, incidentId: null };
  }

  counts(): DetectionCounts {
    return { inspected: this.inspected, denied: this.denied, findings: new Map(this.findingCounts) };
  }

  /** Activity of a principal (tests and the drill read it; containment reads its window). */
  peek(principalId: string): PrincipalActivity | undefined {
    return this.activities.get(principalId);
  }

  /** Forgets a released principal's counts, so its next read starts afresh. */
  forget(principalId: string): void {
    const a = this.activities.get(principalId);
    if (!a) return;
    const fresh = new PrincipalActivity(principalId);
    // Its baselines and origins are history, not counts: kept.
    for (const [h, e] of a.baselines) fresh.baselines.set(h, e);
    fresh.baselinesLoaded = a.baselinesLoaded;
    for (const o of a.origins) fresh.origins.add(o);
    this.activities.set(principalId, fresh);
  }

  private deny(findings: readonly Finding[], containmentId: string, incidentId: string | null): Verdict {
    this.denied++;
    return { allowed: false, findings, containmentId, incidentId };
  }

  private async activity(pid: string): Promise<PrincipalActivity> {
    let a = this.activities.get(pid);
    if (!a) {
      a = new PrincipalActivity(pid);
      this.activities.set(pid, a);
    }
    if (!a.baselinesLoaded) {
      const rows = await this.store.loadBaselines(pid);
      if (!a.baselinesLoaded) {
        for (const r of rows) a.baselines.set(r.hourOfWeek, { mean: r.mean, variance: r.variance, samples: r.samples });
        a.baselinesLoaded = true;
      }
    }
    return a;
  }

  private async originIsNew(a: PrincipalActivity, ip: string, at: number): Promise<boolean> {
    const hadOthers = a.origins.size > 0 || (await this.store.hasOrigins(a.principalId));
    const first = await this.store.recordOrigin(a.principalId, ip, new Date(at).toISOString());
    const isNew = !a.origins.has(ip) && first && hadOthers;
    a.origins.add(ip);
    return isNew;
  }

  private persist(
    principalId: string,
    closed: readonly { hourOfWeek: number; ewma: { mean: number; variance: number; samples: number } }[],
  ): void {
    const at = this.clock.now().toISOString();
    const latest = new Map<number, BaselineRow>();
    for (const c of closed) latest.set(c.hourOfWeek, { principalId, hourOfWeek: c.hourOfWeek, ...c.ewma, updatedAt: at });
    this.store.saveBaselines([...latest.values()]).catch((e: unknown) => this.onError('baseline save failed', e));
  }
}

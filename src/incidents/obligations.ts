import { InvalidInput } from '../domain/errors.js';
import type { Tenant } from '../domain/tenant.js';
import { BREACH_RULES, BREACH_RULES_VERSION, legalFamily, type BreachRule, type Deadline } from './breach-rules.js';

/**
 * The obligations engine: one obligation per (incident, rule, recipient), chosen by each tenant's
 * jurisdiction and the lab's role for it (processor → tell the controller within the contract's
 * SLA; controller → the authority within 72 h, the subjects when the risk is high), plus the NIS2
 * reports once per incident when it is judged significant. Clocks are continuous hours in UTC
 * (weekends, holidays and DST changes count as the hours they are), shown in Europe/Amsterdam.
 * An obligation's recorded progress (drafted, sent with its phase, withdrawn) lives with the
 * incident; "late" is derived from the clock, and sending late needs a recorded reason.
 */
export type ObligationState = 'pending' | 'drafted' | 'sent' | 'withdrawn';
export type NoticePhase = 'initial' | 'supplementary' | 'final';

/** What the register stores per obligation. */
export interface ObligationRecord {
  state: Exclude<ObligationState, 'pending'>;
  at: string;
  phase: NoticePhase | null;
  reason: string | null;
}

export interface Obligation {
  /** `<rule>:<recipient>`, stable for an incident. */
  id: string;
  rule: string;
  regime: string;
  /** `controller:<tenant>`, `subjects:<tenant>`, `covered-entity:<tenant>`, `authority-nl`, `ico`, `hhs`, `csirt`. */
  recipient: string;
  tenant: string | null;
  /** When the clock started; null while it has not (no awareness yet, or the anchoring notice unsent). */
  anchorAt: string | null;
  /** UTC; null when the law sets no figure or the clock has not started. */
  dueAt: string | null;
  /** The same instant in Europe/Amsterdam, for people. */
  dueLocal: string | null;
  deadline: string;
  /** Applies only if the assessment finds a risk / a high risk (null: always). */
  condition: 'risk' | 'high-risk' | null;
  /** Whether it applies: true without a condition; for a conditional one, what the severity assessment says (null: not assessed yet). */
  applies: boolean | null;
  state: ObligationState;
  late: boolean;
  record: ObligationRecord | null;
  contents: string;
  rulesVersion: string;
}

export interface PlanInput {
  tenants: readonly Tenant[];
  /** Awareness timestamps by actor (`lab`, `significant`, `controller:<tenant>`). */
  awareness: Readonly<Record<string, string>>;
  records: Readonly<Record<string, ObligationRecord>>;
  /** The lab is an essential or important entity under NIS2 (medium/large health provider or lab). */
  nis2Entity: boolean;
  now: Date;
  /** The incident's severity assessment, if made (severity.ts). */
  assessment?: { risk: boolean; highRisk: boolean } | null;
}

export function planObligations(p: PlanInput): Obligation[] {
  const out = new Map<string, Obligation>();
  const add = (rule: BreachRule, recipient: string, tenant: Tenant | null): void => {
    const id = `${rule.id}:${recipient}`;
    if (out.has(id)) return;
    const anchorAt = anchorOf(rule, p, out);
    const dueAt = anchorAt === null ? null : due(anchorAt, rule.deadline, tenant);
    const record = p.records[id] ?? null;
    const state: ObligationState = record?.state ?? 'pending';
    // An obligation the assessment found not to apply cannot be late.
    const off = (rule.when === 'risk' && p.assessment?.risk === false) || (rule.when === 'high-risk' && p.assessment?.highRisk === false);
    const late = !off && dueAt !== null && (state === 'pending' || state === 'drafted') && p.now.getTime() > Date.parse(dueAt);
    out.set(id, {
      id,
      rule: rule.id,
      regime: rule.regime,
      recipient,
      tenant: tenant?.id ?? null,
      anchorAt,
      dueAt,
      dueLocal: dueAt === null ? null : amsterdam(dueAt),
      deadline: describe(rule.deadline, tenant),
      condition: rule.when === 'risk' || rule.when === 'high-risk' ? rule.when : null,
      applies: rule.when === 'risk' ? (p.assessment?.risk ?? null) : rule.when === 'high-risk' ? (p.assessment?.highRisk ?? null) : true,
      state,
      late,
      record,
      contents: rule.contents,
      rulesVersion: BREACH_RULES_VERSION,
    });
  };
  for (const t of [...p.tenants].sort((a, b) => a.id.localeCompare(b.id))) {
    const family = legalFamily(t.jurisdiction);
    for (const rule of BREACH_RULES) {
      if (rule.family !== family || rule.duty === 'entity' || rule.duty !== t.labRole) continue;
      add(rule, perTenant(rule.recipient) ? `${rule.recipient}:${t.id}` : rule.recipient, t);
    }
  }
  // NIS2: once per incident, for an EU entity, once the incident is judged significant.
  const eu = p.tenants.some((t) => legalFamily(t.jurisdiction) === 'EU');
  if (p.nis2Entity && eu && p.awareness.significant !== undefined)
    for (const rule of BREACH_RULES) if (rule.duty === 'entity') add(rule, rule.recipient, null);
  return [...out.values()];
}

/** Checks a state change against the plan: unknown ids refused; a late sending or a withdrawal needs its reason. */
export function checkRecord(o: Obligation, r: ObligationRecord): void {
  if (r.state === 'sent' && o.dueAt !== null && Date.parse(r.at) > Date.parse(o.dueAt) && !r.reason)
    throw new InvalidInput(`${o.id} is sent after its deadline (${o.dueLocal}): a reason for the delay is required`);
  if (r.state === 'withdrawn' && !r.reason) throw new InvalidInput('a withdrawal needs its reason');
  if (o.anchorAt === null && r.state === 'sent') throw new InvalidInput(`${o.id}: its clock has not started (no awareness recorded)`);
}

function perTenant(recipient: BreachRule['recipient']): boolean {
  return recipient === 'controller' || recipient === 'subjects' || recipient === 'covered-entity';
}

function anchorOf(rule: BreachRule, p: PlanInput, planned: Map<string, Obligation>): string | null {
  if (rule.anchor.kind === 'aware') return p.awareness[rule.anchor.actor] ?? null;
  const on = rule.anchor.rule;
  const sent = [...planned.values()].find((o) => o.rule === on)?.record;
  return sent?.state === 'sent' ? sent.at : null;
}

/** Continuous time from the anchor, in UTC; months as calendar months (a short month clamps the day). */
export function due(anchorAt: string, d: Deadline, tenant: Tenant | null): string | null {
  const t = Date.parse(anchorAt);
  switch (d.kind) {
    case 'hours':
      return new Date(t + d.hours * 3_600_000).toISOString();
    case 'sla':
      return new Date(t + (tenant?.breachNoticeSlaHours ?? 24) * 3_600_000).toISOString();
    case 'days':
      return new Date(t + d.days * 86_400_000).toISOString();
    case 'months': {
      const a = new Date(t);
      const y = a.getUTCFullYear();
      const m = a.getUTCMonth() + d.months;
      const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
      const day = Math.min(a.getUTCDate(), last);
      return new Date(Date.UTC(y, m, day, a.getUTCHours(), a.getUTCMinutes(), a.getUTCSeconds(), a.getUTCMilliseconds())).toISOString();
    }
    case 'undue-delay':
      return null;
  }
}

function describe(d: Deadline, tenant: Tenant | null): string {
  switch (d.kind) {
    case 'hours':
      return `${d.hours} h, continuous`;
    case 'sla':
      return `without undue delay: contract SLA ${tenant?.breachNoticeSlaHours ?? 24} h`;
    case 'days':
      return `${d.days} calendar days`;
    case 'months':
      return `${d.months} month${d.months === 1 ? '' : 's'} after the anchoring notice`;
    case 'undue-delay':
      return 'without undue delay (no figure in law)';
  }
}

const LOCAL = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/Amsterdam',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZoneName: 'short',
});

/** `2026-03-31 14:00 CEST`: a deadline as people in the lab read it. */
export function amsterdam(iso: string): string {
  const parts = Object.fromEntries(LOCAL.formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
  const zone = parts.timeZoneName === 'GMT+2' ? 'CEST' : parts.timeZoneName === 'GMT+1' ? 'CET' : (parts.timeZoneName ?? '');
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${zone}`;
}

import type { ContainmentRow } from '../../ports/detection-store.js';
import type { Member } from './cast.js';
import type { AttackRun, RunOutput } from './scenario.js';

/**
 * The drill's JSON (CLI.md "Detection"): per attack what it got and whether it was contained, the
 * lab's own success rate and any containment of its principals, plus the evidence — the rule of
 * every containment, detection's findings by rule, the audit log's verification — and `problems`,
 * the reasons for exit 1: an attack not contained, legitimate work refused (success rate below
 * 0.999, a legitimate principal contained), anything received after a canary read, an audit log
 * that does not verify.
 */
export interface AttackReport {
  name: string;
  patients_exposed: number;
  seconds_to_containment: number | null;
  contained: boolean;
  /** The rule of the containment(s) of its principal(s). */
  rule: string | null;
  role: string;
  source_ip: string;
  requests: number;
  records_after_refusal: number;
  [extra: string]: unknown;
}

export interface ExfiltrationReport {
  patients: number;
  attacks: AttackReport[];
  legit: {
    requests: number;
    success_rate: number;
    false_containments: number;
    principals: number;
    /** Distinct patients the lab's clients received. */
    patients_read: number;
    p50_ms: number;
    p99_ms: number;
    max_ms: number;
    statuses: Record<string, number>;
    /** Legitimate principals contained (role and rule): empty when detection kept out of the way. */
    contained: { role: string; rule: string }[];
  };
  window_seconds: number;
  run_seconds: number;
  seconds: number;
  containments: {
    subject: string;
    role: string;
    rule: string;
    origin_blocked: boolean;
    exports_frozen: boolean;
    approvals_required: number;
  }[];
  /** Detection findings over the run, by rule and severity (from the server's /metrics). */
  detection_findings: Record<string, Record<string, number>>;
  audit_verified: boolean;
  audit_events: number;
  /** Attacks the lab was too small to run, with why. */
  skipped: string[];
  problems: string[];
}

export const MIN_SUCCESS_RATE = 0.999;

export function buildReport(i: {
  patients: number;
  windowSeconds: number;
  members: readonly Member[];
  run: RunOutput;
  containments: readonly ContainmentRow[];
  metricsText: string;
  auditVerified: boolean;
  auditEvents: number;
  seconds: number;
}): ExfiltrationReport {
  const byPrincipal = new Map<string, ContainmentRow[]>();
  for (const c of i.containments) byPrincipal.set(c.principalId, [...(byPrincipal.get(c.principalId) ?? []), c]);
  const rulesOf = (ids: readonly string[]): string | null => {
    const rules = [...new Set(ids.flatMap((id) => (byPrincipal.get(id) ?? []).map((c) => c.rule)))];
    return rules.length === 0 ? null : rules.join(',');
  };
  const attacks = i.run.attacks.map((a) => attackReport(a, byPrincipal, rulesOf));
  const legitMembers = i.members.filter((m) => m.attack === null);
  const contained = legitMembers.flatMap((m) => (byPrincipal.get(m.id) ?? []).map((c) => ({ role: m.role, rule: c.rule })));
  const l = i.run.legit;
  const rate = l.requests === 0 ? 0 : l.ok / l.requests;
  const member = new Map(i.members.map((m) => [m.id, m]));
  const canary = attacks.find((a) => a.name === 'canary-touch');

  const problems: string[] = [];
  for (const a of attacks) if (!a.contained) problems.push(`${a.name}: not contained (${a.patients_exposed} patients exposed)`);
  if (rate < MIN_SUCCESS_RATE) problems.push(`legit: success rate ${round(rate, 6)} below ${MIN_SUCCESS_RATE}`);
  for (const c of contained) problems.push(`legit: a ${c.role} was contained (${c.rule})`);
  if (typeof canary?.records_after_touch === 'number' && canary.records_after_touch > 0)
    problems.push(`canary-touch: ${canary.records_after_touch} records received after the canary read`);
  if (!i.auditVerified) problems.push('the audit log does not verify');

  return {
    patients: i.patients,
    attacks,
    legit: {
      requests: l.requests,
      success_rate: round(rate, 6),
      false_containments: contained.length,
      principals: legitMembers.length,
      patients_read: l.patients.size,
      p50_ms: round(quantile(l.latencies, 0.5), 1),
      p99_ms: round(quantile(l.latencies, 0.99), 1),
      max_ms: round(quantile(l.latencies, 1), 1),
      statuses: Object.fromEntries([...l.statuses].sort(([a], [b]) => a - b).map(([s, n]) => [String(s), n])),
      contained,
    },
    skipped: i.run.skipped,
    window_seconds: i.windowSeconds,
    run_seconds: round(i.run.seconds, 1),
    seconds: round(i.seconds, 1),
    containments: i.containments.map((c) => {
      const m = member.get(c.principalId);
      return {
        subject: m ? (m.attack === null ? 'legit' : `attack:${m.attack}`) : 'unknown',
        role: m?.role ?? 'unknown',
        rule: c.rule,
        origin_blocked: c.originIp !== null,
        exports_frozen: c.frozenTenants.length > 0,
        approvals_required: c.approvalsRequired,
      };
    }),
    detection_findings: findings(i.metricsText),
    audit_verified: i.auditVerified,
    audit_events: i.auditEvents,
    problems,
  };
}

function attackReport(
  a: AttackRun,
  byPrincipal: Map<string, ContainmentRow[]>,
  rulesOf: (ids: readonly string[]) => string | null,
): AttackReport {
  const r: AttackReport = {
    name: a.name,
    patients_exposed: a.patients_exposed,
    seconds_to_containment: a.seconds_to_containment,
    contained: a.principals.length > 0 && a.principals.every((p) => byPrincipal.has(p)),
    rule: rulesOf(a.principals),
    role: a.role,
    source_ip: a.source_ip,
    requests: a.requests,
    records_after_refusal: a.records_after_refusal,
    ...a.extra,
  };
  if (a.accounts) {
    r.accounts = a.accounts.map((x) => ({ ...x, contained: byPrincipal.has(x.principal), rule: rulesOf([x.principal]) }));
  }
  return r;
}

/** `labvault_detection_findings_total{rule="…",severity="…"} n` lines of a Prometheus scrape. */
function findings(text: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const line of text.split('\n')) {
    const m = /^labvault_detection_findings_total\{(.*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const rule = /rule="([^"]*)"/.exec(m[1] as string)?.[1];
    const severity = /severity="([^"]*)"/.exec(m[1] as string)?.[1];
    if (rule === undefined || severity === undefined) continue;
    (out[rule] ??= {})[severity] = Number(m[2]);
  }
  return out;
}

function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

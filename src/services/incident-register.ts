import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.js';
import type { InclusionProofResult } from '../audit/audit-prover.js';
import { AccessDenied, Conflict, InvalidInput, NotFound } from '../domain/errors.js';
import type { AccessContext } from '../domain/principal.js';
import { isValidTenantId } from '../domain/tenant.js';
import { bsnFreeId, containsBsnLike } from '../domain/validate-resource.js';
import type { Clock } from '../ports/clock.js';
import type { IncidentRow } from '../ports/detection-store.js';
import type { VaultStore } from '../ports/vault-store.js';
import { checkRecord, planObligations, type Obligation, type ObligationRecord } from '../incidents/obligations.js';
import { assessSeverity, type SeverityAssessment, type SeverityFacts } from '../incidents/severity.js';
import { scopeIncident, type Scope, type ScopeQuery, type ScopeSources } from '../incidents/scope.js';

/**
 * The incident register (GDPR 33(5): every breach, notified or not). An incident has its types
 * (confidentiality, integrity, availability), awareness timestamps per actor — the lab, each
 * controller, the moment it was judged a significant incident — which start the legal clocks,
 * a status, and a timeline of actions, each optionally with evidence: an inclusion proof of an
 * audit event against the signed log. Every change is an audit event committed with it.
 * Containments open incidents themselves; this register opens them by hand and extends both.
 */
export const IncidentTypes = ['confidentiality', 'integrity', 'availability'] as const;
export type IncidentType = (typeof IncidentTypes)[number];

/** `lab`, `significant`, or `controller:<tenant>`. */
export type AwarenessActor = string;

export interface TimelineEntry {
  at: string;
  by: string;
  action: string;
  note: string | null;
  /** Audit evidence: the event's index and its inclusion proof against a (signed) tree head. */
  evidence: InclusionProofResult | null;
}

export interface IncidentView {
  id: string;
  source: IncidentRow['source'];
  trigger: string;
  status: IncidentRow['status'];
  openedAt: string;
  principalId: string | null;
  tenants: string[];
  window: { start: string | null; end: string | null };
  types: IncidentType[];
  awareness: Record<AwarenessActor, string>;
  timeline: TimelineEntry[];
  /** Whatever else the incident holds (a containment's findings and exposure). */
  doc: Record<string, unknown>;
}

const MAX_TEXT = 500;

export class IncidentRegister {
  constructor(
    private readonly store: Pick<VaultStore, 'insertIncident' | 'getIncident' | 'listIncidents' | 'updateIncident' | 'listTenants'>,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    /** The lab is an essential or important entity under NIS2 (medium/large health provider or lab). */
    private readonly nis2Entity = true,
    /** Where scoping reads from (the audit log, patient ids, canaries); null: scoping unavailable. */
    private readonly scopeSources: ScopeSources | null = null,
  ) {}

  /**
   * Scopes the incident from the audit log (scope.ts) and keeps the per-tenant summary with it;
   * the full scope (pseudonymous ids, evidence) is returned, not stored. Reading the log for it
   * is itself audited.
   */
  async scope(ctx: AccessContext, id: string, q: ScopeQuery): Promise<Scope> {
    this.requireKeeper(ctx);
    if (!this.scopeSources) throw new InvalidInput('scoping is not available in this vault');
    const row = await this.mustGet(id);
    await this.audit.record([this.audit.event(ctx, { action: 'audit.read', detail: { incident: id, purpose: 'scope' } })]);
    const s = await scopeIncident(q, { ...this.scopeSources, leaked: leakedOf(row.doc) });
    const now = this.clock.now().toISOString();
    const summary = s.tenants.map((t) => ({
      tenant: t.tenant,
      patients: t.patients,
      records: t.records,
      categories: t.categories,
      confirmed: t.cohorts.accessedConfirmed.length,
      in_leaked_data: t.cohorts.inLeakedData.length,
      cannot_be_excluded: t.cohorts.cannotBeExcluded.length,
      canaries: t.canaries,
    }));
    const total = s.tenants.reduce((n, t) => n + t.patients[1], 0);
    const doc = {
      ...row.doc,
      scope: { query: q, at: now, events_matched: s.eventsMatched, ciphertext_only: s.ciphertextOnly, tenants: summary },
      timeline: [...view(row).timeline, entry(now, ctx, 'scoped', `${total} people at most, ${s.tenants.length} tenants`, null)],
    };
    await this.update(ctx, row, row.status, doc, { scoped_patients_max: total, events_matched: s.eventsMatched });
    return s;
  }

  /**
   * Records a leak scan's matches as the incident's in-leaked-data cohort (merged with earlier
   * scans: a dump published in parts grows the cohort) and re-runs its stored scope, if any, so
   * the summary counts them. Pseudonymous patient ids only.
   */
  async recordLeak(
    ctx: AccessContext,
    id: string,
    leaked: Readonly<Record<string, readonly string[]>>,
    scan: { files: number; bytes: number; matched: number },
  ): Promise<IncidentView> {
    this.requireKeeper(ctx);
    const row = await this.mustGet(id);
    const before = leakedOf(row.doc);
    const merged: Record<string, string[]> = {};
    for (const t of new Set([...before.keys(), ...Object.keys(leaked)]))
      merged[t] = [...new Set([...(before.get(t) ?? []), ...(leaked[t] ?? [])])].sort();
    const now = this.clock.now().toISOString();
    const prior = isRecord(row.doc.leak) && Array.isArray(row.doc.leak.scans) ? (row.doc.leak.scans as unknown[]) : [];
    const doc = {
      ...row.doc,
      leak: { scans: [...prior, { at: now, ...scan }], patients: merged },
      timeline: [...view(row).timeline, entry(now, ctx, 'leak-scanned', `${scan.matched} people matched in ${scan.files} files`, null)],
    };
    const updated = await this.update(ctx, row, row.status, doc, { leak_matched: scan.matched, leak_files: scan.files });
    const stored = row.doc.scope as { query?: ScopeQuery } | undefined;
    if (!stored?.query || !this.scopeSources) return updated;
    await this.scope(ctx, id, stored.query);
    return this.get(id);
  }

  /** The scope sources for one incident: the store's, plus the leaked cohort its leak scans recorded. */
  sourcesFor(incident: Pick<IncidentView, 'doc'>): ScopeSources {
    if (!this.scopeSources) throw new InvalidInput('scoping is not available in this vault');
    return { ...this.scopeSources, leaked: leakedOf(incident.doc) };
  }

  /** The incident's obligations now: deadlines from its awareness timestamps, progress from its records. */
  async obligations(id: string): Promise<Obligation[]> {
    return this.plan(await this.mustGet(id));
  }

  /**
   * Records an obligation's progress: drafted, sent (with its phase: initial, supplementary,
   * final) or withdrawn. Sending after the deadline, and withdrawing, need a reason.
   */
  async recordObligation(
    ctx: AccessContext,
    id: string,
    obligationId: string,
    r: { state: string; at?: string; phase?: string | null; reason?: string | null },
  ): Promise<Obligation> {
    this.requireKeeper(ctx);
    const row = await this.mustGet(id);
    const o = (await this.plan(row)).find((x) => x.id === obligationId);
    if (!o) throw new NotFound('no such obligation for this incident');
    if (r.state !== 'drafted' && r.state !== 'sent' && r.state !== 'withdrawn') throw new InvalidInput('state: drafted, sent or withdrawn');
    const phase = r.phase ?? (r.state === 'sent' ? 'initial' : null);
    if (phase !== null && phase !== 'initial' && phase !== 'supplementary' && phase !== 'final')
      throw new InvalidInput('phase: initial, supplementary or final');
    const now = this.clock.now().toISOString();
    const rec: ObligationRecord = {
      state: r.state,
      at: instantNotLater(r.at ?? now, now, 'at'),
      phase: phase,
      reason: r.reason ? text(r.reason, 'reason') : null,
    };
    checkRecord(o, rec);
    const v = view(row);
    const records = { ...((row.doc.obligations as Record<string, ObligationRecord> | undefined) ?? {}), [obligationId]: rec };
    const doc = {
      ...row.doc,
      obligations: records,
      timeline: [...v.timeline, entry(now, ctx, `obligation:${rec.state}`, `${obligationId}${rec.phase ? ` (${rec.phase})` : ''}`, null)],
    };
    await this.update(ctx, row, row.status, doc, { obligation: obligationId, state: rec.state, with_reason: rec.reason !== null });
    return (await this.plan({ ...row, doc }, records)).find((x) => x.id === obligationId) as Obligation;
  }

  /** The ENISA severity of the incident from its facts, stored with its reasoning; it settles conditional obligations. */
  async assess(ctx: AccessContext, id: string, facts: SeverityFacts): Promise<SeverityAssessment> {
    this.requireKeeper(ctx);
    const row = await this.mustGet(id);
    const a = assessSeverity(facts);
    const now = this.clock.now().toISOString();
    const doc = {
      ...row.doc,
      severity: { ...a, facts, at: now, by: ctx.principal.id },
      timeline: [...view(row).timeline, entry(now, ctx, 'assessed', `${a.band} (SE ${a.se})`, null)],
    };
    await this.update(ctx, row, row.status, doc, { severity: a.se, band: a.band, high_risk: a.highRisk });
    return a;
  }

  /** Records that a reminder stage was sent for an obligation (so it is sent once, by any node). */
  async recordReminder(ctx: AccessContext, id: string, obligationId: string, stage: string): Promise<void> {
    this.requireKeeper(ctx);
    const row = await this.mustGet(id);
    const reminders = { ...((row.doc.reminders as Record<string, string[]> | undefined) ?? {}) };
    reminders[obligationId] = [...(reminders[obligationId] ?? []), stage];
    await this.update(ctx, row, row.status, { ...row.doc, reminders }, { obligation: obligationId, reminder: stage });
  }

  /** Adds a generated artifact (file, size, digest) to the incident's record, audited. */
  async recordArtifact(
    ctx: AccessContext,
    id: string,
    artifact: { kind: string; tenant: string | null; file: string; bytes: number; sha256: string },
  ): Promise<void> {
    this.requireKeeper(ctx);
    const row = await this.mustGet(id);
    const now = this.clock.now().toISOString();
    const artifacts = [...((row.doc.artifacts as unknown[] | undefined) ?? []), { ...artifact, at: now, by: ctx.principal.id }];
    const doc = {
      ...row.doc,
      artifacts,
      timeline: [...view(row).timeline, entry(now, ctx, `artifact:${artifact.kind}`, artifact.tenant, null)],
    };
    await this.update(ctx, row, row.status, doc, {
      artifact: artifact.kind,
      tenant: artifact.tenant,
      bytes: artifact.bytes,
      sha256: artifact.sha256,
    });
  }

  private async plan(row: IncidentRow, records?: Record<string, ObligationRecord>): Promise<Obligation[]> {
    const concerned = view(row).tenants;
    const tenants = (await this.store.listTenants()).filter((t) => concerned.includes(t.id));
    return planObligations({
      tenants,
      awareness: view(row).awareness,
      records: records ?? (row.doc.obligations as Record<string, ObligationRecord> | undefined) ?? {},
      nis2Entity: this.nis2Entity,
      now: this.clock.now(),
      assessment: (row.doc.severity as { risk: boolean; highRisk: boolean } | undefined) ?? null,
    });
  }

  async open(
    ctx: AccessContext,
    o: { title: string; types: readonly string[]; tenants: readonly string[]; labAwareAt?: string; principalId?: string | null },
  ): Promise<IncidentView> {
    this.requireKeeper(ctx);
    const title = text(o.title, 'title');
    const types = incidentTypes(o.types);
    if (o.tenants.length === 0 || !o.tenants.every(isValidTenantId)) throw new InvalidInput('tenants: one or more tenant ids');
    const known = new Set((await this.store.listTenants()).map((t) => t.id));
    for (const t of o.tenants) if (!known.has(t)) throw new InvalidInput('tenants: unknown tenant');
    const now = this.clock.now().toISOString();
    const aware = instantNotLater(o.labAwareAt ?? now, now, 'lab aware at');
    const row: IncidentRow = {
      id: bsnFreeId(() => `inc-${randomUUID()}`),
      openedAt: now,
      source: 'manual',
      trigger: title,
      principalId: o.principalId ?? null,
      tenants: [...new Set(o.tenants)].sort(),
      windowStart: null,
      windowEnd: null,
      status: 'open',
      doc: { types, awareness: { lab: aware }, timeline: [entry(now, ctx, 'opened', title, null)] },
    };
    await this.audit.ready();
    await this.store.insertIncident(row, [
      this.audit.event(ctx, { action: 'incident.open', detail: { incident: row.id, types: types.join(','), lab_aware_at: aware } }),
    ]);
    await this.audit.committed();
    return view(row);
  }

  async get(id: string): Promise<IncidentView> {
    const row = await this.store.getIncident(id);
    if (!row) throw new NotFound('no such incident');
    return view(row);
  }

  async list(): Promise<IncidentView[]> {
    return (await this.store.listIncidents()).map(view);
  }

  /**
   * Records when an actor became aware. Set once: a clock that has started does not move (a
   * later correction is a timeline note with its reason, not an edit).
   */
  async aware(ctx: AccessContext, id: string, actor: AwarenessActor, at?: string): Promise<IncidentView> {
    this.requireKeeper(ctx);
    const row = await this.mustGet(id);
    if (!(actor === 'lab' || actor === 'significant' || (/^controller:/.test(actor) && view(row).tenants.includes(actor.slice(11)))))
      throw new InvalidInput("actor: lab, significant, or controller:<one of the incident's tenants>");
    const v = view(row);
    if (v.awareness[actor] !== undefined) throw new Conflict(`awareness of ${actor} is already recorded`);
    const now = this.clock.now().toISOString();
    const when = instantNotLater(at ?? now, now, 'aware at');
    const doc = {
      ...row.doc,
      awareness: { ...v.awareness, [actor]: when },
      timeline: [...v.timeline, entry(now, ctx, `aware:${actor}`, null, null)],
    };
    return this.update(ctx, row, 'open', doc, { actor, aware_at: when });
  }

  /** A timeline entry, with the inclusion proof of an audit event as evidence when given. */
  async note(ctx: AccessContext, id: string, action: string, note: string | null, auditIndex?: number): Promise<IncidentView> {
    this.requireKeeper(ctx);
    const row = await this.mustGet(id);
    if (!/^[a-z][a-z0-9.-]{0,39}$/.test(action)) throw new InvalidInput('action: a short lower-case word (contained, notified, restored…)');
    let evidence: InclusionProofResult | null = null;
    if (auditIndex !== undefined) {
      if (!Number.isSafeInteger(auditIndex) || auditIndex < 0) throw new InvalidInput('evidence: an audit event index');
      evidence = await this.audit.prove(auditIndex);
      if (!evidence.verified) throw new InvalidInput('evidence: the proof does not verify');
    }
    const now = this.clock.now().toISOString();
    const v = view(row);
    const doc = { ...row.doc, timeline: [...v.timeline, entry(now, ctx, action, note === null ? null : text(note, 'note'), evidence)] };
    return this.update(ctx, row, row.status, doc, { timeline: action, evidence_index: auditIndex ?? null });
  }

  async close(ctx: AccessContext, id: string, reason: string): Promise<IncidentView> {
    this.requireKeeper(ctx);
    const row = await this.mustGet(id);
    if (row.status === 'closed') throw new Conflict('the incident is closed');
    const now = this.clock.now().toISOString();
    const doc = { ...row.doc, timeline: [...view(row).timeline, entry(now, ctx, 'closed', text(reason, 'reason'), null)] };
    return this.update(ctx, row, 'closed', doc, { closed: true });
  }

  private async update(
    ctx: AccessContext,
    row: IncidentRow,
    status: IncidentRow['status'],
    doc: Record<string, unknown>,
    detail: Record<string, string | number | boolean | null>,
  ): Promise<IncidentView> {
    await this.audit.ready();
    const ok = await this.store.updateIncident(row.id, status, doc, (found) => [
      this.audit.event(ctx, {
        action: status === 'closed' && row.status !== 'closed' ? 'incident.close' : 'incident.update',
        outcome: found ? 'allowed' : 'denied',
        reason: found ? null : 'not-found',
        detail: { incident: row.id, ...detail },
      }),
    ]);
    await this.audit.committed();
    if (!ok) throw new NotFound('no such incident');
    return view({ ...row, status, doc });
  }

  private async mustGet(id: string): Promise<IncidentRow> {
    const row = await this.store.getIncident(id);
    if (!row) throw new NotFound('no such incident');
    return row;
  }

  /** The register is the security officer's and DPO's (and the operator's on the machine). */
  requireKeeper(ctx: AccessContext): void {
    if (!['security-officer', 'dpo', 'admin'].includes(ctx.principal.role))
      throw new AccessDenied('only a security officer or the DPO keeps the register');
  }
}

/** The register's view of a row: containment-opened incidents read as confidentiality breaches the lab knew of when it contained. */
export function view(row: IncidentRow): IncidentView {
  const d = row.doc;
  const types = Array.isArray(d.types) ? (d.types as IncidentType[]) : (['confidentiality'] as IncidentType[]);
  const awareness = isRecord(d.awareness) ? (d.awareness as Record<string, string>) : { lab: row.openedAt };
  const timeline = Array.isArray(d.timeline)
    ? (d.timeline as TimelineEntry[])
    : [{ at: row.openedAt, by: 'labvault-detection', action: 'contained', note: row.trigger, evidence: null }];
  const { types: _t, awareness: _a, timeline: _l, ...rest } = d;
  // A containment opens its incident for the tenant of the read that crossed the line; a scope
  // that finds other controllers' patients brings those controllers into the incident too.
  const scoped =
    isRecord(d.scope) && Array.isArray(d.scope.tenants)
      ? (d.scope.tenants as { tenant: string; patients: [number, number] }[]).filter((t) => t.patients[1] > 0).map((t) => t.tenant)
      : [];
  return {
    id: row.id,
    source: row.source,
    trigger: row.trigger,
    status: row.status,
    openedAt: row.openedAt,
    principalId: row.principalId,
    tenants: [...new Set([...row.tenants, ...scoped])],
    window: { start: row.windowStart, end: row.windowEnd },
    types,
    awareness,
    timeline,
    doc: rest,
  };
}

function entry(at: string, ctx: AccessContext, action: string, note: string | null, evidence: InclusionProofResult | null): TimelineEntry {
  return { at, by: ctx.principal.id, action, note, evidence };
}

function incidentTypes(v: readonly string[]): IncidentType[] {
  const out = [...new Set(v)];
  if (out.length === 0 || !out.every((t) => (IncidentTypes as readonly string[]).includes(t)))
    throw new InvalidInput('types: one or more of confidentiality, integrity, availability');
  return out.sort() as IncidentType[];
}

/** Free text kept in the register: bounded, no control characters, and never an identifier. */
function text(v: string, what: string): string {
  const t = v.trim();
  // eslint-disable-next-line no-control-regex
  if (t.length === 0 || t.length > MAX_TEXT || /[\u0000-\u001f\u007f]/.test(t))
    throw new InvalidInput(`${what}: 1–${MAX_TEXT} characters of plain text`);
  if (containsBsnLike(t)) throw new InvalidInput(`${what}: must not contain an identifier`);
  return t;
}

/** An ISO instant with a zone, not in the future (awareness cannot be ahead of the clock). */
function instantNotLater(v: string, now: string, what: string): string {
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(v) ? Date.parse(v) : NaN;
  if (Number.isNaN(ms)) throw new InvalidInput(`${what}: an ISO 8601 instant with a zone`);
  if (ms > Date.parse(now) + 60_000) throw new InvalidInput(`${what}: in the future`);
  return new Date(ms).toISOString();
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The in-leaked-data cohort recorded by leak scans (`doc.leak.patients`: tenant → patient ids). */
function leakedOf(doc: Record<string, unknown>): Map<string, readonly string[]> {
  const leak = doc.leak;
  const out = new Map<string, readonly string[]>();
  if (!isRecord(leak) || !isRecord(leak.patients)) return out;
  for (const [t, ids] of Object.entries(leak.patients))
    if (Array.isArray(ids))
      out.set(
        t,
        ids.filter((x): x is string => typeof x === 'string'),
      );
  return out;
}

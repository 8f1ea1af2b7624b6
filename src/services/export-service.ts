import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.js';
import { AccessDenied, InvalidInput, NotFound } from '../domain/errors.js';
import { mayActFor, type AccessContext } from '../domain/principal.js';
import { isClinicalType, type VaultResourceType } from '../domain/resource-type.js';
import { FULL_VIEW, type ResourceView } from '../domain/resource-view.js';
import { bsnFreeId } from '../domain/validate-resource.js';
import type { ExportJob } from '../ports/access-store.js';
import type { Clock } from '../ports/clock.js';
import type { VaultStore } from '../ports/vault-store.js';
import type { VaultReader } from './vault-reader.js';
import type { CanaryService } from './canary-service.js';
import type { ContainmentService } from './containment-service.js';

/**
 * Bulk export (FHIR Bulk Data: kick-off, status, NDJSON files) behind a two-person rule: a request
 * stays "awaiting approval" until a security officer other than the requester approves it. Only
 * the requester downloads, only while the job is fresh. Files are never written: each download
 * decrypts page by page from the vault, and every page is audited before it is sent, so no
 * plaintext export sits on disk and an interrupted download leaves an exact record of what left.
 */
export const EXPORT_TYPES: readonly VaultResourceType[] = ['Patient', 'ServiceRequest', 'Specimen', 'Observation', 'DiagnosticReport'];
const PAGE = 500;

export class ExportService {
  constructor(
    private readonly store: VaultStore,
    private readonly reader: VaultReader,
    private readonly clock: Clock,
    private readonly audit: AuditLog,
    private readonly ttlHours: number,
    private readonly containment: Pick<ContainmentService, 'exportsFrozen'> | null = null,
    private readonly canaries: Pick<CanaryService, 'forExport'> | null = null,
    private readonly canariesPerExport = 0,
  ) {}

  /** A containment that froze the tenant's exports stops requests, approvals and downloads alike. */
  private checkFrozen(tenantId: string): void {
    const by = this.containment?.exportsFrozen(tenantId) ?? null;
    if (by !== null) throw new AccessDenied(`exports of this tenant are frozen by containment ${by}`);
  }

  async request(ctx: AccessContext, tenantId: string, types: readonly VaultResourceType[], since: string | null): Promise<ExportJob> {
    if (types.length === 0) throw new InvalidInput('_type: at least one resource type');
    if (since !== null && Number.isNaN(Date.parse(since))) throw new InvalidInput('_since: not an instant');
    this.checkFrozen(tenantId);
    const now = this.clock.now();
    const job: ExportJob = {
      id: bsnFreeId(randomUUID),
      requesterId: ctx.principal.id,
      tenantId,
      types: [...types],
      since: since === null ? null : new Date(since).toISOString(),
      state: 'awaiting-approval',
      approverId: null,
      createdAt: now.toISOString(),
      approvedAt: null,
      expiresAt: new Date(now.getTime() + this.ttlHours * 3_600_000).toISOString(),
    };
    await this.audit.ready();
    await this.store.insertExportJob(job, [
      this.audit.event(ctx, {
        action: 'export.request',
        tenant: tenantId,
        detail: { export: job.id, types: job.types.join(','), since: job.since },
      }),
    ]);
    await this.audit.committed();
    return job;
  }

  /** The second person: a security officer who is not the requester. */
  async approve(ctx: AccessContext, id: string): Promise<ExportJob> {
    if (ctx.principal.role !== 'security-officer') throw new AccessDenied('only a security officer approves exports');
    const job = await this.store.getExportJob(id);
    // An officer approves exports of the tenants it acts for; another tenant's job is as unknown as a missing one.
    if (!job || !mayActFor(ctx.principal, job.tenantId)) {
      await this.refused(ctx, 'export.approve', job);
      throw new NotFound();
    }
    if (job.requesterId === ctx.principal.id) throw new AccessDenied('the requester cannot approve its own export');
    this.checkFrozen(job.tenantId);
    await this.audit.ready();
    const ok = await this.store.approveExportJob(id, ctx.principal.id, this.clock.now().toISOString(), (approved) => [
      this.audit.event(ctx, {
        action: 'export.approve',
        outcome: approved ? 'allowed' : 'denied',
        reason: approved ? null : 'conflict',
        tenant: job.tenantId,
        detail: { export: id, requester: job.requesterId },
      }),
    ]);
    await this.audit.committed();
    if (!ok) throw new AccessDenied('export is not awaiting approval (already approved or expired)');
    return { ...job, state: 'approved', approverId: ctx.principal.id };
  }

  /** The requester's own job; anyone else's answers NotFound. */
  async status(ctx: AccessContext, id: string): Promise<ExportJob> {
    const job = await this.store.getExportJob(id);
    if (!job || job.requesterId !== ctx.principal.id) {
      await this.refused(ctx, 'export.status', job);
      throw new NotFound();
    }
    // An expired job is gone for its requester too: no manifest pointing at files it cannot fetch.
    if (Date.parse(job.expiresAt) <= this.clock.now().getTime()) {
      await this.refused(ctx, 'export.status', job);
      throw new NotFound('export expired');
    }
    await this.audit.record([
      this.audit.event(ctx, { action: 'export.status', tenant: job.tenantId, detail: { export: id, state: job.state } }),
    ]);
    return job;
  }

  /** A probe for another's (or no) job is recorded like any refused access; the id is named only when it exists. */
  private async refused(ctx: AccessContext, action: 'export.approve' | 'export.status', job: ExportJob | null): Promise<void> {
    await this.audit.record([
      this.audit.event(ctx, {
        action,
        outcome: 'denied',
        reason: 'not-found',
        tenant: job?.tenantId ?? null,
        ...(job ? { detail: { export: job.id } } : {}),
      }),
    ]);
  }

  /**
   * NDJSON of one type of an approved job, in pages; each page is read (and audited) only when
   * the consumer asks for it, so a client that stops reading stops the export.
   */
  async *download(ctx: AccessContext, id: string, type: VaultResourceType, view: ResourceView = FULL_VIEW): AsyncGenerator<string> {
    const job = await this.store.getExportJob(id);
    if (!job || job.requesterId !== ctx.principal.id || !job.types.includes(type)) throw new NotFound();
    if (job.state !== 'approved') throw new AccessDenied('export awaits approval by a security officer');
    if (Date.parse(job.expiresAt) <= this.clock.now().getTime()) throw new NotFound('export expired');
    this.checkFrozen(job.tenantId);
    await this.audit.record([this.audit.event(ctx, { action: 'export.download', tenant: job.tenantId, detail: { export: id, type } })]);
    const since = job.since ?? undefined;
    const shape = { kind: 'export' as const, exportId: id };
    // This copy's own canaries, merged in id order so nothing about their position stands out.
    const copy = this.canaries
      ? await this.canaries.forExport(ctx, job.tenantId, id, this.canariesPerExport)
      : { patients: [], resources: [] };
    const planted = (type === 'Patient' ? copy.patients : copy.resources.filter((r) => r.resourceType === type))
      .map((r) => ({ id: String(r.id), line: JSON.stringify(r) }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    let after = '';
    for (;;) {
      this.checkFrozen(job.tenantId);
      let items: { id: string; line: string }[];
      let next: string | null;
      if (type === 'Patient') {
        const page = await this.reader.patientsPage(ctx, job.tenantId, after, PAGE, since, view, shape);
        items = page.patients.map((p) => ({ id: p.id, line: JSON.stringify(p) }));
        next = page.next;
      } else if (isClinicalType(type)) {
        const page = await this.reader.search(
          ctx,
          job.tenantId,
          { type, afterId: after, limit: PAGE, ...(since ? { createdSince: since } : {}) },
          view,
          { total: false, shape },
        );
        items = page.matches.map((p) => ({ id: p.id, line: JSON.stringify(p) }));
        next = page.next;
      } else throw new NotFound();
      while (planted.length > 0 && (next === null || (planted[0] as { id: string }).id <= next))
        items.push(planted.shift() as { id: string; line: string });
      items.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      if (items.length > 0) yield `${items.map((i) => i.line).join('\n')}\n`;
      if (next === null) return;
      after = next;
    }
  }
}

import { createHmac, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.js';
import { blindIndex } from '../crypto/blind-index.js';
import { open, seal } from '../crypto/envelope.js';
import type { KeyHierarchy } from '../crypto/key-hierarchy.js';
import type { CanaryIndex } from '../detection/canary-index.js';
import { BSN_SYSTEM } from '../domain/bsn.js';
import { IntegrityViolation, InvalidInput } from '../domain/errors.js';
import type { AccessContext } from '../domain/principal.js';
import type { FhirResource } from '../domain/resource-view.js';
import { bsnFreeId } from '../domain/validate-resource.js';
import type { Clock } from '../ports/clock.js';
import type { CanaryCopyKind, CanarySetRow } from '../ports/detection-store.js';
import type { VaultStore } from '../ports/vault-store.js';
import { canaryBundle, type CanaryRecords } from '../synth/canary-bundle.js';
import type { IngestService } from './ingest-service.js';

/** One canary patient as the sealed registry knows it (the BSN lets a leak scan attribute a copy). */
export interface CanaryPatient {
  id: string;
  bsn: string;
}

export interface CanarySetSummary {
  id: string;
  tenantId: string;
  copyKind: CanaryCopyKind;
  copyId: string | null;
  patients: number;
  createdAt: string;
}

interface SealedPayload {
  patients: CanaryPatient[];
  records: number;
}

const DAY_MS = 86_400_000;

/**
 * Canary patients: per tenant in the vault, and a unique set per export (and, with the backup
 * issue, per backup copy) that exists only in that copy. They come from the synthetic lab's own
 * generator, so through the API they look like everyone else; which patients are canaries is
 * written only sealed (AES-256-GCM under a key derived from the tenant's index key), in a registry
 * row that names the copy. Their records are dated before the recent-order window, so no worklist,
 * poll of new results or explained access reaches them, while paging through a tenant does.
 */
export class CanaryService {
  constructor(
    private readonly store: VaultStore,
    private readonly keys: KeyHierarchy,
    private readonly ingest: IngestService,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly index: CanaryIndex,
    private readonly recentDays: number,
  ) {}

  /** Unseals the tenant sets into the in-memory index (start-up). */
  async load(): Promise<void> {
    for (const row of await this.store.listCanarySets()) {
      if (row.copyKind !== 'tenant') continue;
      const p = await this.unseal(row);
      this.index.add(
        row.tenantId,
        p.patients.map((c) => c.id),
      );
    }
  }

  /**
   * Plants `count` canary patients with their orders and results into a tenant, in one
   * all-or-nothing write, and registers them. The write's audit event counts records without
   * naming patients (a list of canary ids in the log would let any reader of the log avoid them);
   * a `canary.plant` event records that a set was planted.
   */
  async plantTenant(ctx: AccessContext, tenantId: string, count: number): Promise<CanarySetSummary> {
    if (!Number.isInteger(count) || count < 1 || count > 1000) throw new InvalidInput('canaries: count must be 1–1000');
    if (!(await this.store.listTenants()).some((t) => t.id === tenantId)) throw new InvalidInput('canaries: unknown tenant');
    const records = await this.generate(tenantId, count, randomBytes(4).readUInt32BE(0));
    const result = await this.ingest.submit(
      ctx,
      canaryBundle(records),
      'canaries',
      (patients, resources) => [
        this.audit.event(ctx, {
          action: 'ingest.write',
          tenant: tenantId,
          records: patients.length + resources.length,
          bytes: patients.reduce((n, p) => n + (p.identity?.length ?? 0), 0) + resources.reduce((n, r) => n + r.body.length, 0),
          detail: { planted: true },
        }),
      ],
      await this.blendTime(tenantId),
    );
    if (result.rejected > 0) throw new IntegrityViolation(`canaries: ${result.rejected} generated records were rejected`);
    const set = await this.register(ctx, tenantId, 'tenant', null, records);
    this.index.add(
      tenantId,
      records.patients.map((p) => String(p.id)),
    );
    return set;
  }

  /**
   * The canaries of one export copy: generated from a secret seed bound to the job, so every
   * download of the job carries the same set, and registered on first use. They exist only in
   * the copy, never in the vault.
   */
  async forExport(ctx: AccessContext, tenantId: string, exportId: string, count: number): Promise<CanaryRecords> {
    if (count === 0) return { patients: [], resources: [] };
    const key = await this.registryKey(tenantId);
    const seed = createHmac('sha256', key).update(`export\u0000${exportId}`).digest().readUInt32BE(0);
    const records = await this.generate(tenantId, count, seed);
    const existing = (await this.store.listCanarySets(tenantId)).some((s) => s.copyKind === 'export' && s.copyId === exportId);
    if (!existing) await this.register(ctx, tenantId, 'export', exportId, records);
    return records;
  }

  /**
   * The canaries of one backup copy: fresh records (a random seed: unlike an export, a copy is
   * made once), stamped like rows already in the tenant so they do not stand out as the newest.
   * The caller writes them into the copy only, then registers them with `registerBackup` once the
   * copy's content address is known.
   */
  async forBackup(tenantId: string, count: number): Promise<{ records: CanaryRecords; stamp: Date | undefined }> {
    return { records: await this.generate(tenantId, count, randomBytes(4).readUInt32BE(0)), stamp: await this.blendTime(tenantId) };
  }

  /** Registers a backup copy's canaries (sealed, in the vault's registry); returns the row to keep beside the copy. */
  async registerBackup(ctx: AccessContext, tenantId: string, backupId: string, records: CanaryRecords): Promise<CanarySetRow> {
    const summary = await this.register(ctx, tenantId, 'backup', backupId, records);
    const row = (await this.store.listCanarySets(tenantId)).find((r) => r.id === summary.id);
    if (!row) throw new IntegrityViolation('canaries: the registered set is missing');
    return row;
  }

  /** The patient ids of a sealed set (restore shreds a copy's own canaries out of the live vault). */
  async patientsOf(row: CanarySetRow): Promise<CanaryPatient[]> {
    return (await this.unseal(row)).patients;
  }

  async list(tenantId?: string): Promise<CanarySetSummary[]> {
    const out: CanarySetSummary[] = [];
    for (const row of await this.store.listCanarySets(tenantId)) out.push(summary(row, (await this.unseal(row)).patients.length));
    return out;
  }

  /**
   * The canary patients of every set (drills, and the leak scan's attribution). Callers must keep
   * them inside the process: they are the secret that makes canaries work.
   */
  async unsealedSets(tenantId?: string): Promise<{ set: CanarySetSummary; patients: CanaryPatient[] }[]> {
    const out: { set: CanarySetSummary; patients: CanaryPatient[] }[] = [];
    for (const row of await this.store.listCanarySets(tenantId)) {
      const p = await this.unseal(row);
      out.push({ set: summary(row, p.patients.length), patients: p.patients });
    }
    return out;
  }

  private async register(
    ctx: AccessContext,
    tenantId: string,
    kind: CanaryCopyKind,
    copyId: string | null,
    records: CanaryRecords,
  ): Promise<CanarySetSummary> {
    const id = bsnFreeId(() => `cns-${randomUUID()}`);
    const payload: SealedPayload = {
      patients: records.patients.map((p) => ({ id: String(p.id), bsn: bsnOf(p) })),
      records: records.patients.length + records.resources.length,
    };
    const row: CanarySetRow = {
      id,
      tenantId,
      copyKind: kind,
      copyId,
      sealed: seal(await this.registryKey(tenantId), Buffer.from(JSON.stringify(payload)), aad(tenantId, id)),
      createdAt: this.clock.now().toISOString(),
    };
    await this.audit.ready();
    await this.store.insertCanarySet(row, [
      this.audit.event(ctx, {
        action: 'canary.plant',
        tenant: tenantId,
        records: payload.records,
        detail: { set: id, copy_kind: kind, copy: copyId, patients: payload.patients.length },
      }),
    ]);
    await this.audit.committed();
    return summary(row, payload.patients.length);
  }

  /**
   * Canary records dated before the tenant's recent-order window (a week of margin), with BSNs
   * that no patient of any tenant has: a canary sharing a real person's BSN would make a leak
   * scan confuse the two.
   */
  private async generate(tenantId: string, count: number, seed: number): Promise<CanaryRecords> {
    const newest = (await this.store.newestOrderDate(tenantId)) ?? this.clock.now().toISOString().slice(0, 10);
    const latestDay = new Date(Date.parse(newest) - (this.recentDays + 7) * DAY_MS).toISOString().slice(0, 10);
    const spare = count + 8;
    // The generator (with faker, ~0.1 s to load) only when canaries are made, not on every command.
    const { generateCanaryRecords } = await import('../synth/canary-records.js');
    const all = generateCanaryRecords({ tenantId, count: spare, seed, latestDay });
    const tenants = (await this.store.listTenants()).map((t) => t.id);
    const keep = new Set<string>();
    for (const p of all.patients) {
      if (keep.size === count) break;
      if (!(await this.bsnTaken(tenants, bsnOf(p)))) keep.add(String(p.id));
    }
    if (keep.size < count) throw new IntegrityViolation('canaries: could not draw enough unused BSNs');
    const subject = (r: FhirResource): string =>
      /^Patient\/(.+)$/.exec(String((r.subject as { reference?: string } | undefined)?.reference))?.[1] ?? '';
    return {
      patients: all.patients.filter((p) => keep.has(String(p.id))),
      resources: all.resources.filter((r) => keep.has(subject(r as FhirResource))),
    };
  }

  /**
   * The `created_at` canary rows get: that of a patient already in the tenant, picked at random,
   * so the rows do not stand out in the database as the ones written at planting time (the
   * planting itself is in the audit log, without the patients). An empty tenant: now.
   */
  private async blendTime(tenantId: string): Promise<Date | undefined> {
    const after = `pat-${randomBytes(2).toString('hex')}`;
    const id = (await this.store.listPatientIds(tenantId, after, 1))[0] ?? (await this.store.listPatientIds(tenantId, '', 1))[0];
    const row = id === undefined ? null : await this.store.getPatient(tenantId, id);
    return row ? new Date(row.createdAt) : undefined;
  }

  private async bsnTaken(tenants: string[], bsn: string): Promise<boolean> {
    for (const t of tenants) {
      const idx = blindIndex(await this.keys.indexKey(t), 'bsn', bsn);
      if ((await this.store.findPatientsByBsnIndex(t, idx)).length > 0) return true;
    }
    return false;
  }

  private async registryKey(tenantId: string): Promise<Buffer> {
    return Buffer.from(hkdfSync('sha256', await this.keys.indexKey(tenantId), Buffer.alloc(0), 'labvault canary registry v1', 32));
  }

  private async unseal(row: CanarySetRow): Promise<SealedPayload> {
    const plain = open(await this.registryKey(row.tenantId), row.sealed, aad(row.tenantId, row.id));
    return JSON.parse(plain.toString('utf8')) as SealedPayload;
  }
}

function aad(tenantId: string, setId: string): Buffer {
  return Buffer.from(`labvault-canary-set\u0000${tenantId}\u0000${setId}`);
}

function bsnOf(p: Record<string, unknown>): string {
  const ids = (p.identifier ?? []) as { system?: string; value?: string }[];
  return ids.find((i) => i.system === BSN_SYSTEM)?.value ?? '';
}

function summary(row: CanarySetRow, patients: number): CanarySetSummary {
  return { id: row.id, tenantId: row.tenantId, copyKind: row.copyKind, copyId: row.copyId, patients, createdAt: row.createdAt };
}

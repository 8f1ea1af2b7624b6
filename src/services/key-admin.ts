import { NotFound } from '../domain/errors.js';
import type { KeyHierarchy } from '../crypto/key-hierarchy.js';
import type { Clock } from '../ports/clock.js';
import type { KekState, VaultStore } from '../ports/vault-store.js';
import type { AuditLog } from '../audit/audit-log.js';
import { categoriesOf } from '../domain/audit-event.js';
import type { ErasureLedger } from '../backup/erasure-ledger.js';
import { mayActFor, type AccessContext } from '../domain/principal.js';

/**
 * Key operations: status, rotation and crypto-shredding.
 *
 * Rotation adds a new KEK version (new DEKs are wrapped under it at once), rewraps existing DEKs
 * in small transactions while readers go on (each row names the KEK version that wraps it, and the
 * old version stays readable until no row needs it), then destroys the old version. Record
 * ciphertexts are never touched, so rotating a large tenant costs one small AES-GCM per patient.
 */
export interface KeyStatus {
  tenant: string;
  versions: { version: number; state: KekState; patients: number; createdAt: string }[];
  masterKeyId: string;
}

export interface RotationResult {
  tenant: string;
  from: number[];
  to: number;
  rewrapped: number;
  destroyed: number[];
  seconds: number;
}

export class KeyAdmin {
  constructor(
    private readonly store: VaultStore,
    private readonly keys: KeyHierarchy,
    private readonly clock: Clock,
    private readonly audit: AuditLog,
    /** Erasures are listed here first, so restoring an older backup shreds the patient again. */
    private readonly ledger: ErasureLedger | null = null,
  ) {}

  async status(ctx: AccessContext): Promise<KeyStatus[]> {
    await this.audit.ready();
    const out: KeyStatus[] = [];
    const tenants = (await this.store.listTenants()).filter((t) => mayActFor(ctx.principal, t.id));
    await this.audit.record([this.audit.event(ctx, { action: 'keys.status', records: tenants.length })]);
    for (const t of tenants) {
      const rows = await this.store.listTenantKeys(t.id);
      const versions = [];
      for (const r of rows) {
        versions.push({
          version: r.version,
          state: r.state,
          patients: await this.store.countDeksWrappedBy(t.id, r.version),
          createdAt: r.createdAt,
        });
      }
      out.push({ tenant: t.id, versions, masterKeyId: rows.at(-1)?.masterKeyId ?? '' });
    }
    return out;
  }

  async rotate(ctx: AccessContext, tenantId: string, opts: { batchSize?: number } = {}): Promise<RotationResult> {
    await this.audit.ready();
    const started = process.hrtime.bigint();
    if (!mayActFor(ctx.principal, tenantId) || !(await this.store.getTenant(tenantId))) {
      await this.audit.record([this.audit.event(ctx, { action: 'keys.rotate', outcome: 'error', tenant: tenantId, reason: 'not-found' })]);
      throw new NotFound(`unknown tenant '${tenantId}'`);
    }
    const event = (action: 'keys.rotate' | 'keys.rewrap' | 'keys.destroy', records: number, detail: Record<string, number>) =>
      this.audit.event(ctx, { action, tenant: tenantId, categories: ['key-material'], records, detail });
    const before = await this.store.listTenantKeys(tenantId);
    const old = before.filter((r) => r.state !== 'destroyed').map((r) => r.version);
    const next = Math.max(0, ...before.map((r) => r.version)) + 1;
    // Other processes may hold the old active version in cache; the store's trigger refuses
    // their inserts once it is destroyed, and they retry with the new one.
    const to = await this.keys.addKekVersion(tenantId, next, [event('keys.rotate', 0, { kek_version: next })]);
    await this.audit.committed();
    const batch = opts.batchSize ?? 1000;
    let rewrapped = 0;
    const destroyed: number[] = [];
    for (const from of old) {
      // Loop until nothing is left under `from`: writers racing the rotation may still add rows.
      for (;;) {
        let after = '';
        let seen = 0;
        for (;;) {
          const page = await this.store.listDeksWrappedBy(tenantId, from, after, batch);
          if (page.length === 0) break;
          const updates = [];
          for (const p of page) updates.push({ id: p.id, wrappedDek: await this.keys.rewrap(tenantId, p.id, from, to, p.wrappedDek) });
          rewrapped += await this.store.rewrapDeks(tenantId, from, to.version, updates, (n) => [
            event('keys.rewrap', n, { from_version: from, kek_version: to.version }),
          ]);
          await this.audit.committed();
          seen += page.length;
          after = page[page.length - 1]?.id ?? after;
        }
        const gone = await this.store.destroyTenantKey(tenantId, from, (done) =>
          done ? [event('keys.destroy', 0, { kek_version: from })] : [],
        );
        await this.audit.committed();
        if (gone) {
          destroyed.push(from);
          break;
        }
        if (seen === 0 && (await this.store.countDeksWrappedBy(tenantId, from)) === 0) break;
      }
    }
    this.keys.forget(tenantId);
    return { tenant: tenantId, from: old, to: to.version, rewrapped, destroyed, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  }

  /**
   * Crypto-shreds one patient: its wrapped DEK, identity ciphertext, blind indexes and MAC are
   * removed from the live store, so every record of the patient there is unreadable. Copies of the
   * old row made before (a backup, a PostgreSQL WAL archive or replica) still hold the DEK wrapped
   * under a KEK that exists until the tenant's next rotation: rotate after erasures to extend the
   * shredding to such copies (the backup issue adds an erasure ledger re-applied on restore).
   */
  async erasePatient(ctx: AccessContext, tenantId: string, patientId: string): Promise<void> {
    await this.audit.ready();
    const row = mayActFor(ctx.principal, tenantId) ? await this.store.getPatient(tenantId, patientId) : null;
    if (!row || row.erasedAt) {
      await this.audit.record([
        this.audit.event(ctx, { action: 'patient.erase', outcome: 'error', tenant: tenantId, reason: 'not-found' }),
      ]);
      throw new NotFound();
    }
    const at = this.clock.now().toISOString();
    await this.ledger?.append({ tenant: tenantId, patient: patientId, at });
    const erased = await this.store.erasePatient(tenantId, patientId, at, (changed) =>
      changed
        ? [
            this.audit.event(ctx, {
              action: 'patient.erase',
              tenant: tenantId,
              patients: [patientId],
              categories: [...categoriesOf('Patient'), 'key-material'],
              records: 1,
            }),
          ]
        : [],
    );
    await this.audit.committed();
    this.keys.forget(tenantId, patientId);
    if (!erased) throw new NotFound();
  }
}

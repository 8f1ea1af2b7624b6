import type { AuditEvent } from '../domain/audit-event.js';
import { randomBytes } from 'node:crypto';
import { DecryptionFailed, KeyUnavailable, NotFound } from '../domain/errors.js';
import type { KeyProvider } from '../ports/key-provider.js';
import type { VaultStore } from '../ports/vault-store.js';
import { dekAad, indexKeyContext, kekContext } from './aad.js';
import { open, seal } from './envelope.js';
import { LruCache } from './lru-cache.js';

/**
 * The key hierarchy: master key (KeyProvider) → per-tenant KEK (versioned, stored wrapped) →
 * per-patient DEK (stored wrapped by the tenant KEK) → AES-256-GCM record sections. The
 * blind-index key is a separate per-tenant key, also wrapped by the master key.
 *
 * Unwrapped KEKs and index keys are cached for the life of the process (a handful of tenants);
 * unwrapped DEKs in a bounded LRU so ingest of a large lab stays within memory.
 */
export interface ActiveKek {
  version: number;
  key: Buffer;
}

export class KeyHierarchy {
  private readonly keks = new Map<string, Buffer>();
  private readonly active = new Map<string, ActiveKek>();
  private readonly indexKeys = new Map<string, Buffer>();
  private readonly deks: LruCache<string, Buffer>;

  constructor(
    private readonly store: VaultStore,
    private readonly provider: KeyProvider,
    dekCacheSize = 200_000,
  ) {
    this.deks = new LruCache(dekCacheSize);
  }

  /**
   * Creates KEK v1 and the blind-index key for a tenant when it has none; idempotent. `audit` is
   * committed with the new KEK.
   */
  async ensureTenantKeys(tenantId: string, audit: () => readonly AuditEvent[]): Promise<boolean> {
    const rows = await this.store.listTenantKeys(tenantId);
    const created = rows.length === 0;
    if (created) await this.addKekVersion(tenantId, 1, audit());
    if (!(await this.store.getIndexKey(tenantId))) {
      const material = randomBytes(32);
      const wrapped = await this.provider.wrap(material, indexKeyContext(tenantId));
      await this.store.putIndexKeyIfAbsent(tenantId, wrapped, this.provider.masterKeyId);
    }
    return created;
  }

  /** Adds KEK version `version` as the active one (older active versions become retired). */
  async addKekVersion(tenantId: string, version: number, audit: readonly AuditEvent[]): Promise<ActiveKek> {
    const key = randomBytes(32);
    const wrapped = await this.provider.wrap(key, kekContext(tenantId, version));
    await this.store.addTenantKey(
      {
        tenantId,
        version,
        wrappedKek: wrapped,
        masterKeyId: this.provider.masterKeyId,
        state: 'active',
        createdAt: new Date().toISOString(),
      },
      audit,
    );
    this.keks.set(`${tenantId}/${version}`, key);
    const kek = { version, key };
    this.active.set(tenantId, kek);
    return kek;
  }

  /** The tenant's active KEK, for wrapping new DEKs. */
  async activeKek(tenantId: string): Promise<ActiveKek> {
    const cached = this.active.get(tenantId);
    if (cached) return cached;
    const row = (await this.store.listTenantKeys(tenantId)).find((r) => r.state === 'active');
    if (!row) throw new KeyUnavailable(`tenant ${tenantId} has no active key-encryption key`);
    const kek = { version: row.version, key: await this.kek(tenantId, row.version) };
    this.active.set(tenantId, kek);
    return kek;
  }

  /** A KEK by version; a destroyed version fails as a decryption failure (its data is gone by design). */
  async kek(tenantId: string, version: number): Promise<Buffer> {
    const id = `${tenantId}/${version}`;
    const cached = this.keks.get(id);
    if (cached) return cached;
    const row = (await this.store.listTenantKeys(tenantId)).find((r) => r.version === version);
    if (!row?.wrappedKek) throw new DecryptionFailed();
    const key = await this.provider.unwrap(row.wrappedKek, kekContext(tenantId, version));
    this.keks.set(id, key);
    return key;
  }

  async indexKey(tenantId: string): Promise<Buffer> {
    const cached = this.indexKeys.get(tenantId);
    if (cached) return cached;
    const row = await this.store.getIndexKey(tenantId);
    if (!row) throw new NotFound(`tenant ${tenantId} has no keys`);
    const key = await this.provider.unwrap(row.wrappedKey, indexKeyContext(tenantId));
    this.indexKeys.set(tenantId, key);
    return key;
  }

  /** Wraps a fresh DEK for a new patient under the tenant's active KEK. */
  wrapDek(kek: ActiveKek, tenantId: string, patientId: string, dek: Buffer, iv?: Buffer): Buffer {
    return seal(kek.key, dek, dekAad(tenantId, patientId, kek.version), iv);
  }

  /** Unwraps (and caches) a patient's DEK. A null wrapped DEK means the patient was crypto-shredded. */
  async dek(tenantId: string, patientId: string, kekVersion: number, wrappedDek: Buffer | null): Promise<Buffer> {
    if (!wrappedDek) throw new DecryptionFailed();
    const id = `${tenantId}/${patientId}/${kekVersion}`;
    const cached = this.deks.get(id);
    if (cached) return cached;
    const kek = await this.kek(tenantId, kekVersion);
    const dek = open(kek, wrappedDek, dekAad(tenantId, patientId, kekVersion));
    this.deks.set(id, dek);
    return dek;
  }

  /** Rewraps one DEK from one KEK version to another; the data it protects is not touched. */
  async rewrap(tenantId: string, patientId: string, from: number, to: ActiveKek, wrappedDek: Buffer): Promise<Buffer> {
    const dek = open(await this.kek(tenantId, from), wrappedDek, dekAad(tenantId, patientId, from));
    return seal(to.key, dek, dekAad(tenantId, patientId, to.version));
  }

  /** Overwrites every cached key with zeros (Vault.close): key material should not outlive its use. */
  close(): void {
    for (const k of this.keks.values()) k.fill(0);
    for (const k of this.indexKeys.values()) k.fill(0);
    this.deks.forEach((k) => k.fill(0));
    this.keks.clear();
    this.active.clear();
    this.indexKeys.clear();
    this.deks.deleteWhere(() => true);
  }

  /** Drops cached key material of a tenant (after rotation or erase) so the next use re-reads the store. */
  forget(tenantId: string, patientId?: string): void {
    this.active.delete(tenantId);
    for (const k of [...this.keks.keys()]) if (k.startsWith(`${tenantId}/`)) this.keks.delete(k);
    if (patientId !== undefined) this.deks.deleteWhere((k) => k.startsWith(`${tenantId}/${patientId}/`));
    else this.deks.deleteWhere((k) => k.startsWith(`${tenantId}/`));
  }
}

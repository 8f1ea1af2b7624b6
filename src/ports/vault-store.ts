import type { Tenant } from '../domain/tenant.js';
import type { ClinicalType } from '../domain/resource-type.js';
import type { AuditEvent } from '../domain/audit-event.js';
import type { AccessStore } from './access-store.js';
import type { AuditEvents, AuditStore } from './audit-store.js';
import type { DetectionStore } from './detection-store.js';

/**
 * Storage port for the vault. Adapters: SQLite (embedded default) and PostgreSQL. Everything that
 * identifies a person reaches the store already encrypted or blind-indexed; the store only sees
 * ciphertext, keyed MACs and the few plaintext columns queries need (tenant, pseudonymous ids,
 * type, status, dates, codes). One contract suite (test/contract) runs against every adapter.
 */
export type KekState = 'active' | 'retired' | 'destroyed';

export interface TenantKeyRow {
  tenantId: string;
  version: number;
  /** KEK wrapped by the KeyProvider's master key; null once destroyed. */
  wrappedKek: Buffer | null;
  masterKeyId: string;
  state: KekState;
  createdAt: string;
}

export interface PatientRow {
  tenantId: string;
  id: string;
  version: number;
  kekVersion: number;
  /** The patient's DEK wrapped by the tenant KEK; null after crypto-shredding. */
  wrappedDek: Buffer | null;
  bsnIndex: Buffer | null;
  nameIndex: Buffer | null;
  contentMac: Buffer | null;
  /** Identity section ciphertext (whole FHIR Patient); null after erase. */
  identity: Buffer | null;
  createdAt: string;
  erasedAt: string | null;
}

export interface ResourceRow {
  tenantId: string;
  type: ClinicalType;
  id: string;
  version: number;
  patientId: string;
  status: string | null;
  code: string | null;
  /** ISO date (yyyy-mm-dd) the record is about, for date searches. */
  effectiveDate: string | null;
  contentMac: Buffer;
  body: Buffer;
  createdAt: string;
}

export interface ResourceKey {
  tenantId: string;
  type: string;
  id: string;
}

/** Map key for a ResourceKey; NUL cannot occur in validated ids or tenants. */
export function resourceKeyString(k: ResourceKey): string {
  return `${k.tenantId}\u0000${k.type}\u0000${k.id}`;
}

export interface PatientKeyInfo {
  kekVersion: number;
  wrappedDek: Buffer | null;
  erased: boolean;
  /** Keyed MAC of the stored identity (null once erased): lets re-ingest recognise identical content. */
  contentMac: Buffer | null;
}

export interface WriteBatch {
  patients: PatientRow[];
  resources: ResourceRow[];
  /** Audit events committed in the same transaction (fail closed). */
  audit: readonly AuditEvent[];
  /**
   * The erasure count (`erasureEpoch()`) the writer's view of the patients rests on: if a patient
   * has been erased since, the batch is refused with Conflict and nothing is written.
   */
  erasureEpoch?: number;
}

export interface RewrapUpdate {
  id: string;
  wrappedDek: Buffer;
}

export interface ResourceCount {
  tenantId: string;
  type: string;
  count: number;
}

/**
 * Every method that changes personal data or keys takes the audit events to commit with it: the
 * write and its record of it succeed or fail together.
 */
export interface VaultStore extends AuditStore, AccessStore, DetectionStore {
  readonly backend: 'sqlite' | 'postgres';
  /** Applies pending schema migrations; idempotent. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  upsertTenant(tenant: Tenant, audit: readonly AuditEvent[]): Promise<void>;
  getTenant(id: string): Promise<Tenant | null>;
  listTenants(): Promise<Tenant[]>;

  listTenantKeys(tenantId: string): Promise<TenantKeyRow[]>;
  /** Inserts a new KEK version and marks every older active version retired, atomically. */
  addTenantKey(row: TenantKeyRow, audit: readonly AuditEvent[]): Promise<void>;
  /**
   * Destroys a KEK version (wrapped key erased) only if no patient row still references it;
   * returns false (and changes nothing) otherwise.
   */
  destroyTenantKey(tenantId: string, version: number, audit: AuditEvents<boolean>): Promise<boolean>;
  getIndexKey(tenantId: string): Promise<{ wrappedKey: Buffer; masterKeyId: string } | null>;
  /** Stores the tenant's wrapped blind-index key unless one exists; returns the stored one. */
  putIndexKeyIfAbsent(tenantId: string, wrappedKey: Buffer, masterKeyId: string): Promise<Buffer>;

  /** Content MACs of those keys that exist (any resource type, Patient included), keyed by resourceKeyString. */
  findContentMacs(keys: ResourceKey[]): Promise<Map<string, Buffer | null>>;
  /** DEK info of those patients that exist, keyed by resourceKeyString({tenantId, type:'Patient', id}). */
  findPatientKeys(tenantId: string, ids: string[]): Promise<Map<string, PatientKeyInfo>>;
  /**
   * Bulk-load mode for ingest: commits stay atomic and the store consistent after any crash, but
   * are not each flushed to disk (SQLite synchronous=NORMAL in WAL mode; PostgreSQL
   * synchronous_commit=off). A power loss may drop the last batches; re-running the idempotent
   * ingest restores them. Turning it off makes everything written so far durable.
   *
   * `incomingBytes` (the input's size) lets an adapter prepare for a load of that size: SQLite
   * builds its secondary indexes once at the end when the load is at least as large as the vault
   * (storage/sqlite/deferred-indexes.ts); turning bulk mode off rebuilds them.
   */
  setBulkLoad(enabled: boolean, incomingBytes?: number): Promise<void>;
  /**
   * Writes patients and resources in one transaction: all or nothing. Patients must be new: if one
   * already exists (created concurrently) nothing is written and Conflict is thrown, because the
   * batch was encrypted under DEKs that would then be lost. Clinical records whose key already
   * exists are left untouched and returned as skipped.
   */
  writeBatch(batch: WriteBatch): Promise<{ skippedResources: ResourceKey[] }>;
  /** How many patients have been erased so far (migration 8): changes with every erasure. */
  erasureEpoch(): Promise<number>;

  getPatient(tenantId: string, id: string): Promise<PatientRow | null>;
  findPatientsByBsnIndex(tenantId: string, index: Buffer): Promise<PatientRow[]>;
  findPatientsByNameIndex(tenantId: string, index: Buffer): Promise<PatientRow[]>;
  getResource(tenantId: string, type: ClinicalType, id: string): Promise<ResourceRow | null>;
  listResourcesOfPatient(tenantId: string, patientId: string, type?: ClinicalType): Promise<ResourceRow[]>;

  /** Up to `limit` patients of a tenant whose DEK is wrapped under `kekVersion`, ordered by id after `afterId`. */
  listDeksWrappedBy(tenantId: string, kekVersion: number, afterId: string, limit: number): Promise<{ id: string; wrappedDek: Buffer }[]>;
  /** Rewraps in one transaction; each row is updated only if still under `fromVersion`. Returns rows changed. */
  rewrapDeks(
    tenantId: string,
    fromVersion: number,
    toVersion: number,
    updates: RewrapUpdate[],
    audit: AuditEvents<number>,
  ): Promise<number>;
  countDeksWrappedBy(tenantId: string, kekVersion: number): Promise<number>;

  /** Crypto-shreds one patient: DEK, identity ciphertext, blind indexes and MAC are removed; the id stays as a tombstone. */
  erasePatient(tenantId: string, id: string, at: string, audit: AuditEvents<boolean>): Promise<boolean>;

  countResources(): Promise<ResourceCount[]>;
}

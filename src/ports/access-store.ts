import type { AuditEvent } from '../domain/audit-event.js';
import type { Role } from '../domain/principal.js';
import type { ClinicalType } from '../domain/resource-type.js';
import type { AuditEvents } from './audit-store.js';
import type { ResourceRow } from './vault-store.js';

/**
 * Storage side of access control: principals, their API keys, revoked tokens, break-glass grants
 * and bulk-export jobs. Implemented by each VaultStore adapter so that every change commits in one
 * transaction with its audit events (fail closed), and so that several API nodes sharing one
 * PostgreSQL see the same suspensions and revocations (no state that matters only in memory).
 * Nothing here holds an identifier of a patient; secrets are stored only as hashes.
 */
export type PrincipalStatus = 'active' | 'suspended';

export interface PrincipalRow {
  id: string;
  /** Display name of a person or system (not a patient); e.g. "LIMS west" or "j.devries". */
  name: string;
  role: Role;
  /** Tenant ids, `*` for every tenant. */
  tenants: string[];
  /** Default purpose of use put into its tokens (`purpose_of_use` claim); null: every request names one. */
  purpose: string | null;
  /** SMART v2 scopes granted (`system/DiagnosticReport.rs`); intersected with the role's rights. */
  scopes: string[];
  status: PrincipalStatus;
  /** Why it was suspended or released last (free text the operator typed; no patient data). */
  statusReason: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ApiKeyRow {
  /** Public part of the key (`lvk_<id>_<secret>`), the row's key. */
  id: string;
  principalId: string;
  /** SHA-256 of the secret part; the secret itself is shown once and never stored. */
  secretHash: Buffer;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

export interface RevokedToken {
  /** The token's `jti`. */
  tokenId: string;
  principalId: string;
  revokedAt: string;
  /** The token's own expiry: the row can be forgotten after it. */
  expiresAt: string;
}

export interface BreakGlassGrant {
  id: string;
  principalId: string;
  tenantId: string;
  createdAt: string;
  expiresAt: string;
}

export type ExportState = 'awaiting-approval' | 'approved';

export interface ExportJob {
  id: string;
  requesterId: string;
  tenantId: string;
  /** Resource types exported (Patient and clinical types). */
  types: string[];
  /** Only records created at or after this instant (Bulk Data `_since`); null: all. */
  since: string | null;
  state: ExportState;
  approverId: string | null;
  createdAt: string;
  approvedAt: string | null;
  /** After this instant the job can no longer be approved or downloaded. */
  expiresAt: string;
}

/** A FHIR search on clinical records of one tenant, paged by id (keyset: no OFFSET scans). */
export interface ResourceSearch {
  type: ClinicalType;
  patientId?: string;
  status?: string;
  code?: string;
  /** Inclusive bounds on the record's effective date (yyyy-mm-dd). */
  dateFrom?: string;
  dateTo?: string;
  /** Only records created at or after this instant (export `_since`). */
  createdSince?: string;
  /** Only ids > afterId, ordered by id. */
  afterId?: string;
  limit: number;
}

export interface AccessStore {
  /** Fails with Conflict when the id exists. */
  insertPrincipal(row: PrincipalRow, audit: readonly AuditEvent[]): Promise<void>;
  getPrincipal(id: string): Promise<PrincipalRow | null>;
  listPrincipals(): Promise<PrincipalRow[]>;
  /** Returns false (and records nothing of the change) when the principal does not exist. */
  setPrincipalStatus(id: string, status: PrincipalStatus, reason: string | null, at: string, audit: AuditEvents<boolean>): Promise<boolean>;

  insertApiKey(row: ApiKeyRow, audit: readonly AuditEvent[]): Promise<void>;
  getApiKey(id: string): Promise<ApiKeyRow | null>;
  /** Marks the key revoked; false when unknown or already revoked. */
  revokeApiKey(id: string, at: string, audit: AuditEvents<boolean>): Promise<boolean>;

  /** Idempotent: revoking a revoked token changes nothing but still commits the events. */
  revokeToken(row: RevokedToken, audit: readonly AuditEvent[]): Promise<void>;
  isTokenRevoked(tokenId: string): Promise<boolean>;

  insertBreakGlass(grant: BreakGlassGrant, audit: readonly AuditEvent[]): Promise<void>;
  /** The principal's grant for the tenant that is still open at `now` (latest expiry), if any. */
  activeBreakGlass(principalId: string, tenantId: string, now: string): Promise<BreakGlassGrant | null>;

  insertExportJob(job: ExportJob, audit: readonly AuditEvent[]): Promise<void>;
  getExportJob(id: string): Promise<ExportJob | null>;
  /**
   * Approves atomically: only a job still awaiting approval, not expired at `at`, by an approver
   * other than the requester. Returns false (changing nothing) otherwise.
   */
  approveExportJob(id: string, approverId: string, at: string, audit: AuditEvents<boolean>): Promise<boolean>;

  /** Clinical records of one tenant matching the search, ordered by id, at most `limit`. */
  searchResources(tenantId: string, q: ResourceSearch): Promise<ResourceRow[]>;
  /** How many records match the search, ignoring afterId and limit. */
  countSearch(tenantId: string, q: Omit<ResourceSearch, 'afterId' | 'limit'>): Promise<number>;
  /** Patient ids of a tenant (erased ones excluded), ordered by id, after `afterId`. */
  listPatientIds(tenantId: string, afterId: string, limit: number, createdSince?: string): Promise<string[]>;
  /**
   * The blind indexes of a tenant's patients (erased ones excluded), ordered by id, after
   * `afterId`: what a leak scan matches candidates against, without decrypting anyone.
   */
  listBlindIndexes(tenantId: string, afterId: string, limit: number): Promise<BlindIndexPage>;
}

/**
 * A page of a tenant's blind indexes, packed: a leak scan loads every patient's, and an object
 * with two Buffers per row was most of its start-up (0.34 s for 110,000 patients in SQLite).
 */
export interface BlindIndexPage {
  /** Patient ids, in id order. */
  ids: string[];
  /** The stored 16-byte BSN indexes, concatenated, of the rows (indexes into `ids`) in `bsnRows`; other rows have none. */
  bsn: Buffer;
  bsnRows: Int32Array;
  /** The same for the name + birth date indexes. */
  name: Buffer;
  nameRows: Int32Array;
}

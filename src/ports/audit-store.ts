import type { AuditEvent } from '../domain/audit-event.js';

/**
 * Storage side of the audit log, implemented by each VaultStore adapter so that a vault write and
 * its event commit in one transaction. The Merkle bookkeeping (positions, chaining, tiles) is
 * shared code (src/audit/tree-state.ts); adapters only serialise appenders and persist rows.
 * Every table here is append-only: the adapters' triggers refuse UPDATE and DELETE.
 */
export interface AuditHead {
  readonly size: number;
  readonly root: Buffer;
  /**
   * Identifies the adapter's in-memory tree state: it changes whenever the state is (re)loaded
   * from stored tiles, and stays while the state only grows by this process's own appends.
   */
  readonly lineage: number;
}

export interface StoredCheckpoint {
  readonly size: number;
  readonly root: Buffer;
  /** The signed note (C2SP tlog-checkpoint), exactly as signed. */
  readonly note: string;
  readonly createdAt: string;
}

export interface AuditQuery {
  readonly principalId?: string;
  readonly tenantId?: string;
  /** Needs tenantId: patient ids are unique per tenant. */
  readonly patientId?: string;
  /** A client address: only events that came from it (through the origin index). */
  readonly origin?: string;
  /** ISO times, inclusive from, exclusive to. */
  readonly from?: string;
  readonly to?: string;
  /** Only events with seq > afterSeq (paging). */
  readonly afterSeq?: number;
  readonly limit: number;
}

/** An event row's query columns next to its bytes (the deep check compares them). */
export interface AuditIndexRow {
  readonly seq: number;
  readonly time: string;
  readonly action: string;
  readonly outcome: string;
  readonly principalId: string;
  readonly tenantId: string | null;
  readonly bytes: Buffer;
}

/** A row of the origin index: the client address of event `seq` (bucket: as the patient index's). */
export interface AuditOriginRef {
  readonly bucket: number;
  readonly ip: string;
  readonly seq: number;
}

/** A row of the patient index: see storage/audit-rows.ts for the key. */
export interface AuditPatientRef {
  readonly bucket: number;
  readonly ref: bigint;
  readonly seq: number;
}

export interface StoredAuditEvent {
  readonly seq: number;
  /** Canonical bytes, exactly as hashed into the tree. */
  readonly bytes: Buffer;
}

/** Events to append with a write, fixed up front or derived from what the write did. */
export type AuditEvents<T> = readonly AuditEvent[] | ((result: T) => readonly AuditEvent[]);

export interface AuditStore {
  /** Appends events in one transaction (fail closed: the caller's operation fails if this does). */
  appendAudit(events: readonly AuditEvent[]): Promise<AuditHead>;
  /** Size and root of the committed log. */
  auditHead(): Promise<AuditHead>;
  /** Canonical bytes of the stored events with from ≤ seq < to, in seq order, in pages (gaps included). */
  readAuditEvents(from: number, to: number): AsyncIterable<Buffer[]>;
  getAuditEvent(seq: number): Promise<Buffer | null>;
  /**
   * Every stored event (any seq, gaps and strays included), in seq order, as pages of canonical
   * bytes joined by newlines: what the verifier reads, concatenated by the database. With
   * `fast`, an adapter may concatenate in its scan order where that is seq order in practice but
   * not guaranteed by the engine (SQLite's rowid range scan); a verification that fails must then
   * be repeated without it before it is reported.
   */
  readAuditNdjson(opts?: { fast?: boolean }): AsyncIterable<Buffer>;
  /** Every event row with its query columns, in seq order, in pages. */
  readAuditIndexRows(): AsyncIterable<AuditIndexRow[]>;
  /** Every row of the patient index, in key order, in pages. */
  readAuditPatientRefs(): AsyncIterable<AuditPatientRef[]>;
  /** Every row of the origin index, in key order, in pages. */
  readAuditOriginRefs(): AsyncIterable<AuditOriginRef[]>;
  /** A complete tile (see audit/tile-nodes.ts), or null. */
  getAuditTile(level: number, index: number): Promise<Buffer | null>;
  queryAudit(q: AuditQuery): Promise<StoredAuditEvent[]>;

  /**
   * Stores a checkpoint. Idempotent for the same size and root (two processes may sign the same
   * head); a different root for a stored size throws IntegrityViolation. The write is durable
   * (synchronously flushed) even in bulk-load mode, and so is everything committed before it.
   */
  addCheckpoint(cp: StoredCheckpoint): Promise<void>;
  listCheckpoints(): Promise<StoredCheckpoint[]>;
  latestCheckpoint(): Promise<StoredCheckpoint | null>;
}

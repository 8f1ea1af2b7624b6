import { IntegrityViolation, InvalidInput } from '../domain/errors.js';
import type { Role } from '../domain/principal.js';
import type {
  ApiKeyRow,
  BreakGlassGrant,
  ExportJob,
  ExportState,
  PrincipalRow,
  PrincipalStatus,
  RevokedToken,
} from '../ports/access-store.js';
import { iso, type Row } from './row-mappers.js';

/**
 * The access tables (migration 3) as both adapters read and write them: column lists, port rows →
 * bound values, database rows → port rows. Shared so the two backends cannot drift, and so every
 * timestamp is normalised the same way before it reaches either database.
 */
export type Dialect = 'sqlite' | 'postgres';

/** One table: its key column, its columns in order, and the conversions both ways. */
export interface AccessTable<T> {
  readonly name: string;
  readonly key: string;
  readonly columns: readonly string[];
  /** What the Conflict on a duplicate key says (no identifiers: ids may be echoed to clients). */
  readonly duplicate: string;
  readonly values: (row: T) => unknown[];
  readonly fromRow: (r: Row) => T;
}

// Hour and minute are required, an offset too: a date-only or zone-less value would be read in
// whatever zone the process or server runs in.
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * An ISO 8601 instant as `YYYY-MM-DDTHH:MM:SS.mmmZ`. SQLite stores timestamps as text and compares
 * them as text, so expiry checks are only right when every stored and compared value has this one
 * shape ('…00Z' sorts after '…00.500Z'); PostgreSQL would accept them anyway, and normalising on
 * both keeps their answers identical.
 */
export function instant(v: string): string {
  const ms = INSTANT.test(v) ? Date.parse(v) : NaN;
  if (Number.isNaN(ms)) throw new InvalidInput('timestamp must be an ISO 8601 instant with a zone');
  return new Date(ms).toISOString();
}

export function instantOrNull(v: string | null): string | null {
  return v === null ? null : instant(v);
}

export function isoOrNull(v: unknown): string | null {
  return v == null ? null : iso(v);
}

/** A JSON text column as stored; text that does not parse means the row was not written by us. */
export function jsonColumn(v: unknown): unknown {
  try {
    return JSON.parse(v as string);
  } catch (cause) {
    throw new IntegrityViolation('a stored row holds malformed JSON', { cause });
  }
}

/** A JSON list column; anything else in it means the row was not written by us. */
export function stringList(v: unknown): string[] {
  const parsed = jsonColumn(v);
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) {
    throw new IntegrityViolation('a stored row holds a malformed list column');
  }
  return parsed;
}

export const textOrNull = (v: unknown): string | null => (v as string | null) ?? null;

export const PRINCIPALS: AccessTable<PrincipalRow> = {
  name: 'principals',
  key: 'id',
  columns: ['id', 'name', 'role', 'tenants', 'purpose', 'scopes', 'status', 'status_reason', 'created_at', 'updated_at'],
  duplicate: 'a principal with this id exists',
  values: (p) => [
    p.id,
    p.name,
    p.role,
    JSON.stringify(p.tenants),
    p.purpose,
    JSON.stringify(p.scopes),
    p.status,
    p.statusReason,
    instant(p.createdAt),
    instant(p.updatedAt),
  ],
  fromRow: (r) => ({
    id: r.id as string,
    name: r.name as string,
    role: r.role as Role,
    tenants: stringList(r.tenants),
    purpose: textOrNull(r.purpose),
    scopes: stringList(r.scopes),
    status: r.status as PrincipalStatus,
    statusReason: textOrNull(r.status_reason),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  }),
};

export const API_KEYS: AccessTable<ApiKeyRow> = {
  name: 'api_keys',
  key: 'id',
  columns: ['id', 'principal_id', 'secret_hash', 'created_at', 'expires_at', 'revoked_at'],
  duplicate: 'an API key with this id exists',
  values: (k) => [k.id, k.principalId, k.secretHash, instant(k.createdAt), instant(k.expiresAt), instantOrNull(k.revokedAt)],
  fromRow: (r) => ({
    id: r.id as string,
    principalId: r.principal_id as string,
    secretHash: r.secret_hash as Buffer,
    createdAt: iso(r.created_at),
    expiresAt: iso(r.expires_at),
    revokedAt: isoOrNull(r.revoked_at),
  }),
};

export const REVOKED_TOKENS: AccessTable<RevokedToken> = {
  name: 'revoked_tokens',
  key: 'token_id',
  columns: ['token_id', 'principal_id', 'revoked_at', 'expires_at'],
  duplicate: 'token already revoked',
  values: (t) => [t.tokenId, t.principalId, instant(t.revokedAt), instant(t.expiresAt)],
  fromRow: (r) => ({
    tokenId: r.token_id as string,
    principalId: r.principal_id as string,
    revokedAt: iso(r.revoked_at),
    expiresAt: iso(r.expires_at),
  }),
};

export const BREAK_GLASS: AccessTable<BreakGlassGrant> = {
  name: 'break_glass',
  key: 'id',
  columns: ['id', 'principal_id', 'tenant_id', 'created_at', 'expires_at'],
  duplicate: 'a break-glass grant with this id exists',
  values: (g) => [g.id, g.principalId, g.tenantId, instant(g.createdAt), instant(g.expiresAt)],
  fromRow: (r) => ({
    id: r.id as string,
    principalId: r.principal_id as string,
    tenantId: r.tenant_id as string,
    createdAt: iso(r.created_at),
    expiresAt: iso(r.expires_at),
  }),
};

export const EXPORT_JOBS: AccessTable<ExportJob> = {
  name: 'export_jobs',
  key: 'id',
  columns: ['id', 'requester_id', 'tenant_id', 'types', 'since', 'state', 'approver_id', 'created_at', 'approved_at', 'expires_at'],
  duplicate: 'an export job with this id exists',
  values: (j) => [
    j.id,
    j.requesterId,
    j.tenantId,
    JSON.stringify(j.types),
    instantOrNull(j.since),
    j.state,
    j.approverId,
    instant(j.createdAt),
    instantOrNull(j.approvedAt),
    instant(j.expiresAt),
  ],
  fromRow: (r) => ({
    id: r.id as string,
    requesterId: r.requester_id as string,
    tenantId: r.tenant_id as string,
    types: stringList(r.types),
    since: isoOrNull(r.since),
    state: r.state as ExportState,
    approverId: textOrNull(r.approver_id),
    createdAt: iso(r.created_at),
    approvedAt: isoOrNull(r.approved_at),
    expiresAt: iso(r.expires_at),
  }),
};

/** `?` for SQLite, `$1…$n` for PostgreSQL. */
export function placeholders(n: number, dialect: Dialect): string {
  return Array.from({ length: n }, (_, i) => (dialect === 'sqlite' ? '?' : `$${i + 1}`)).join(', ');
}

/** INSERT that skips an existing key, so the adapter sees "0 rows" and throws Conflict itself. */
export function insertSql<T>(t: AccessTable<T>, dialect: Dialect): string {
  return `INSERT INTO ${t.name} (${t.columns.join(', ')}) VALUES (${placeholders(t.columns.length, dialect)}) ON CONFLICT (${t.key}) DO NOTHING`;
}

export function selectSql<T>(t: AccessTable<T>): string {
  return `SELECT ${t.columns.join(', ')} FROM ${t.name}`;
}

import type { Pool, PoolClient } from 'pg';
import type { AuditEvent } from '../../domain/audit-event.js';
import { IntegrityViolation } from '../../domain/errors.js';
import { TreeState } from '../../audit/tree-state.js';
import type { TileSource } from '../../audit/tile-nodes.js';
import type {
  AuditEvents,
  AuditHead,
  AuditIndexRow,
  AuditOriginRef,
  AuditPatientRef,
  AuditQuery,
  StoredAuditEvent,
  StoredCheckpoint,
} from '../../ports/audit-store.js';
import { originRef, patientRefs, toAuditIndexRow } from '../audit-rows.js';
import { auditQuerySql, runAuditQuery } from '../audit-query.js';

const AUDIT_LOCK_CLASS = 0x6c61; // 'la'
const PAGE = 4096;

type Tx = <T>(fn: (c: PoolClient) => Promise<T>) => Promise<T>;
type Queryable = Pick<PoolClient, 'query'>;

/**
 * The audit half of the PostgreSQL adapter. Appenders serialise on a transaction-scoped advisory
 * lock taken as the last step of the write transaction (so it is held only for the append and the
 * commit); holding it, the appender reads the committed size and reloads its state if another
 * process appended. The state is adopted only after COMMIT.
 */
export class PostgresAuditLog {
  private state: TreeState | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
    private readonly tx: Tx,
  ) {}

  async write<T>(events: AuditEvents<T>, body: (c: PoolClient) => Promise<T>, opts: { syncOff?: boolean } = {}): Promise<T> {
    let next: TreeState | undefined;
    try {
      const out = await this.tx(async (c) => {
        if (opts.syncOff) await c.query('SET LOCAL synchronous_commit TO off');
        const r = await body(c);
        next = await this.appendInTx(c, typeof events === 'function' ? events(r) : events);
        return r;
      });
      if (next) this.state = next;
      return out;
    } catch (e) {
      this.state = undefined;
      throw e;
    }
  }

  async head(): Promise<AuditHead> {
    const state = await this.stateAt(this.pool, await this.size(this.pool));
    return { size: state.size, root: state.root(), lineage: state.lineage };
  }

  async *read(from: number, to: number): AsyncGenerator<Buffer[]> {
    const chunk = 4096;
    for (let at = from; at < to; at += chunk) {
      const { rows } = await this.pool.query<{ event: Buffer }>(
        'SELECT event FROM audit_events WHERE seq >= $1 AND seq < $2 ORDER BY seq',
        [at, Math.min(to, at + chunk)],
      );
      if (rows.length > 0) yield rows.map((r) => r.event);
      if (rows.length < Math.min(chunk, to - at)) return;
    }
  }

  /** Keyset pages from the lowest stored seq, concatenated by the server in seq order. */
  async *ndjson(): AsyncGenerator<Buffer> {
    for (let at = Number.MIN_SAFE_INTEGER; ;) {
      const { rows } = await this.pool.query<{ last: string | null; n: number; b: Buffer | null }>(
        "SELECT max(seq) AS last, count(*)::int AS n, string_agg(event, '\\x0a'::bytea ORDER BY seq) AS b FROM (SELECT seq, event FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2) t",
        [at, PAGE],
      );
      const page = rows[0];
      if (page?.b) yield page.b;
      if (!page || page.n < PAGE || page.last === null) return;
      at = Number(page.last) + 1;
    }
  }

  async *indexRows(): AsyncGenerator<AuditIndexRow[]> {
    for (let at = Number.MIN_SAFE_INTEGER; ;) {
      const { rows } = await this.pool.query<{
        seq: string;
        time: string;
        action: string;
        outcome: string;
        principal_id: string;
        tenant_id: string | null;
        event: Buffer;
      }>('SELECT seq, time, action, outcome, principal_id, tenant_id, event FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2', [
        at,
        PAGE,
      ]);
      if (rows.length > 0) {
        yield rows.map(toAuditIndexRow);
      }
      const last = rows[rows.length - 1];
      if (!last || rows.length < PAGE) return;
      at = Number(last.seq) + 1;
    }
  }

  async *patientRefs(): AsyncGenerator<AuditPatientRef[]> {
    let after: [number, string, number] = [-1, '0', -1];
    for (;;) {
      const { rows } = await this.pool.query<{ bucket: number; ref: string; seq: string }>(
        'SELECT bucket, ref, seq FROM audit_patients WHERE (bucket, ref, seq) > ($1, $2::bigint, $3) ORDER BY bucket, ref, seq LIMIT $4',
        [...after, PAGE],
      );
      if (rows.length > 0) yield rows.map((r) => ({ bucket: r.bucket, ref: BigInt(r.ref), seq: Number(r.seq) }));
      const last = rows[rows.length - 1];
      if (!last || rows.length < PAGE) return;
      after = [last.bucket, last.ref, Number(last.seq)];
    }
  }

  async *originRefs(): AsyncGenerator<AuditOriginRef[]> {
    let after: [number, string, number] = [-1, '', -1];
    for (;;) {
      const { rows } = await this.pool.query<{ bucket: number; ip: string; seq: string }>(
        'SELECT bucket, ip, seq FROM audit_origins WHERE (bucket, ip, seq) > ($1, $2, $3) ORDER BY bucket, ip, seq LIMIT $4',
        [...after, PAGE],
      );
      if (rows.length > 0) yield rows.map((r) => ({ bucket: r.bucket, ip: r.ip, seq: Number(r.seq) }));
      const last = rows[rows.length - 1];
      if (!last || rows.length < PAGE) return;
      after = [last.bucket, last.ip, Number(last.seq)];
    }
  }

  async event(seq: number, q: Queryable = this.pool): Promise<Buffer | null> {
    const { rows } = await q.query<{ event: Buffer }>('SELECT event FROM audit_events WHERE seq = $1', [seq]);
    return rows[0]?.event ?? null;
  }

  async tile(level: number, index: number, q: Queryable = this.pool): Promise<Buffer | null> {
    const { rows } = await q.query<{ hashes: Buffer }>('SELECT hashes FROM audit_tiles WHERE level = $1 AND idx = $2', [level, index]);
    return rows[0]?.hashes ?? this.state?.partialTile(level, index) ?? null;
  }

  async query(q: AuditQuery): Promise<StoredAuditEvent[]> {
    const last = await this.size(this.pool);
    return runAuditQuery(q, async (page) => {
      const { sql, args } = auditQuerySql(page, 'postgres', last - 1);
      const { rows } = await this.pool.query<{ seq: string; bytes: Buffer }>(sql, args);
      return rows.map((r) => ({ seq: Number(r.seq), bytes: r.bytes }));
    });
  }

  async addCheckpoint(cp: StoredCheckpoint): Promise<void> {
    await this.tx(async (c) => {
      // Synchronous commit even in bulk-load mode: its WAL flush also makes every earlier
      // asynchronous commit durable, so the checkpoint never outlives the events it covers.
      await c.query('SET LOCAL synchronous_commit TO on');
      await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [AUDIT_LOCK_CLASS, this.schema]);
      const { rows } = await c.query<{ root: Buffer }>('SELECT root FROM audit_checkpoints WHERE size = $1', [cp.size]);
      const existing = rows[0];
      if (existing) {
        if (!existing.root.equals(cp.root)) throw new IntegrityViolation(`a different checkpoint exists for size ${cp.size}`);
        return;
      }
      await c.query('INSERT INTO audit_checkpoints (size, root, note, created_at) VALUES ($1, $2, $3, $4)', [
        cp.size,
        cp.root,
        cp.note,
        cp.createdAt,
      ]);
    });
  }

  async checkpoints(latestOnly = false): Promise<StoredCheckpoint[]> {
    const { rows } = await this.pool.query<{ size: string; root: Buffer; note: string; created_at: string }>(
      `SELECT size, root, note, created_at FROM audit_checkpoints ORDER BY size ${latestOnly ? 'DESC LIMIT 1' : ''}`,
    );
    return rows.map((r) => ({ size: Number(r.size), root: r.root, note: r.note, createdAt: r.created_at }));
  }

  private async size(q: Queryable): Promise<number> {
    const { rows } = await q.query<{ seq: string }>('SELECT seq FROM audit_events ORDER BY seq DESC LIMIT 1');
    return rows[0] ? Number(rows[0].seq) + 1 : 0;
  }

  private async stateAt(q: Queryable, size: number): Promise<TreeState> {
    if (this.state?.size === size) return this.state;
    const source: TileSource = {
      tile: (l, i) => this.tile(l, i, q),
      event: async (seq) => {
        const e = await this.event(seq, q);
        if (!e) throw new IntegrityViolation(`audit event ${seq} is missing`);
        return e;
      },
    };
    return TreeState.load(size, source);
  }

  private async appendInTx(c: PoolClient, events: readonly AuditEvent[]): Promise<TreeState | undefined> {
    if (events.length === 0) return undefined;
    await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [AUDIT_LOCK_CLASS, this.schema]);
    const state = await this.stateAt(c, await this.size(c));
    const sealed = state.seal(events);
    const rows = sealed.rows;
    await c.query(
      `INSERT INTO audit_events (seq, time, action, outcome, principal_id, tenant_id, event)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[])`,
      [
        rows.map((r) => r.seq),
        rows.map((r) => r.event.time),
        rows.map((r) => r.event.action),
        rows.map((r) => r.event.outcome),
        rows.map((r) => r.event.principal.id),
        rows.map((r) => r.event.tenant),
        rows.map((r) => r.bytes),
      ],
    );
    const refs = rows.flatMap((r) => patientRefs(r).map((p) => ({ ...p, seq: r.seq })));
    if (refs.length > 0) {
      await c.query('INSERT INTO audit_patients (bucket, ref, seq) SELECT * FROM unnest($1::int[], $2::bigint[], $3::bigint[])', [
        refs.map((p) => p.bucket),
        refs.map((p) => p.ref.toString()),
        refs.map((p) => p.seq),
      ]);
    }
    const origins = rows.flatMap((r) => {
      const o = originRef(r);
      return o ? [{ ...o, seq: r.seq }] : [];
    });
    if (origins.length > 0) {
      await c.query('INSERT INTO audit_origins (bucket, ip, seq) SELECT * FROM unnest($1::int[], $2::text[], $3::bigint[])', [
        origins.map((o) => o.bucket),
        origins.map((o) => o.ip),
        origins.map((o) => o.seq),
      ]);
    }
    if (sealed.tiles.length > 0) {
      await c.query('INSERT INTO audit_tiles (level, idx, hashes) SELECT * FROM unnest($1::int[], $2::bigint[], $3::bytea[])', [
        sealed.tiles.map((t) => t.level),
        sealed.tiles.map((t) => t.index),
        sealed.tiles.map((t) => t.hashes),
      ]);
    }
    return sealed.next;
  }
}

import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { AuditLog } from '../audit/audit-log.js';
import type { Vault } from '../compose.js';
import type { Config } from '../config.js';
import { createAlert, MAX_SUMMARY, type Alert } from '../domain/alert.js';
import { bsnFreeId } from '../domain/validate-resource.js';
import { ErrorCode } from '../domain/errors.js';
import { AuditProver } from '../audit/audit-prover.js';
import { TileNodes } from '../audit/tile-nodes.js';
import type { AuditEvent } from '../domain/audit-event.js';
import type { AccessContext } from '../domain/principal.js';
import type { AlertSink } from '../ports/alert-sink.js';
import { systemClock, type Clock } from '../ports/clock.js';
import { AuditIntegrityProbe } from './integrity-monitor-audit.js';
import { PostgresIntegrityProbe } from './integrity-monitor-postgres.js';
import { errorCode, failed, isTransient, passed, type IntegrityCheck, type IntegrityProbe } from './integrity-monitor-probe.js';
import { SqliteIntegrityProbe } from './integrity-monitor-sqlite.js';

export type { IntegrityCheck, IntegrityProbe } from './integrity-monitor-probe.js';

/** The alert rule (and audit detail) of an integrity failure. */
export const INTEGRITY_RULE = 'integrity.failed';

/** The automated actor of integrity failures in alerts and the audit log. */
const INTEGRITY_CONTEXT: AccessContext = {
  principal: { id: 'labvault-integrity', role: 'security-officer', tenants: ['*'] },
  purpose: 'HOPERAT',
  origin: { ip: null, userAgent: 'labvault-integrity', requestId: null },
  local: true,
};

/** How long a failure waits for its alert to be handed over, and for the newest backup's name. */
const ALERT_WAIT_MS = 3000;
const BACKUP_WAIT_MS = 5000;

/** The newest backup that verified, as the backup module names it. */
export interface NewestBackup {
  readonly id: string;
  readonly path: string;
}

export interface IntegrityResult {
  readonly ok: boolean;
  readonly checks: readonly IntegrityCheck[];
  /** The failed checks as `name: detail`, joined; null when ok. Names files and checks only. */
  readonly reason: string | null;
  /** ISO 8601 UTC: when the run started. */
  readonly at: string;
}

export interface IntegrityFailure {
  readonly reason: string;
  /** Names of the failed checks (`sqlite.header`, `audit.witness`). */
  readonly checks: readonly string[];
  readonly at: string;
  readonly newestBackup: NewestBackup | null;
}

/** What the server asks before every request: null while the store is intact. */
export interface IntegrityStatus {
  readonly failure: IntegrityFailure | null;
}

export interface IntegrityMonitorOptions {
  /** Run in this order; each catches its own errors. */
  probes: readonly IntegrityProbe[];
  clock?: Clock;
  /** Where the failure's alert goes (critical, rule `integrity.failed`); null: none. */
  alerts?: AlertSink | null;
  /** Records the failure as a `detection.alert` event, best effort (the store may be what failed). */
  audit?: AuditLog | null;
  /** Names the newest verified backup in the failure and its alert (the backup module supplies it). */
  newestBackup?: () => Promise<NewestBackup | null>;
  /** Called once, when the state flips to failed (serve prints it). */
  onFailure?: (failure: IntegrityFailure) => void;
  /** Background failures (alert delivery, audit record, a check that could not run). */
  onError?: (what: string, e: unknown) => void;
  /** Wait before a failed run is repeated to confirm it (a WAL header being rewritten, a busy moment). */
  confirmMs?: number;
}

/**
 * Ransomware detection on the live store: the checks of the probes (SQLite file identity,
 * header and WAL header, schema; or the PostgreSQL schema; a read through the store's own
 * connection; the audit root against the witness), once in full at start-up and then the cheap
 * ones every interval. The first confirmed failure flips a sticky `failed` state that the server
 * answers 503 on (only a restart, after a restore, clears it: a store that failed once is not
 * trusted because it looks right again), records it, and raises a critical alert naming the
 * newest verified backup.
 *
 * A failed run is repeated after `confirmMs` before it counts, and a run whose only failures are
 * "could not ask" (busy, no connection) never counts: a false alarm would take the lab's results
 * service down.
 */
export class IntegrityMonitor implements IntegrityStatus {
  private state: IntegrityFailure | null = null;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private closed = false;
  /** A streak of runs that could not ask is reported once, not every interval. */
  private unavailableReported = false;
  private readonly clock: Clock;
  private readonly onError: (what: string, e: unknown) => void;
  private readonly confirmMs: number;

  constructor(private readonly opts: IntegrityMonitorOptions) {
    this.clock = opts.clock ?? systemClock;
    this.onError =
      opts.onError ??
      ((what: string, e: unknown) => process.stderr.write(`labvault: ${what}: ${e instanceof Error ? e.message : String(e)}\n`));
    this.confirmMs = opts.confirmMs ?? 250;
  }

  /** The probes for a vault's backend, its store read and its audit witness; alerts through `alerts`. */
  static forVault(vault: Vault, opts: Omit<IntegrityMonitorOptions, 'probes' | 'clock' | 'audit'> = {}): IntegrityMonitor {
    const db = vault.config.database;
    const store = vault.store;
    let storeProbe: IntegrityProbe;
    let tree: () => TileNodes;
    if (db.kind === 'sqlite') {
      const sqlite = new SqliteIntegrityProbe(db.file);
      storeProbe = sqlite;
      tree = () => new TileNodes(sqlite.storedTree());
    } else {
      storeProbe = new PostgresIntegrityProbe(db.url, db.schema);
      // The store's own reader, as `audit prove` uses it (it also serves the right edge it holds in memory).
      tree = () => new AuditProver(store, () => null).nodes();
    }
    return new IntegrityMonitor({
      ...opts,
      probes: [
        storeProbe,
        readProbe(() => store.listTenants()),
        new AuditIntegrityProbe(store, tree, vault.audit.witness, vault.audit.verifierKey),
      ],
      clock: vault.clock,
      audit: vault.audit,
    });
  }

  /** The SQLite file and WAL headers before the store opens them (see SqliteIntegrityProbe.files); ok for PostgreSQL or no file yet. */
  static async beforeOpen(database: Config['database'], clock: Clock = systemClock): Promise<IntegrityResult> {
    const at = clock.now().toISOString();
    if (database.kind !== 'sqlite' || !existsSync(database.file)) return { ok: true, checks: [], reason: null, at };
    const probe = new SqliteIntegrityProbe(database.file);
    try {
      return result(await probe.files(), at);
    } finally {
      await probe.close();
    }
  }

  get failure(): IntegrityFailure | null {
    return this.state;
  }

  /** Every check, the slow start-up ones included; confirmed. Changes no state: the caller decides. */
  fullCheck(): Promise<IntegrityResult> {
    return this.confirmed('full');
  }

  /** The cheap checks once; confirmed. Changes no state. */
  check(): Promise<IntegrityResult> {
    return this.confirmed('cheap');
  }

  /** Runs the cheap checks every `intervalMs` until the first failure (then raise()) or stop(). */
  start(intervalMs: number): void {
    if (this.timer || this.closed || this.state) return;
    this.timer = setInterval(() => {
      // A slow run (a big WAL, a slow disk) is never overlapped by the next.
      if (this.running) return;
      this.running = this.tick().finally(() => {
        this.running = null;
      });
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops the checks and releases the probes' connections; call before the vault closes. */
  async close(): Promise<void> {
    this.closed = true;
    this.stop();
    await this.running;
    for (const p of this.opts.probes) await p.close().catch((e: unknown) => this.onError('integrity probe close failed', e));
  }

  /**
   * Flips to failed (once; later calls return the first failure), then names the newest verified
   * backup, records the failure in the audit log and alerts. Requests are refused from the moment
   * the state flips, before the slower steps.
   */
  async raise(result: IntegrityResult): Promise<IntegrityFailure> {
    if (this.state) return this.state;
    this.stop();
    const bad = result.checks.filter((c) => !c.ok);
    const first: IntegrityFailure = {
      reason: result.reason ?? 'integrity check failed',
      checks: bad.map((c) => c.name),
      at: result.at,
      newestBackup: null,
    };
    this.state = first;
    const failure: IntegrityFailure = { ...first, newestBackup: await this.newestBackup() };
    this.state = failure;
    try {
      this.opts.onFailure?.(failure);
    } catch (e) {
      this.onError('integrity failure report failed', e);
    }
    this.record(failure);
    await this.alert(failure);
    return failure;
  }

  private async tick(): Promise<void> {
    try {
      const r = await this.check();
      if (this.closed || this.state) return;
      if (r.ok) {
        this.unavailableReported = false;
        return;
      }
      if (r.checks.every((c) => c.ok || c.transient === true)) {
        if (!this.unavailableReported) this.onError('integrity check could not run', new Error(r.reason ?? 'unavailable'));
        this.unavailableReported = true;
        return;
      }
      await this.raise(r);
    } catch (e) {
      this.onError('integrity check failed to run', e);
    }
  }

  private async confirmed(kind: 'cheap' | 'full'): Promise<IntegrityResult> {
    const r = await this.once(kind);
    if (r.ok) return r;
    await new Promise((resolve) => setTimeout(resolve, this.confirmMs));
    return this.once(kind);
  }

  private async once(kind: 'cheap' | 'full'): Promise<IntegrityResult> {
    const at = this.clock.now().toISOString();
    const checks: IntegrityCheck[] = [];
    for (const p of this.opts.probes) {
      try {
        checks.push(...(await (kind === 'full' ? p.full() : p.cheap())));
      } catch (e) {
        checks.push(failed('integrity.probe', `a check could not run (${errorCode(e)})`, isTransient(e)));
      }
    }
    return result(checks, at);
  }

  private async newestBackup(): Promise<NewestBackup | null> {
    const lookup = this.opts.newestBackup;
    if (!lookup) return null;
    try {
      const b = await within(lookup(), BACKUP_WAIT_MS);
      return b ? { id: b.id, path: b.path } : null;
    } catch (e) {
      this.onError('newest backup unknown', e);
      return null;
    }
  }

  private record(f: IntegrityFailure): void {
    const audit = this.opts.audit;
    if (!audit) return;
    const event = (backup: string | null): AuditEvent =>
      audit.event(INTEGRITY_CONTEXT, {
        action: 'detection.alert',
        outcome: 'error',
        reason: ErrorCode.IntegrityViolation,
        detail: { rule: INTEGRITY_RULE, checks: f.checks.join(','), backup },
      });
    try {
      let e: AuditEvent;
      try {
        e = event(f.newestBackup?.id ?? null);
      } catch {
        // As with the alert: a backup id the event rules refuse is left out, not the event.
        e = event(null);
      }
      audit.record([e]).catch((err: unknown) => this.onError('integrity failure not recorded in the audit log', err));
    } catch (err) {
      this.onError('integrity failure not recorded in the audit log', err);
    }
  }

  private async alert(f: IntegrityFailure): Promise<void> {
    const sink = this.opts.alerts;
    if (!sink) return;
    // Check names only: details may carry file names, which a collector does not need.
    const base = `store failed its integrity check: ${f.checks.join(', ')}`;
    const build = (summary: string): Alert =>
      createAlert(
        { severity: 'critical', rule: INTEGRITY_RULE, principal: INTEGRITY_CONTEXT.principal.id, summary: summary.slice(0, MAX_SUMMARY) },
        { id: bsnFreeId(randomUUID), time: this.clock.now() },
      );
    let alert: Alert;
    try {
      alert = build(f.newestBackup ? `${base}; newest verified backup ${f.newestBackup.id}` : base);
    } catch {
      // A backup id the alert rules refuse (one that looks like a BSN) must not cost the alert.
      try {
        alert = build(base);
      } catch (e) {
        this.onError('integrity alert not built', e);
        return;
      }
    }
    try {
      await within(sink.send(alert), ALERT_WAIT_MS);
    } catch (e) {
      this.onError('integrity alert delivery failed', e);
    }
  }
}

/** `store.read`: a read of a known table through the store's own connection, the one requests use. */
export function readProbe(read: () => Promise<unknown>): IntegrityProbe {
  const run = async (): Promise<IntegrityCheck[]> => {
    try {
      await read();
      return [passed('store.read', 'a read of the tenants table succeeds')];
    } catch (e) {
      return [failed('store.read', `a read of the tenants table fails (${errorCode(e)})`, isTransient(e))];
    }
  };
  return { cheap: run, full: run, close: async () => undefined };
}

function result(checks: IntegrityCheck[], at: string): IntegrityResult {
  const bad = checks.filter((c) => !c.ok);
  return { ok: bad.length === 0, checks, reason: bad.length === 0 ? null : bad.map((c) => `${c.name}: ${c.detail}`).join('; '), at };
}

/** One line for the operator: what failed and where to restore from. */
export function describeFailure(f: IntegrityFailure): string {
  const backup = f.newestBackup ? `; newest verified backup: ${f.newestBackup.id} (${f.newestBackup.path})` : '; no verified backup named';
  return `the store failed its integrity check: ${f.reason}${backup}`;
}

/** Rejects when `p` has not settled within `ms` (p itself keeps running). */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

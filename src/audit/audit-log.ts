import { hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { auditEvent, type AuditEvent, type AuditFacts } from '../domain/audit-event.js';
import { IntegrityViolation, KeyUnavailable, VaultError } from '../domain/errors.js';
import type { AccessContext } from '../domain/principal.js';
import type { AuditHead, AuditStore, StoredCheckpoint } from '../ports/audit-store.js';
import type { CheckpointWitness } from '../ports/checkpoint-witness.js';
import type { Clock } from '../ports/clock.js';
import type { KeyProvider } from '../ports/key-provider.js';
import { CheckpointSigner } from './checkpoint-signer.js';
import { AuditProver, type InclusionProofResult } from './audit-prover.js';
import { openNote, parseCheckpointText, parseVerifierKey } from './verifier/signed-note.js';
import { CompactRange, leafHash } from './verifier/rfc6962.js';
import { verifyLog, type VerifyLogResult } from './verifier/verify-log.js';

export interface AuditLogOptions {
  /** Sign a checkpoint once this many events are uncovered… */
  readonly checkpointEvents: number;
  /** …or this many milliseconds after the first uncovered event. */
  readonly checkpointMs: number;
  /** Ship each checkpoint's events to the witness's journal too (default true; see CheckpointWitness.journal). */
  readonly journal?: boolean;
  /**
   * false: commits never make a checkpoint due (no rule, no timer), for a log over a copy that
   * must stay as it was taken (a backup's canary planting): without it the first-commit rule
   * signed a snapshot taken before its log's first checkpoint, into the copy.
   */
  readonly signs?: boolean;
}

/** Largest journal segment, in events (a first shipping of a long log is cut into these). */
const JOURNAL_SEGMENT_EVENTS = 100_000;

/**
 * The audit log as services see it: builds events for an access context, appends them (fail
 * closed), and signs checkpoints every N events or T ms, storing each in the database and in the
 * witness. Vault writes append their events inside their own transactions (VaultStore methods take
 * them) and then call committed(). If signing or witnessing fails, the log refuses new events
 * until it succeeds again: an operation that cannot be vouched for does not run.
 */
export class AuditLog {
  private signedSize = 0;
  /** The head this process last checked and signed, with the appender state's lineage then. */
  private vouched: { size: number; root: Buffer; lineage: number } | null = null;
  /** When the oldest event not yet covered by a checkpoint was committed (ms), if any. */
  private unsignedSince: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;
  private closed = false;
  private readonly prover: AuditProver;
  /** Events of record() callers waiting for the next group commit. */
  private queue: { events: readonly AuditEvent[]; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private flushQueued = false;
  private flushing: Promise<void> = Promise.resolve();
  /** The checkpoint being signed, shared by every caller that finds one due meanwhile. */
  private inflight: Promise<StoredCheckpoint | null> | undefined;

  private constructor(
    private readonly store: AuditStore,
    private readonly signer: CheckpointSigner,
    private readonly witnessFor: (origin: string) => CheckpointWitness,
    readonly witness: CheckpointWitness,
    private readonly clock: Clock,
    private readonly opts: AuditLogOptions,
  ) {
    this.prover = new AuditProver(store, (cp) => this.signedCheckpoint(cp));
  }

  /**
   * Read-only: the log takes no events and signs nothing, not even on close. `audit verify` runs
   * so, because signing a head it has not verified would vouch for whatever an attacker left in
   * the unsigned tail.
   */
  private readOnly = false;
  /** Events the witness's journal holds (from 0), learned from it on first use. */
  private journaled: number | undefined;

  static async open(
    store: AuditStore,
    provider: KeyProvider,
    witnessFor: (origin: string) => CheckpointWitness,
    clock: Clock,
    opts: AuditLogOptions & { readOnly?: boolean },
  ): Promise<AuditLog> {
    // The origin is derived from the signing key, not stored: nothing in the database can rename the
    // log, and so redirect verification to an empty witness directory.
    const signer = await provider.auditSigner();
    const origin = originOf(signer.publicKey);
    const log = new AuditLog(store, new CheckpointSigner(origin, signer), witnessFor, witnessFor(origin), clock, opts);
    log.signedSize = (await store.latestCheckpoint())?.size ?? 0;
    log.readOnly = opts.readOnly ?? false;
    return log;
  }

  get origin(): string {
    return this.signer.origin;
  }

  /** C2SP verifier key (`origin+keyid+base64`) for auditors. */
  get verifierKey(): string {
    return this.signer.verifierKey;
  }

  /** Builds a validated event for `ctx` (throws InvalidInput rather than log an identifier). */
  event(ctx: AccessContext, facts: AuditFacts): AuditEvent {
    return auditEvent(ctx, this.clock.now(), facts);
  }

  /**
   * Resolves when the log can take events: not closed, and the last checkpoint attempt did not
   * fail (if it did, it is retried now). Services await this before an operation, so nothing runs
   * that the log could not vouch for.
   */
  async ready(): Promise<void> {
    if (this.closed) throw new KeyUnavailable('audit log is closed');
    if (this.readOnly) throw new KeyUnavailable('audit log is open read-only');
    if (!this.failure) return;
    try {
      await this.checkpoint();
    } catch (cause) {
      throw cause instanceof VaultError ? cause : new IntegrityViolation('audit checkpoints cannot be written', { cause });
    }
  }

  /**
   * Appends events on their own (reads, denials, errors); the caller proceeds only if this succeeds.
   *
   * Group commit: callers in the same turn of the event loop share one transaction. Each append is
   * a commit with a WAL sync, and on a busy API server that sync per request was half the CPU time
   * of a read (profiled); requests whose I/O arrived together now wait for one sync. Every caller
   * still gets its answer only after its events are durable, and all of them fail if it fails.
   */
  async record(events: readonly AuditEvent[]): Promise<void> {
    await this.ready();
    if (events.length === 0) return;
    await new Promise<void>((resolve, reject) => {
      this.queue.push({ events, resolve, reject });
      if (this.flushQueued) return;
      this.flushQueued = true;
      // setImmediate runs after this turn's I/O callbacks, so requests parsed in the same poll
      // phase reach record() first; a flush still running (PostgreSQL) makes the next one wait.
      setImmediate(() => {
        this.flushing = this.flushing.then(() => this.flush());
      });
    });
  }

  private async flush(): Promise<void> {
    this.flushQueued = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    try {
      const head = await this.store.appendAudit(batch.length === 1 ? (batch[0]?.events ?? []) : batch.flatMap((b) => b.events));
      await this.committed(head.size);
      for (const b of batch) b.resolve();
    } catch (e) {
      for (const b of batch) b.reject(e);
    }
  }

  /** Called after a write that carried events committed: signs a checkpoint when one is due. */
  async committed(size?: number): Promise<void> {
    if (this.opts.signs === false) return;
    const head = size ?? (await this.store.auditHead()).size;
    const now = this.clock.now().getTime();
    if (head > this.signedSize) this.unsignedSince ??= now;
    // The time rule is checked here as well as by the timer: a caller that appends in a tight
    // loop of synchronous SQLite work never lets the timer run.
    const overdue = this.unsignedSince !== undefined && now - this.unsignedSince >= this.opts.checkpointMs;
    // A log no checkpoint has covered yet is signed at its first commit: until the witness holds
    // one, `audit verify` cannot tell a crash from a log forged from scratch, and a power cut in
    // the first checkpointMs of a new vault's life left it failing verification (seen in CI).
    const first = this.signedSize === 0 && head > 0;
    if (first || head - this.signedSize >= this.opts.checkpointEvents || overdue) {
      await this.sharedCheckpoint();
      // Events committed while it was signed are not covered: their clock starts now.
      if (head > this.signedSize) this.armTimer();
    } else if (head > this.signedSize) this.armTimer();
  }

  /**
   * One signature for everyone who finds a checkpoint due while it is being made: without sharing,
   * concurrent requests queued a checkpoint each (measured: about 5× too many on the API bench).
   */
  private sharedCheckpoint(): Promise<StoredCheckpoint | null> {
    this.inflight ??= this.checkpoint().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private armTimer(): void {
    this.unsignedSince ??= this.clock.now().getTime();
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sharedCheckpoint().catch(() => undefined); // recorded in this.failure
    }, this.opts.checkpointMs);
    this.timer.unref();
  }

  /** Signs the current head (if it grew), stores it, copies it to the witness. Serialised. */
  checkpoint(): Promise<StoredCheckpoint | null> {
    if (this.readOnly) return Promise.reject(new KeyUnavailable('audit log is open read-only'));
    const run = this.tail.then(async () => {
      try {
        const head = await this.store.auditHead();
        const latest = await this.store.latestCheckpoint();
        if (head.size === 0 || (latest && latest.size >= head.size)) {
          // Nothing new to sign, but the latest may have been stored and not witnessed (a failed
          // attempt, or another process that crashed in between): publishing is idempotent.
          if (latest) {
            await this.shipJournal(latest.size);
            await this.witness.publish(latest.size, latest.note);
          }
          this.signedSize = Math.max(this.signedSize, latest?.size ?? 0);
          this.failure = undefined;
          return latest;
        }
        await this.checkBeforeSigning(latest, head);
        const note = await this.signer.sign(head.size, head.root);
        const cp: StoredCheckpoint = { size: head.size, root: head.root, note, createdAt: this.clock.now().toISOString() };
        await this.store.addCheckpoint(cp);
        // The journal first: a crash in between leaves it ahead of the witnessed checkpoints (a
        // restore replays only what a checkpoint vouches for), never behind them.
        await this.shipJournal(cp.size);
        await this.witness.publish(cp.size, cp.note);
        this.vouched = { size: cp.size, root: cp.root, lineage: head.lineage };
        this.signedSize = cp.size;
        this.unsignedSince = undefined;
        this.failure = undefined;
        return cp;
      } catch (e) {
        this.failure = e instanceof Error ? e : new Error(String(e));
        throw e;
      }
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Copies the events up to `upTo` that the witness's journal does not hold yet. Runs after the
   * checkpoint that covers them is witnessed, inside the same serialised step: a failure fails the
   * checkpoint, and so the log refuses new operations until the journal catches up.
   */
  private async shipJournal(upTo: number): Promise<void> {
    const w = this.witness;
    if (this.opts.journal === false || !w.journal || !w.journalSegments) return;
    // Never ahead of this log's own head (after a restore, the journal may hold more than it).
    this.journaled ??= Math.min(
      (await w.journalSegments()).reduce((n, s) => Math.max(n, s.to), 0),
      (await this.store.auditHead()).size,
    );
    while (this.journaled < upTo) {
      const from = this.journaled;
      const to = Math.min(upTo, from + JOURNAL_SEGMENT_EVENTS);
      const events: Buffer[] = [];
      for await (const page of this.store.readAuditEvents(from, to)) events.push(...page);
      if (events.length !== to - from) throw new IntegrityViolation(`audit events ${from}–${to - 1} are missing`);
      await w.journal(from, events);
      this.journaled = to;
    }
  }

  /**
   * Signs nothing the events do not say. The head comes from the appender's state, which may have
   * been loaded from tiles anyone with database access can change; so the last stored checkpoint
   * must carry this log's signature, its root must follow from the tiles at its size, and the root
   * of the new head is recomputed from the events after it. Otherwise the log refuses to sign
   * (and, failing closed, to take new operations).
   */
  private async checkBeforeSigning(latest: StoredCheckpoint | null, head: AuditHead): Promise<void> {
    const { size, root } = head;
    // Fast path: the latest checkpoint is the one this process signed, and the appender's state
    // has since grown only by this process's own appends (same lineage): nothing came from tiles.
    const v = this.vouched;
    if (v && latest && head.lineage === v.lineage && latest.size === v.size && latest.root.equals(v.root)) return;
    let from = 0;
    let range = new CompactRange();
    if (latest) {
      const signed = this.signedCheckpoint(latest);
      if (!signed || signed.size !== latest.size) throw new IntegrityViolation('the latest stored checkpoint is not signed by this log');
      const nodes = this.prover.nodes();
      const frontier: Buffer[] = [];
      let offset = 0;
      for (let level = Math.floor(Math.log2(signed.size)); level >= 0; level--) {
        const width = 2 ** level;
        if (signed.size - offset >= width) {
          frontier.push(await nodes.node(level, offset / width));
          offset += width;
        }
      }
      range = CompactRange.from(signed.size, frontier);
      if (!range.root().equals(signed.root))
        throw new IntegrityViolation('the stored Merkle tiles disagree with the last signed checkpoint');
      from = signed.size;
    }
    for await (const page of this.store.readAuditEvents(from, size)) for (const e of page) range.append(leafHash(e));
    if (range.size !== size || !range.root().equals(root))
      throw new IntegrityViolation('the audit tree does not match its events; not signing');
  }

  /** A stored checkpoint's size and root as its signed note says them (null if not signed by this log). */
  private signedCheckpoint(cp: StoredCheckpoint): { size: number; root: Buffer } | null {
    const text = openNote(cp.note, parseVerifierKey(this.verifierKey));
    const parsed = text === null ? null : parseCheckpointText(text);
    return parsed && parsed.origin === this.origin ? { size: parsed.size, root: parsed.root } : null;
  }

  /**
   * Resolves once every event committed so far is signed, witnessed and (with the journal on)
   * copied to the witness's journal. An API write is acknowledged only then, so a write the lab was
   * told is stored is either in the next backup or in the journal a restore lists: never lost
   * without a trace. Concurrent callers share one checkpoint.
   */
  async witnessed(): Promise<void> {
    if (this.opts.journal === false) return;
    const target = (await this.store.auditHead()).size;
    // A checkpoint already in flight may have read the head before this caller's event: wait for
    // one that covers it (each round signs at least up to the head it reads).
    for (let round = 0; this.signedSize < target || (this.journaled ?? 0) < target; round++) {
      if (round >= 5) throw new IntegrityViolation('audit events could not be witnessed');
      await this.sharedCheckpoint();
    }
  }

  /**
   * Takes nothing more and stops the timer, without a final checkpoint: for a log opened over a
   * copy that must stay as it was taken (canaries written into a backup copy append no events).
   */
  abandon(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  async close(): Promise<void> {
    // No new callers from here on (ready() refuses); those already queued for a group commit are
    // committed first, so the final checkpoint covers them.
    this.closed = true;
    if (this.queue.length > 0 || this.flushQueued) await new Promise<void>((resolve) => setImmediate(resolve));
    await this.flushing;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.readOnly) return;
    const head = await this.store.auditHead();
    if (head.size > this.signedSize) await this.checkpoint();
    await this.tail;
  }

  /** Reads node hashes from the store's tiles (a fresh tile cache per call). */
  /** The bare inclusion proof of event `index` in the tree of `size` (the benchmark times this). */
  inclusionProof(index: number, size: number): Promise<Buffer[]> {
    return this.prover.inclusionProof(index, size);
  }

  prove(index: number, size?: number): Promise<InclusionProofResult> {
    return this.prover.prove(index, size);
  }

  consistency(first: number, second: number): Promise<string[]> {
    return this.prover.consistency(first, second);
  }

  /** Runs the standalone verifier over the stored events, stored checkpoints and witness copies. */
  async verify(verifierKey = this.verifierKey, opts: { workers?: number } = {}): Promise<VerifyLogResult> {
    const stored = await this.store.listCheckpoints();
    // The witness copies of the log the key names (a pinned --vkey picks its own directory).
    let key: ReturnType<typeof parseVerifierKey>;
    try {
      key = parseVerifierKey(verifierKey);
    } catch {
      return verifyLog({ events: [], checkpoints: [], verifierKey });
    }
    const witnessed = await this.witnessFor(key.name).list();
    // Worker threads pay off once there is real volume; a small log verifies faster inline.
    const workers = opts.workers ?? ((await this.store.auditHead()).size > 100_000 ? Math.min(4, availableParallelism()) : 0);
    const checkpoints = [...stored.map((c) => ({ note: c.note, source: `store:${c.size}` })), ...witnessed];
    const run = (fast: boolean): Promise<VerifyLogResult> =>
      verifyLog({ workers, events: ndjsonItems(this.store.readAuditNdjson({ fast })), checkpoints, verifierKey });
    let result = await run(true);
    // A failure is only reported once confirmed over pages in guaranteed seq order.
    if (!result.ok) result = await run(false);
    // Events with no witnessed checkpoint at all: nothing outside the database vouches for them
    // (the store's own checkpoints can be deleted with the history they would contradict).
    const witnessedOk = witnessed.some((w) => openNote(w.note, key) !== null);
    if (result.ok && result.events > 0 && !witnessedOk) {
      return {
        ...result,
        ok: false,
        first_bad_index: 0,
        reason: `no witnessed checkpoint in ${this.witnessFor(key.name).location} vouches for the log`,
      };
    }
    return result;
  }
}

async function* ndjsonItems(pages: AsyncIterable<Buffer>): AsyncGenerator<{ ndjson: Buffer }> {
  for await (const ndjson of pages) yield { ndjson };
}

/** The log's name: fixed by its signing key (a new key is a new log). */
export function originOf(publicKey: Buffer): string {
  return `labvault.local/audit/${hash('sha256', publicKey, 'hex').slice(0, 16)}`;
}

import { open, type FileHandle } from 'node:fs/promises';

/**
 * Syncs the WAL from the thread pool instead of inside a commit on the event loop. A commit made
 * with `synchronous = NORMAL` is written to the WAL but not synced; `sync()` resolves once a
 * datasync of the WAL file that started after that commit has finished — the same durability as
 * `synchronous = FULL` (the WAL holds the commit frame with its checksum chain), without blocking
 * the server's only thread on the disk (whose syncs took up to 50–80 ms here now and then).
 * Concurrent callers share syncs: at most one runs, and one more is queued behind it.
 */
export class WalSync {
  private handle: Promise<FileHandle> | null = null;
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  constructor(private readonly walFile: string) {}

  sync(): Promise<void> {
    if (this.next) return this.next;
    if (!this.running) return this.start();
    // The sync in flight may have started before the caller's commit: queue one after it.
    this.next = this.running.then(
      () => this.start(),
      () => this.start(),
    );
    return this.next;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.running, this.next]);
    const h = this.handle;
    this.handle = null;
    if (h) await (await h).close();
  }

  private start(): Promise<void> {
    this.next = null;
    if (!this.handle) {
      const opening = open(this.walFile, 'r');
      this.handle = opening;
      // A failed open (e.g. out of file descriptors) fails this sync, not every later one.
      opening.catch(() => {
        if (this.handle === opening) this.handle = null;
      });
    }
    const p = this.handle.then((h) => h.datasync());
    const done = p.finally(() => {
      if (this.running === done) this.running = null;
    });
    this.running = done;
    return done;
  }
}

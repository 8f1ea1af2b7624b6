import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ChunkResult } from './scan-chunk.js';
import type { ScanRequest } from './scan-worker.js';

const WORKER_URL = new URL('./scan-worker.js', import.meta.url);

/**
 * A pool of scan workers. Runs are packed into one buffer each (newline-separated lines) and transferred,
 * so a run costs one message each way; results come back in any order and are matched by id.
 */
export class ParallelScanner {
  private next = 0;
  private turn = 0;
  private readonly waiting = new Map<number, { resolve: (r: ChunkResult) => void; reject: (e: Error) => void }>();

  private constructor(private readonly workers: Worker[]) {
    for (const w of workers) {
      w.on('message', (m: { id: number; result: ChunkResult }) => {
        const p = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        p?.resolve(revive(m.result));
      });
      w.on('error', (e) => {
        for (const p of this.waiting.values()) p.reject(e);
        this.waiting.clear();
      });
    }
  }

  /** Null when the compiled worker is not there (running from TypeScript sources): scan inline then. */
  static async open(count: number): Promise<ParallelScanner | null> {
    if (WORKER_URL.protocol !== 'file:' || !existsSync(fileURLToPath(WORKER_URL))) return null;
    return new ParallelScanner(Array.from({ length: count }, () => new Worker(WORKER_URL)));
  }

  /** Runs in flight per worker before the caller waits for the oldest. */
  get depth(): number {
    return this.workers.length * 2;
  }

  /** `packed`: the run's events as newline-terminated lines, in a buffer of its own (it is transferred). */
  scan(packed: Uint8Array, start: number, cuts: readonly number[]): Promise<ChunkResult> {
    const id = this.next++;
    const worker = this.workers[this.turn++ % this.workers.length] as Worker;
    const req: ScanRequest = { id, start, cuts, bytes: packed };
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage(req, [packed.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Structured clone turns Buffers into Uint8Arrays; make them Buffers again (no copy). */
function revive(r: ChunkResult): ChunkResult {
  const b = (u: Uint8Array | null): Buffer | null => (u ? Buffer.from(u.buffer, u.byteOffset, u.byteLength) : null);
  return {
    ...r,
    firstPrev: b(r.firstPrev),
    lastLeaf: b(r.lastLeaf),
    cuts: r.cuts.map((c) => ({ size: c.size, nodes: c.nodes.map((n) => b(n) as Buffer) })),
    frontier: r.frontier.map((n) => b(n) as Buffer),
  };
}

import { existsSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';

/** The nice value of the calling thread (field 19 of /proc/thread-self/stat). */
function ownNice(): number {
  const stat = readFileSync('/proc/thread-self/stat', 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

// The built module (dist/, compiled by the suite's global setup) on a real worker thread: the
// property is about OS threads, so it is tested on one.
const MODULE = new URL('../../dist/services/thread-priority.js', import.meta.url).href;

// Threads have a nice value of their own and a /proc/thread-self only on Linux (3.17 and later).
describe.runIf(process.platform === 'linux' && existsSync('/proc/thread-self'))('lowerThreadPriority', () => {
  it('lowers the calling worker thread only, relative to where it was: the main thread keeps its priority', async () => {
    const before = ownNice();
    const code = `
      const { parentPort } = require('node:worker_threads');
      const { readFileSync } = require('node:fs');
      const nice = () => { const s = readFileSync('/proc/thread-self/stat', 'utf8'); return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[16]); };
      import(${JSON.stringify(MODULE)}).then(({ lowerThreadPriority }) => {
        const tid = lowerThreadPriority(3);
        lowerThreadPriority(7);
        const stepped = nice();
        lowerThreadPriority(50);
        parentPort.postMessage({ tid, nice: stepped, capped: nice() });
      });`;
    const result = await new Promise<{ tid: number | null; nice: number; capped: number }>((resolve, reject) => {
      const w = new Worker(code, { eval: true });
      w.once('message', (m: { tid: number | null; nice: number; capped: number }) => {
        resolve(m);
        void w.terminate();
      });
      w.once('error', reject);
    });
    expect(result.tid).toBeGreaterThan(0);
    expect(result.tid).not.toBe(process.pid);
    expect(result.nice).toBe(Math.min(19, before + 10));
    expect(result.capped).toBe(19);
    expect(ownNice()).toBe(before);
  });
});

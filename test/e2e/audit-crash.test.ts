import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

/** kill -9 while a process appends events and signs checkpoints: the log left behind verifies. */
let work: string;
let dataDir: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'lv-audit-crash-'));
  dataDir = path.join(work, 'data');
  expect((await runCli(['--data-dir', dataDir, 'init'])).code).toBe(0);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/**
 * Checkpoint copies in the witness directory. Only `.checkpoint` files: the directory also holds
 * journal segments and, for a moment, each file's temp name, and counting those let the test kill
 * the writer after a single checkpoint (seen in CI once the first commit was signed at once).
 */
async function witnessCount(): Promise<number> {
  const root = path.join(dataDir, 'witness');
  const [log] = await readdir(root).catch(() => [] as string[]);
  return log ? (await readdir(path.join(root, log))).filter((f) => f.endsWith('.checkpoint')).length : 0;
}

describe('audit log killed with SIGKILL while appending', () => {
  it('verifies after each of three kills at different points, and appending continues the same log', async () => {
    const sizes: number[] = [];
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, [path.resolve('test/support/append-loop.mjs'), dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)));
      const start = await witnessCount();
      const until = Date.now() + 20_000;
      while ((await witnessCount()) < start + 3 + round * 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 15));
      await new Promise((r) => setTimeout(r, 7 * (round + 1)));
      child.kill('SIGKILL');
      expect(await exited, stderr).toBe('SIGKILL');
      const r = await runCli(['--data-dir', dataDir, 'audit', 'verify', '--json']);
      const v = JSON.parse(r.stdout) as { ok: boolean; events: number; checkpoints: number };
      expect(r.code, r.stdout).toBe(0);
      expect(v.ok).toBe(true);
      expect(v.checkpoints).toBeGreaterThan(2);
      sizes.push(v.events);
    }
    expect(sizes[1]).toBeGreaterThan(sizes[0]!);
    expect(sizes[2]).toBeGreaterThan(sizes[1]!);
  }, 90_000);
});

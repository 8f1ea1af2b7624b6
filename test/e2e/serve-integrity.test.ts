import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from '../support/cli.js';

/**
 * Ransomware encrypts the database file in place under a running server: the integrity monitor
 * notices within a few seconds, /healthz and every FHIR request answer 503, the server still stops
 * on SIGTERM, and a new server refuses to start, naming the failed check (exit 1).
 */
describe('serve: the database encrypted in place while serving', () => {
  it('answers 503 on /healthz and FHIR within seconds, and refuses to start again', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lv-serve-integrity-'));
    const data = path.join(dir, 'data');
    const file = path.join(data, 'vault.db');
    const env = { LABVAULT_DETECTION_MODE: 'off' };
    let child: ChildProcess | undefined;
    try {
      child = startCli(['--data-dir', data, 'serve', '--demo', '--demo-patients', '20', '--port', '0'], env);
      let out = '';
      let err = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((resolve) => child?.once('exit', resolve));
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 90_000);
        const poll = setInterval(() => {
          if (!out.includes('Ctrl-C to stop')) return;
          clearTimeout(t);
          clearInterval(poll);
          resolve();
        }, 50);
      });
      const base = /FHIR base\s+(http:\/\/127\.0\.0\.1:\d+)\/fhir/.exec(out)?.[1] ?? '';
      const token = /^ {2}demo-controller\s+\S+\s+\S+\s+(\S+)$/m.exec(out)?.[1] ?? '';
      const h = { authorization: `Bearer ${token}` };
      const healthz = () => fetch(`${base}/healthz`);
      expect((await healthz()).status).toBe(200);
      const reports = (await (await fetch(`${base}/fhir/DiagnosticReport?_count=1`, { headers: h })).json()) as {
        entry: { resource: { subject: { reference: string } } }[];
      };
      const id = reports.entry[0]?.resource.subject.reference.replace('Patient/', '') ?? '';
      expect((await fetch(`${base}/fhir/Patient/${id}`, { headers: h })).status).toBe(200);

      // Encrypted in place: same file, same inode, every byte replaced.
      const size = (await stat(file)).size;
      const fh = await open(file, 'r+');
      for (let at = 0; at < size; at += 1 << 20)
        await fh.write(randomBytes(Math.min(1 << 20, size - at)), 0, Math.min(1 << 20, size - at), at);
      await fh.close();

      let health = await healthz();
      for (const deadline = Date.now() + 15_000; health.status === 200 && Date.now() < deadline;) {
        await new Promise((r) => setTimeout(r, 100));
        health = await healthz();
      }
      expect(health.status).toBe(503);
      const body = (await health.json()) as { status: string; reason: string; newest_backup: string | null };
      expect(body.status).toBe('integrity-failed');
      // The header check, or (if the WAL checkpointer wrote a page 1 back first) what reads the pages.
      expect(body.reason).toMatch(/sqlite\.header|sqlite\.schema|store\.read/);
      expect(body.newest_backup).toBeNull();

      const read = await fetch(`${base}/fhir/Patient/${id}`, { headers: h });
      expect(read.status).toBe(503);
      const outcome = (await read.json()) as { resourceType: string; issue: { code: string; diagnostics: string }[] };
      expect(outcome.resourceType).toBe('OperationOutcome');
      expect(outcome.issue[0]?.diagnostics).toMatch(/integrity check/);
      expect(err).toMatch(/the store failed its integrity check/);

      // It still stops on SIGTERM (closing a damaged store must not hang or crash it).
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
      if (code === 'hung') child.kill('SIGKILL');
      expect(code).not.toBe('hung');
      child = undefined;

      // The attacker is still there: a new server refuses to start, naming the check.
      const fh2 = await open(file, 'r+');
      await fh2.write(randomBytes(16), 0, 16, 0);
      await fh2.close();
      const again = await runCli(['--data-dir', data, 'serve', '--port', '0'], env);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(
        /^labvault: refusing to serve: the store failed its integrity check: sqlite\.header: vault\.db does not start/,
      );
      expect(again.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      child?.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from '../support/cli.js';

/**
 * The server killed (SIGKILL) in the middle of a read load: the audit log verifies afterwards and
 * holds an event for every read that was answered — audit events are durable before a response
 * leaves, with group commit, the WAL synced off the event loop and checkpoints in a worker.
 */
describe('serve: SIGKILL under load', () => {
  it('leaves a verifiable audit log that covers every answered read', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lv-serve-crash-'));
    const data = path.join(dir, 'data');
    try {
      // A flood of reads by one principal is what detection contains; this test is about crashes.
      const child = startCli(['--data-dir', data, 'serve', '--demo', '--demo-patients', '30', '--port', '0'], {
        LABVAULT_DETECTION_MODE: 'off',
      });
      let out = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('server did not start')), 90_000);
        child.stdout?.on('data', () => {
          if (out.includes('Ctrl-C to stop')) {
            clearTimeout(t);
            resolve();
          }
        });
      });
      const base = /FHIR base\s+(http:\/\/127\.0\.0\.1:\d+)\/fhir/.exec(out)?.[1] ?? '';
      const token = /^ {2}demo-controller\s+\S+\s+\S+\s+(\S+)$/m.exec(out)?.[1] ?? '';
      const h = { authorization: `Bearer ${token}` };
      const first = await (await fetch(`${base}/fhir/Patient?identifier=000000000`, { headers: h })).json();
      expect(first).toBeTruthy();
      const reports = (await (await fetch(`${base}/fhir/DiagnosticReport?_count=50`, { headers: h })).json()) as {
        entry: { resource: { subject: { reference: string } } }[];
      };
      const ids = reports.entry.map((e) => e.resource.subject.reference.replace('Patient/', ''));
      expect(ids.length).toBeGreaterThan(0);
      let answered = 0;
      let stop = false;
      const loop = async (): Promise<void> => {
        for (let i = 0; !stop; i++) {
          try {
            const r = await fetch(`${base}/fhir/Patient/${ids[i % ids.length] ?? ''}`, { headers: h });
            await r.arrayBuffer();
            if (r.status === 200) answered++;
          } catch {
            return; // the server is gone
          }
        }
      };
      const loops = Array.from({ length: 8 }, () => loop());
      await new Promise((r) => setTimeout(r, 1500));
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGKILL');
      stop = true;
      await exited;
      await Promise.all(loops);
      expect(answered).toBeGreaterThan(50);

      const v = await runCli(['--data-dir', data, 'audit', 'verify', '--json']);
      expect(v.stderr).toBe('');
      const report = JSON.parse(v.stdout) as { ok: boolean; events: number };
      expect(report.ok).toBe(true);
      const q = await runCli(['--data-dir', data, 'audit', 'query', '--principal', 'demo-controller', '--limit', '1000000']);
      const events = (JSON.parse(q.stdout) as { events: { action: string; outcome: string }[] }).events;
      const reads = events.filter((e) => e.action === 'patient.read' && e.outcome === 'allowed');
      expect(reads.length).toBeGreaterThanOrEqual(answered);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

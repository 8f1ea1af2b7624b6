import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../support/cli.js';

/**
 * The README's main job: `labvault serve --demo` on a fresh data dir, over real loopback HTTP.
 * It must print where to go and a token per demo principal, serve health, metrics, OpenAPI and
 * FHIR, and on SIGTERM close cleanly so the audit log verifies afterwards.
 */
describe('labvault serve --demo (loopback)', () => {
  let dir: string;
  let child: ChildProcess;
  let out = '';
  let base = '';
  const tokens = new Map<string, string>();

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lv-serve-'));
    child = startCli(['--data-dir', path.join(dir, 'data'), 'serve', '--demo', '--demo-patients', '40', '--port', '0']);
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 90_000);
      child.stdout?.on('data', () => {
        if (out.includes('Ctrl-C to stop')) {
          clearTimeout(t);
          resolve();
        }
      });
      child.on('exit', (code) => reject(new Error(`server exited ${String(code)}`)));
    });
    base = /FHIR base\s+(http:\/\/127\.0\.0\.1:\d+)\/fhir/.exec(out)?.[1] ?? '';
    for (const m of out.matchAll(/^ {2}(demo-[a-z-]+)\s+\S+\s+\S+\s+(\S+\.\S+\.\S+)$/gm)) tokens.set(m[1] as string, m[2] as string);
  }, 120_000);

  afterAll(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the FHIR base and one token per demo principal', () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect([...tokens.keys()].sort()).toEqual([
      'demo-controller',
      'demo-hospital',
      'demo-pathologist',
      'demo-security',
      'demo-support',
      'demo-technician',
    ]);
  });

  it('serves health, metrics, OpenAPI and the CapabilityStatement without a token', async () => {
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    const meta = await fetch(`${base}/fhir/metadata`);
    expect(await meta.json()).toMatchObject({ resourceType: 'CapabilityStatement', fhirVersion: '4.0.1' });
    const api = await fetch(`${base}/openapi.json`);
    expect(await api.json()).toMatchObject({ openapi: '3.1.0' });
    const m = await (await fetch(`${base}/metrics`)).text();
    expect(m).toContain('labvault_http_requests_total');
    expect(m).toContain('labvault_audit_events');
  });

  it('answers FHIR with a demo token, and 401 without one', async () => {
    const token = tokens.get('demo-controller') as string;
    // The query the server prints as its example (recent results: the demo's canaries never match it).
    const example = /curl -H "Authorization: Bearer \$TOKEN" '(http[^']+)'/.exec(out)?.[1] ?? '';
    expect(example).toMatch(/DiagnosticReport\?status=final&date=ge\d{4}-\d{2}-\d{2}&_count=2$/);
    const r = await fetch(example, { headers: { authorization: `Bearer ${token}` } });
    expect(r.status).toBe(200);
    const bundle = (await r.json()) as { resourceType: string; entry: unknown[]; total: number };
    expect(bundle.resourceType).toBe('Bundle');
    expect(bundle.entry.length).toBeLessThanOrEqual(2);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    const anon = await fetch(`${base}/fhir/DiagnosticReport?status=final`);
    expect(anon.status).toBe(401);
    expect(await anon.json()).toMatchObject({ resourceType: 'OperationOutcome' });
  });

  it('stops on SIGTERM with exit 0, and the audit log of the session verifies', async () => {
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const v = await runCli(['--data-dir', path.join(dir, 'data'), 'audit', 'verify', '--json']);
    expect(v.code).toBe(0);
    const report = JSON.parse(v.stdout) as { ok: boolean; events: number };
    expect(report.ok).toBe(true);
    expect(report.events).toBeGreaterThan(10);
  });
});

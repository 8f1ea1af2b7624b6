import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticLab } from '../../src/synth/generator.js';
import { runCli } from '../support/cli.js';

/** The audit commands of CLI.md against the built binary: JSON shapes, exit codes, the standalone verifier. */
const execFileP = promisify(execFile);
let work: string;
let d: string[];

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'lv-audit-cli-'));
  d = ['--data-dir', path.join(work, 'data')];
  await generateSyntheticLab({ patients: 30, seed: 5, outDir: path.join(work, 'lab') });
  expect((await runCli([...d, 'init'])).code).toBe(0);
  expect((await runCli([...d, 'ingest', path.join(work, 'lab')])).code).toBe(0);
}, 60_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('audit CLI', () => {
  it('prove --json: an inclusion proof against the signed checkpoint, and a consistency proof', async () => {
    const r = await runCli([...d, 'audit', 'prove', '--index', '1', '--first', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const p = JSON.parse(r.stdout) as {
      index: number;
      size: number;
      proof: string[];
      verified: boolean;
      checkpoint: string;
      consistency: { proof: string[] };
    };
    expect(p).toMatchObject({ index: 1, verified: true });
    expect(p.size).toBeGreaterThan(2);
    expect(p.checkpoint).toContain(`\n${p.size}\n`);
    expect(p.proof.every((h) => /^[0-9a-f]{64}$/.test(h))).toBe(true);
    expect((await runCli([...d, 'audit', 'prove', '--index', '999999', '--json'])).code).toBe(1);
  });

  it('tail, query --fhir, export and the standalone verifier', async () => {
    const tail = JSON.parse((await runCli([...d, 'audit', 'tail', '-n', '3', '--json'])).stdout) as {
      events: { seq: number; action: string }[];
    };
    expect(tail.events).toHaveLength(3);
    const bundle = JSON.parse((await runCli([...d, 'audit', 'query', '--tenant', 'screening', '--limit', '2', '--fhir'])).stdout) as {
      resourceType: string;
      entry: { resource: { resourceType: string } }[];
    };
    expect(bundle.resourceType).toBe('Bundle');
    expect(bundle.entry.map((e) => e.resource.resourceType)).toEqual(['AuditEvent', 'AuditEvent']);
    const out = path.join(work, 'export');
    const exported = JSON.parse((await runCli([...d, 'audit', 'export', '--out', out, '--json'])).stdout) as {
      events: number;
      vkey: string;
    };
    expect(exported.events).toBeGreaterThan(3);
    const { stdout } = await execFileP(process.execPath, [path.resolve('dist/audit/verifier/standalone.js'), out, exported.vkey]);
    expect(JSON.parse(stdout)).toMatchObject({ ok: true, events: exported.events, first_bad_index: null });
  });

  it('bench audit --json reports the CLI.md fields, measured, with the log verified', async () => {
    const r = await runCli(['bench', 'audit', '--events', '3000', '--batch', '500', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const b = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const k of ['append_per_s', 'baseline_insert_per_s', 'verify_per_s', 'proof_ms']) expect(b[k], k).toBeTypeOf('number');
    expect(b).toMatchObject({ events: 3000, verified: true });
  }, 60_000);
});

import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

/**
 * `labvault drill clinical-diagnostics` end to end through the built binary: a real server on
 * loopback, a stolen support credential, the incident response, and the drill's own checks
 * (scope = what the thief received, packages = scope per controller, one letter per affected
 * patient, no identifier in plaintext among the artifacts, the audit log verifies). Outcomes are
 * asserted, never timings. `--detection off` gives the large case (nobody stops the thief), which
 * is what exercises scope, packages and letters at volume.
 */
interface Report {
  patients: number;
  patients_exposed: number;
  timings: { contain_s: number | null; scope_s: number; packages_s: number; letters_s: number };
  tenants: { tenant: string; affected: number; obligations: { regime: string; recipient: string; due_at: string | null }[] }[];
  letters: { count: number; per_s: number };
  artifacts_dir: string;
  attack: { contained: boolean; rule: string | null; by_tenant: Record<string, number> };
  artifacts: { kind: string; tenant: string | null; file: string }[];
  checks: Record<string, boolean | number>;
  problems: string[];
}

describe('labvault drill clinical-diagnostics', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lv-drill-cd-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  async function drill(args: string[], out: string): Promise<Report> {
    const r = await runCli(['drill', 'clinical-diagnostics', '--patients', '1500', '--out', out, '--json', ...args]);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.problems, `${JSON.stringify(report)}\n${r.stderr}`).toEqual([]);
    expect(r.code).toBe(0);
    return report;
  }

  it('contains the stolen support credential and answers for what left', { timeout: 300_000 }, async () => {
    const out = path.join(dir, 'enforce');
    const r = await drill([], out);
    expect(r.attack.contained).toBe(true);
    expect(r.attack.rule).not.toBeNull();
    expect(r.timings.contain_s).not.toBeNull();
    expect(r.patients_exposed).toBeLessThanOrEqual(50);
    expect(r.checks).toMatchObject({
      scope_exact: true,
      packages_exact: true,
      letters_exact: true,
      plaintext_found: 0,
      audit_verified: true,
    });
    expect(r.letters.count).toBe(r.tenants.reduce((n, t) => n + t.affected, 0));
    const saved = JSON.parse(await readFile(path.join(out, 'drill-report.json'), 'utf8')) as { incident: string };
    expect(saved.incident).toMatch(/^inc-/);
  });

  it(
    'without detection: every affected controller gets its package, its clock and its letters; nothing readable on disk',
    { timeout: 300_000 },
    async () => {
      const out = path.join(dir, 'off');
      const r = await drill(['--detection', 'off', '--attack-seconds', '5'], out);
      expect(r.attack.contained).toBe(false);
      expect(r.timings.contain_s).toBeNull();
      expect(r.patients_exposed).toBeGreaterThan(100);
      expect(r.checks).toMatchObject({
        scope_exact: true,
        packages_exact: true,
        letters_exact: true,
        plaintext_found: 0,
        audit_verified: true,
      });
      const touched = Object.entries(r.attack.by_tenant)
        .filter(([, n]) => n > 0)
        .map(([t]) => t)
        .sort();
      expect(r.tenants.map((t) => t.tenant).sort()).toEqual(touched);
      for (const t of r.tenants) {
        const kinds = r.artifacts
          .filter((a) => a.tenant === t.tenant)
          .map((a) => a.kind)
          .sort();
        expect(kinds).toEqual(['controller-package', 'letters-print-file', 'patient-letters']);
        expect(t.obligations.some((o) => o.recipient === `controller:${t.tenant}` || o.recipient === 'authority-nl')).toBe(true);
      }
      expect(r.letters.count).toBe(r.tenants.reduce((n, t) => n + t.affected, 0));
      expect(r.artifacts.map((a) => a.kind)).toEqual(
        expect.arrayContaining(['stix-bundle', 'nis2-early-warning', 'authority-report', 'authority-report-pdf']),
      );
      for (const name of await readdir(out)) {
        expect((await stat(path.join(out, name))).mode & 0o077, name).toBe(0);
        // Only sealed bundles, packages, counts-only JSON and PDF reports: no plaintext letter or list.
        expect(name, name).toMatch(/\.(lvb|jwe|json|pdf)$/);
        if (name.endsWith('.pdf')) expect(name).toMatch(/authority/);
      }
    },
  );
});

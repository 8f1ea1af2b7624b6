import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

/**
 * `labvault drill exfiltration` end to end: the built binary starts a real server on loopback with
 * detection enforcing, runs the lab's own traffic next to every attack, and reports. With a 15 s
 * window the run lasts 45 s. Only outcomes are asserted (who was stopped, how much got out, whether
 * care went on), never timings: a slow machine changes when, not whether.
 */
interface Attack {
  name: string;
  patients_exposed: number;
  seconds_to_containment: number | null;
  contained: boolean;
  rule: string | null;
  records_after_touch?: number;
}

interface Report {
  patients: number;
  attacks: Attack[];
  legit: { requests: number; success_rate: number; false_containments: number };
  audit_verified: boolean;
  problems: string[];
}

const FAST = ['paging-search', 'per-patient-reads', 'bsn-enumeration', 'canary-touch'];

describe('labvault drill exfiltration', () => {
  it('contains every attack early and never the lab’s own clients', { timeout: 600_000 }, async () => {
    const r = await runCli(['drill', 'exfiltration', '--patients', '1500', '--window-seconds', '15', '--json']);
    const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
    expect(lines, `stderr: ${r.stderr}`).toHaveLength(1);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.problems, JSON.stringify(report)).toEqual([]);
    expect(r.code).toBe(0);
    expect(report.patients).toBe(1500);

    const byName = new Map(report.attacks.map((a) => [a.name, a]));
    expect([...byName.keys()].sort()).toEqual(
      ['bsn-enumeration', 'canary-touch', 'paging-search', 'per-patient-reads', 'several-accounts', 'slow-and-low'].sort(),
    );
    for (const a of report.attacks) {
      expect(a.contained, `${a.name} not contained`).toBe(true);
      expect(a.rule, a.name).not.toBeNull();
    }
    for (const name of FAST) expect(byName.get(name)?.patients_exposed, name).toBeLessThanOrEqual(100);
    expect(byName.get('several-accounts')?.patients_exposed).toBeLessThanOrEqual(500);
    expect(byName.get('canary-touch')?.records_after_touch).toBe(0);
    expect(byName.get('canary-touch')?.rule).toBe('canary.touch');
    expect(byName.get('slow-and-low')?.patients_exposed).toBeLessThan(1000);

    expect(report.legit.requests).toBeGreaterThan(0);
    expect(report.legit.success_rate).toBeGreaterThanOrEqual(0.999);
    expect(report.legit.false_containments).toBe(0);
    expect(report.audit_verified).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

/**
 * `labvault drill ransomware` end to end at a small size: the data dir encrypted in place under a
 * stream of new results is detected, urgent reads are served read-only from the newest verified
 * backup, the restore brings service back, every acknowledged write the restored vault lacks is
 * in the restore's list, and the audit log verifies. Timings are reported, not asserted.
 */
describe('labvault drill ransomware', () => {
  it('detects, serves degraded, restores, and lists every lost write', async () => {
    const r = await runCli(['drill', 'ransomware', '--patients', '300', '--backup-interval', '3', '--urgent-reads', '20', '--json']);
    expect(r.stderr).toMatch(/encrypted in place/);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as {
      detect_s: number;
      writes_lost: number;
      writes_lost_listed: number;
      degraded: { urgent_reads: number; served: number; writes_refused: boolean };
      verified: boolean;
      writes: { acknowledged: number };
      files_encrypted: number;
      problems: string[];
    };
    expect(j.problems).toEqual([]);
    expect(j.verified).toBe(true);
    expect(j.files_encrypted).toBeGreaterThanOrEqual(2);
    expect(j.detect_s).toBeGreaterThan(0);
    expect(j.degraded).toMatchObject({ urgent_reads: 20, served: 20, writes_refused: true });
    expect(j.writes.acknowledged).toBeGreaterThan(j.writes_lost);
    expect(j.writes_lost).toBeGreaterThan(0);
    expect(j.writes_lost_listed).toBe(j.writes_lost);
  }, 180_000);
});

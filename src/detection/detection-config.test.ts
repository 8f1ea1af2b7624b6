import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../domain/errors.js';
import { Roles } from '../domain/principal.js';
import { DEFAULT_DETECTION, loadDetectionConfig } from './detection-config.js';

const dir = mkdtempSync(join(tmpdir(), 'labvault-detection-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function file(content: unknown): string {
  const path = join(dir, `detection-${files++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** The ConfigurationError message loading throws, or fails the test. */
function refusal(mode: string | undefined, path: string | undefined): string {
  try {
    loadDetectionConfig(mode, path);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigurationError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigurationError');
}

describe('DEFAULT_DETECTION', () => {
  it('enforces by default', () => {
    expect(DEFAULT_DETECTION.mode).toBe('enforce');
  });

  it('has limits for every role, with minute ≤ hour ≤ day', () => {
    for (const role of Roles) {
      const l = DEFAULT_DETECTION.roles[role];
      expect(l, role).toBeDefined();
      expect(l.patientsPerMinute).toBeLessThanOrEqual(l.patientsPerHour);
      expect(l.patientsPerHour).toBeLessThanOrEqual(l.patientsPerDay);
      expect(l.patientsPerRequest).toBeGreaterThan(0);
    }
  });

  it('sizes the caps for the lab’s workflows', () => {
    const r = DEFAULT_DETECTION.roles;
    expect(r.pathologist).toMatchObject({ patientsPerMinute: 60, patientsPerHour: 400, patientsPerDay: 2000, patientsPerRequest: 50 });
    expect(r['lab-technician']).toMatchObject({ patientsPerMinute: 60, patientsPerHour: 600, patientsPerDay: 3000 });
    expect(r['controller-system']).toMatchObject({ patientsPerMinute: 100, patientsPerRequest: 100, exportPatients: 1_000_000 });
    // Only the controller's system exports; roles without patient data get tiny caps.
    for (const role of Roles.filter((x) => x !== 'controller-system')) expect(r[role].exportPatients).toBe(0);
    for (const role of ['admin', 'security-officer', 'dpo', 'auditor'] as const) {
      expect(r[role].patientsPerRequest).toBeLessThanOrEqual(5);
      expect(r[role].patientsPerMinute).toBeLessThanOrEqual(5);
    }
  });

  it('has the documented baseline, enumeration and off-hours settings', () => {
    expect(DEFAULT_DETECTION.baseline).toEqual({ windowSeconds: 300, alpha: 0.1, k: 4, containFactor: 2, minSamples: 8 });
    expect(DEFAULT_DETECTION.enumeration).toEqual({ sequentialRun: 8, sequentialGap: 256, broadSearchDays: 31 });
    expect(DEFAULT_DETECTION.offHours).toEqual({ startHour: 7, endHour: 19, weekends: true, timeZone: 'Europe/Amsterdam' });
    expect(DEFAULT_DETECTION.originAllowlist).toEqual([]);
  });
});

describe('loadDetectionConfig', () => {
  it('without settings gives the defaults', () => {
    expect(loadDetectionConfig(undefined, undefined)).toEqual(DEFAULT_DETECTION);
  });

  it.each(['enforce', 'monitor', 'off'] as const)('applies mode %s', (mode) => {
    expect(loadDetectionConfig(mode, undefined).mode).toBe(mode);
  });

  it.each(['', 'audit', 'ENFORCE', 'on'])('refuses mode %j, naming the setting', (mode) => {
    expect(refusal(mode, undefined)).toMatch(/LABVAULT_DETECTION_MODE/);
  });

  it('merges role overrides per role and per setting', () => {
    const c = loadDetectionConfig(
      'monitor',
      file({ roles: { pathologist: { patientsPerMinute: 30, baselineFloor: 20 }, support: { patientsPerDay: 100 } } }),
    );
    expect(c.mode).toBe('monitor');
    expect(c.roles.pathologist).toEqual({ ...DEFAULT_DETECTION.roles.pathologist, patientsPerMinute: 30, baselineFloor: 20 });
    expect(c.roles.support).toEqual({ ...DEFAULT_DETECTION.roles.support, patientsPerDay: 100 });
    expect(c.roles['lab-technician']).toEqual(DEFAULT_DETECTION.roles['lab-technician']);
    // The defaults themselves are untouched.
    expect(DEFAULT_DETECTION.roles.pathologist.patientsPerMinute).toBe(60);
  });

  // Regression: `z.record(z.enum(Roles), …)` is exhaustive in zod 4 and refused a file tuning one role.
  it('overrides one role without listing the others', () => {
    const c = loadDetectionConfig(undefined, file({ roles: { pathologist: { patientsPerMinute: 30 } } }));
    expect(c.roles.pathologist.patientsPerMinute).toBe(30);
    expect(c.roles.admin).toEqual(DEFAULT_DETECTION.roles.admin);
  });

  it('merges the other sections setting by setting', () => {
    const c = loadDetectionConfig(
      undefined,
      file({
        baseline: { k: 3, minSamples: 20 },
        enumeration: { sequentialRun: 5 },
        unexplained: { recentDays: 30 },
        offHours: { weekends: false },
        canaries: { perExport: 0 },
        originAllowlist: ['10.0.0.254'],
        alertQuietSeconds: 0,
      }),
    );
    expect(c.baseline).toEqual({ ...DEFAULT_DETECTION.baseline, k: 3, minSamples: 20 });
    expect(c.enumeration).toEqual({ ...DEFAULT_DETECTION.enumeration, sequentialRun: 5 });
    expect(c.unexplained).toEqual({ recentDays: 30 });
    expect(c.offHours).toEqual({ ...DEFAULT_DETECTION.offHours, weekends: false });
    expect(c.canaries).toEqual({ perTenant: 20, perExport: 0 });
    expect(c.originAllowlist).toEqual(['10.0.0.254']);
    expect(c.alertQuietSeconds).toBe(0);
    expect(c.roles).toEqual(DEFAULT_DETECTION.roles);
  });

  it('an empty object changes nothing', () => {
    expect(loadDetectionConfig(undefined, file({}))).toEqual(DEFAULT_DETECTION);
  });

  it('refuses an unknown setting in a role, naming where it is', () => {
    const m = refusal(undefined, file({ roles: { pathologist: { patientsPerSecond: 5 } } }));
    expect(m).toMatch(/LABVAULT_DETECTION_FILE/);
    expect(m).toMatch(/roles\.pathologist/);
    expect(m).toMatch(/patientsPerSecond/);
  });

  it('refuses an unknown top-level setting, naming it', () => {
    const m = refusal(undefined, file({ thresholds: {} }));
    expect(m).toMatch(/LABVAULT_DETECTION_FILE/);
    expect(m).toMatch(/thresholds/);
  });

  it('refuses an unknown role', () => {
    expect(refusal(undefined, file({ roles: { nurse: { patientsPerMinute: 5 } } }))).toMatch(/roles/);
  });

  it('refuses a negative number, naming the setting', () => {
    const m = refusal(undefined, file({ roles: { pathologist: { patientsPerMinute: -1 } } }));
    expect(m).toMatch(/roles\.pathologist\.patientsPerMinute/);
  });

  it.each([
    [{ baseline: { alpha: 0 } }, 'baseline.alpha'],
    [{ baseline: { containFactor: 0.5 } }, 'baseline.containFactor'],
    [{ baseline: { windowSeconds: 0 } }, 'baseline.windowSeconds'],
    [{ enumeration: { sequentialRun: 1 } }, 'enumeration.sequentialRun'],
    [{ offHours: { startHour: 25 } }, 'offHours.startHour'],
    [{ alertQuietSeconds: -5 }, 'alertQuietSeconds'],
    [{ roles: { support: { bytesPerHour: 1.5 } } }, 'roles.support.bytesPerHour'],
    [{ roles: { support: { missesPerMinute: '5' } } }, 'roles.support.missesPerMinute'],
  ])('refuses %j naming %s', (content, setting) => {
    expect(refusal(undefined, file(content))).toContain(setting);
  });

  // Regression: an unknown zone used to pass loading and fail later as a bare RangeError from Intl
  // in `new Detector`, without naming the setting.
  it('refuses an unknown time zone, naming offHours.timeZone', () => {
    expect(refusal(undefined, file({ offHours: { timeZone: 'Mars/Olympus' } }))).toContain('offHours.timeZone');
  });

  it('refuses a file that is not JSON, or missing', () => {
    expect(refusal(undefined, file('{ roles: '))).toMatch(/LABVAULT_DETECTION_FILE.*JSON/);
    expect(refusal(undefined, join(dir, 'missing.json'))).toMatch(/LABVAULT_DETECTION_FILE/);
  });

  it('returns a frozen config', () => {
    expect(Object.isFrozen(loadDetectionConfig(undefined, undefined))).toBe(true);
  });
});

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigurationError } from '../domain/errors.js';
import { Roles, type Role } from '../domain/principal.js';

/**
 * Detection thresholds. Defaults are sized for a lab's real workflows (a pathologist signs out tens
 * of cases an hour; a controller's system polls new results page by page), and the interactive API
 * is deliberately not a bulk channel: bulk goes through `$export` with two-person approval, which
 * has its own cap. Every value can be overridden from a JSON file (`LABVAULT_DETECTION_FILE`), so
 * a lab tunes them without a rebuild; `LABVAULT_DETECTION_MODE` switches enforcement.
 */
export type DetectionMode = 'enforce' | 'monitor' | 'off';

export interface RoleLimits {
  /** Distinct patients a principal of the role may receive in any sliding minute / hour / day. */
  readonly patientsPerMinute: number;
  readonly patientsPerHour: number;
  readonly patientsPerDay: number;
  /** Plaintext bytes released per sliding hour. */
  readonly bytesPerHour: number;
  /** Distinct patients in one response (a page listing many people is an enumeration). */
  readonly patientsPerRequest: number;
  /** Broad searches (no patient, open or wide date range) per sliding hour. */
  readonly broadSearchesPerHour: number;
  /** Reads by id or identifier that found nothing, per sliding minute (probing). */
  readonly missesPerMinute: number;
  /** Distinct patients with no recent order, per sliding hour, before containment (alerted from the first). */
  readonly unexplainedPerHour: number;
  /** Distinct patients one export job may release. */
  readonly exportPatients: number;
  /** Baseline floor: no baseline alert below this many distinct patients per window. */
  readonly baselineFloor: number;
}

export interface DetectionConfig {
  readonly mode: DetectionMode;
  readonly roles: Readonly<Record<Role, RoleLimits>>;
  readonly baseline: {
    /** Width of the counting window whose distinct patients the EWMA learns (seconds). */
    readonly windowSeconds: number;
    /** EWMA weight of the newest window. */
    readonly alpha: number;
    /** Alert above max(mean + k·σ, floor)… */
    readonly k: number;
    /** …and contain above that threshold times this factor. */
    readonly containFactor: number;
    /** Windows learned before a baseline is trusted (below it, only caps apply). */
    readonly minSamples: number;
  };
  readonly enumeration: {
    /** Consecutive reads by id whose ids lie within `sequentialGap` of the previous one. */
    readonly sequentialRun: number;
    readonly sequentialGap: number;
    /** A search whose date range spans more days than this (or is open) is broad. */
    readonly broadSearchDays: number;
  };
  readonly unexplained: {
    /** An order dated within this many days before the tenant's newest order explains an access. */
    readonly recentDays: number;
  };
  readonly offHours: {
    /** Human principals acting outside [start, end) local time, or at weekends, raise an alert. */
    readonly startHour: number;
    readonly endHour: number;
    readonly weekends: boolean;
    readonly timeZone: string;
  };
  readonly canaries: {
    /** Canary patients planted per tenant (`labvault canary plant`, `serve --demo`). */
    readonly perTenant: number;
    /** Canary patients added to each export copy. */
    readonly perExport: number;
  };
  /** Origins never blocked (a load balancer or NAT shared by many): the principal is still suspended. */
  readonly originAllowlist: readonly string[];
  /** The same (principal, rule) alert is not repeated within this many seconds. */
  readonly alertQuietSeconds: number;
}

const human = (perMinute: number, perHour: number, perDay: number, extra: Partial<RoleLimits> = {}): RoleLimits => ({
  patientsPerMinute: perMinute,
  patientsPerHour: perHour,
  patientsPerDay: perDay,
  bytesPerHour: 50 * 1024 * 1024,
  patientsPerRequest: 50,
  broadSearchesPerHour: 20,
  missesPerMinute: 20,
  unexplainedPerHour: 25,
  exportPatients: 0,
  baselineFloor: 15,
  ...extra,
});

/** Roles that read no patient data get tiny caps: any PHI read by them is already denied by policy. */
const NO_PHI = human(5, 20, 50, { patientsPerRequest: 5, broadSearchesPerHour: 2, unexplainedPerHour: 5, baselineFloor: 5 });

export const DEFAULT_DETECTION: DetectionConfig = {
  mode: 'enforce',
  roles: {
    admin: NO_PHI,
    'security-officer': NO_PHI,
    dpo: NO_PHI,
    auditor: NO_PHI,
    'lab-technician': human(60, 600, 3000),
    pathologist: human(60, 400, 2000),
    support: human(10, 60, 300, { patientsPerRequest: 10, broadSearchesPerHour: 5, unexplainedPerHour: 10, baselineFloor: 5 }),
    'controller-system': {
      patientsPerMinute: 100,
      patientsPerHour: 3000,
      patientsPerDay: 30_000,
      bytesPerHour: 500 * 1024 * 1024,
      patientsPerRequest: 100,
      broadSearchesPerHour: 20,
      missesPerMinute: 60,
      unexplainedPerHour: 60,
      exportPatients: 1_000_000,
      baselineFloor: 100,
    },
  },
  baseline: { windowSeconds: 300, alpha: 0.1, k: 4, containFactor: 2, minSamples: 8 },
  enumeration: { sequentialRun: 8, sequentialGap: 256, broadSearchDays: 31 },
  unexplained: { recentDays: 90 },
  offHours: { startHour: 7, endHour: 19, weekends: true, timeZone: 'Europe/Amsterdam' },
  canaries: { perTenant: 20, perExport: 3 },
  originAllowlist: [],
  alertQuietSeconds: 600,
};

const count = z.number().int().min(0).max(1e12);
const Limits = z
  .object({
    patientsPerMinute: count,
    patientsPerHour: count,
    patientsPerDay: count,
    bytesPerHour: count,
    patientsPerRequest: count,
    broadSearchesPerHour: count,
    missesPerMinute: count,
    unexplainedPerHour: count,
    exportPatients: count,
    baselineFloor: count,
  })
  .partial()
  .strict();

const Overrides = z
  .object({
    roles: z.partialRecord(z.enum(Roles), Limits).optional(),
    baseline: z
      .object({
        windowSeconds: z.number().int().min(1).max(86_400),
        alpha: z.number().gt(0).max(1),
        k: z.number().min(0).max(100),
        containFactor: z.number().min(1).max(100),
        minSamples: z.number().int().min(0).max(100_000),
      })
      .partial()
      .strict()
      .optional(),
    enumeration: z
      .object({ sequentialRun: z.number().int().min(2), sequentialGap: count, broadSearchDays: z.number().int().min(1) })
      .partial()
      .strict()
      .optional(),
    unexplained: z
      .object({ recentDays: z.number().int().min(1).max(36_500) })
      .partial()
      .strict()
      .optional(),
    offHours: z
      .object({
        startHour: z.number().int().min(0).max(24),
        endHour: z.number().int().min(0).max(24),
        weekends: z.boolean(),
        timeZone: z.string().min(1).refine(isTimeZone, 'not an IANA time zone'),
      })
      .partial()
      .strict()
      .refine((o) => o.startHour === undefined || o.endHour === undefined || o.startHour < o.endHour, 'startHour must be before endHour')
      .optional(),
    canaries: z
      .object({ perTenant: z.number().int().min(0).max(1000), perExport: z.number().int().min(0).max(100) })
      .partial()
      .strict()
      .optional(),
    originAllowlist: z.array(z.string().min(1)).optional(),
    alertQuietSeconds: z.number().int().min(0).max(86_400).optional(),
  })
  .strict();

/** Defaults with a JSON overrides file and the mode applied; a bad file stops start-up naming the setting. */
export function loadDetectionConfig(mode: string | undefined, file: string | undefined): DetectionConfig {
  if (mode !== undefined && mode !== 'enforce' && mode !== 'monitor' && mode !== 'off') {
    throw new ConfigurationError('bad setting LABVAULT_DETECTION_MODE: expected enforce, monitor or off');
  }
  let o: z.infer<typeof Overrides> = {};
  if (file !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (cause) {
      throw new ConfigurationError('bad setting LABVAULT_DETECTION_FILE: cannot read it as JSON', { cause });
    }
    const parsed = Overrides.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? issue.path.join('.') : 'top level';
      throw new ConfigurationError(`bad setting LABVAULT_DETECTION_FILE: ${where}: ${issue?.message ?? 'invalid'}`);
    }
    o = parsed.data;
  }
  const d = DEFAULT_DETECTION;
  const roles = Object.fromEntries(Roles.map((r) => [r, { ...d.roles[r], ...stripUndefined(o.roles?.[r] ?? {}) }])) as Record<
    Role,
    RoleLimits
  >;
  return Object.freeze({
    mode: mode ?? d.mode,
    roles,
    baseline: { ...d.baseline, ...stripUndefined(o.baseline ?? {}) },
    enumeration: { ...d.enumeration, ...stripUndefined(o.enumeration ?? {}) },
    unexplained: { ...d.unexplained, ...stripUndefined(o.unexplained ?? {}) },
    offHours: { ...d.offHours, ...stripUndefined(o.offHours ?? {}) },
    canaries: { ...d.canaries, ...stripUndefined(o.canaries ?? {}) },
    originAllowlist: o.originAllowlist ?? d.originAllowlist,
    alertQuietSeconds: o.alertQuietSeconds ?? d.alertQuietSeconds,
  });
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function stripUndefined<T extends object>(o: T): { [K in keyof T]-?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]-?: Exclude<T[K], undefined> };
}

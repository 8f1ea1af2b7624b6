import { describe, expect, it } from 'vitest';
import type { Finding, Observation } from '../../domain/detection.js';
import type { Role } from '../../domain/principal.js';
import { IdMinter } from '../../synth/id-minter.js';
import { Prng } from '../../synth/prng.js';
import { DEFAULT_DETECTION } from '../detection-config.js';
import { LocalClock } from '../local-time.js';
import { PrincipalActivity } from '../principal-activity.js';
import { ALL_RULES } from './all-rules.js';
import type { DetectionRule } from './rule-context.js';
import { observation } from '../../../test/support/observation.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const config = DEFAULT_DETECTION;
const local = new LocalClock(config.offHours.timeZone);

interface Step {
  readonly obs: Observation;
  /** Patients of the read with no recent order (none in legitimate work). */
  readonly unexplained?: readonly string[];
}

interface Profile {
  readonly name: string;
  readonly steps: readonly Step[];
  /** Baselines the principal learned before (none: a new principal). */
  readonly learned?: { mean: number; variance: number; samples: number };
}

const base = (role: Role, at: number, over: Partial<Observation>): Observation => observation(role, at, { ip: '10.1.2.3', ...over });

/** A pathologist signing out 10 patients a few minutes apart: the patient, its reports, two of them by id. */
function pathologist(start: number, seed: number): Step[] {
  const ids = new IdMinter(new Prng(seed));
  const steps: Step[] = [];
  for (let i = 0; i < 10; i++) {
    const t = start + i * 4 * MINUTE;
    const p = ids.next('pat-');
    steps.push({ obs: base('pathologist', t, { requestedId: p, patients: [p], records: 1, bytes: 1800 }) });
    steps.push({
      obs: base('pathologist', t + 20 * SECOND, { kind: 'search', action: 'resource.search', patients: [p], records: 4, bytes: 24_000 }),
    });
    for (let r = 0; r < 2; r++) {
      const dr = ids.next('dr-');
      steps.push({
        obs: base('pathologist', t + (60 + r * 45) * SECOND, {
          action: 'resource.read',
          requestedId: dr,
          patients: [p],
          records: 1,
          bytes: 6000,
        }),
      });
    }
  }
  return steps;
}

/** A technician reading single patients for three hours, by id or BSN, with the odd typo. */
function technician(start: number): Step[] {
  const ids = new IdMinter(new Prng(11));
  const steps: Step[] = [];
  for (let i = 0; i < 60; i++) {
    const t = start + i * 3 * MINUTE;
    const p = ids.next('pat-');
    if (i % 2 === 0) {
      steps.push({ obs: base('lab-technician', t, { requestedId: p, patients: [p], records: 1, bytes: 1800 }) });
    } else {
      if (i % 20 === 1)
        steps.push({ obs: base('lab-technician', t - 10 * SECOND, { kind: 'identifier-search', action: 'patient.search', miss: true }) });
      steps.push({
        obs: base('lab-technician', t, { kind: 'identifier-search', action: 'patient.search', patients: [p], records: 1, bytes: 1800 }),
      });
    }
    const sp = ids.next('spc-');
    steps.push({
      obs: base('lab-technician', t + 30 * SECOND, { action: 'resource.read', requestedId: sp, patients: [p], records: 1, bytes: 1500 }),
    });
  }
  return steps;
}

/** The controller’s system polling one day’s new reports, page by page (10–20 patients), twice a minute for an hour. */
function controller(start: number): Step[] {
  const prng = new Prng(5);
  const ids = new IdMinter(prng);
  const steps: Step[] = [];
  let previous: string[] = [];
  for (let i = 0; i < 120; i++) {
    const n = prng.between(10, 20);
    // A few patients have several reports and reappear on the next page.
    const ps = [...previous.slice(0, 2), ...Array.from({ length: n - 2 }, () => ids.next('pat-'))];
    previous = ps;
    steps.push({
      obs: base('controller-system', start + i * 30 * SECOND, {
        kind: 'search',
        action: 'resource.search',
        patients: ps,
        records: n + 5,
        bytes: (n + 5) * 12_000,
        ip: '10.9.9.9',
      }),
    });
  }
  return steps;
}

/** Support looking at five patients in an afternoon. */
function support(start: number): Step[] {
  const ids = new IdMinter(new Prng(3));
  return Array.from({ length: 5 }, (_, i) => {
    const p = ids.next('pat-');
    return { obs: base('support', start + i * 25 * MINUTE, { requestedId: p, patients: [p], records: 1, bytes: 1800 }) };
  });
}

/** Wednesday 2025-03-12 09:30 Europe/Amsterdam (UTC+1). */
const WEDNESDAY = Date.parse('2025-03-12T08:30:00Z');
/** Saturday 2025-03-15 02:00 Europe/Amsterdam. */
const SATURDAY_NIGHT = Date.parse('2025-03-15T01:00:00Z');

const PROFILES: Profile[] = [
  { name: 'pathologist, 10 explained patients a few minutes apart', steps: pathologist(WEDNESDAY, 1) },
  {
    name: 'pathologist with a learned baseline',
    steps: pathologist(WEDNESDAY, 2),
    learned: { mean: 8, variance: 9, samples: 40 },
  },
  { name: 'lab technician reading single patients for three hours', steps: technician(WEDNESDAY) },
  { name: 'controller system polling a day’s reports on a Saturday night', steps: controller(SATURDAY_NIGHT) },
  {
    name: 'controller system with a learned baseline',
    steps: controller(WEDNESDAY),
    learned: { mean: 150, variance: 400, samples: 200 },
  },
  { name: 'support looking at five patients', steps: support(WEDNESDAY + 4 * 60 * MINUTE) },
];

/** Runs a rule over a profile as the detector does: roll the window, judge, commit. */
function replay(rule: DetectionRule, profile: Profile): Finding[] {
  const first = profile.steps[0]?.obs;
  if (!first) return [];
  const a = new PrincipalActivity(first.principal.id);
  if (profile.learned) for (let h = 0; h < 168; h++) a.baselines.set(h, { ...profile.learned });
  a.origins.add(first.ip ?? '');
  const b = config.baseline;
  const out: Finding[] = [];
  for (const { obs, unexplained = [] } of profile.steps) {
    a.roll(obs.at, b.windowSeconds * 1000, b.alpha, (ms) => local.at(ms).hourOfWeek);
    const lt = local.at(obs.at);
    const f = rule({
      obs,
      activity: a,
      limits: config.roles[obs.principal.role],
      config,
      canaries: 0,
      unexplained,
      newOrigin: false,
      localHour: lt.hour,
      weekend: lt.weekend,
      hourOfWeek: a.windowHour,
    });
    if (f) out.push(f);
    a.commit(obs, unexplained, config.enumeration.sequentialGap);
  }
  return out;
}

const RULES = ALL_RULES.map((r) => [r.name, r] as const);

describe('ALL_RULES', () => {
  it('holds every rule once, the canary rule first', () => {
    expect(ALL_RULES).toHaveLength(14);
    expect(new Set(ALL_RULES).size).toBe(14);
    expect(ALL_RULES[0]?.name).toBe('canaryRule');
  });
});

describe.each(PROFILES)('legitimate work: $name', (profile) => {
  it.each(RULES)('%s stays silent', (_name, rule) => {
    expect(replay(rule, profile)).toEqual([]);
  });
});

describe('the same harness catches a harvester', () => {
  it('a pathologist pulling 100 unexplained patients in a minute trips caps and explanation', () => {
    const steps: Step[] = Array.from({ length: 100 }, (_, i) => {
      const p = `pat-0000-0000-0000-${(0x100 + i).toString(16).padStart(4, '0')}`;
      return {
        obs: base('pathologist', WEDNESDAY + i * 500, { requestedId: p, patients: [p], records: 1, bytes: 1800 }),
        unexplained: [p],
      };
    });
    const fired = new Set(ALL_RULES.flatMap((r) => replay(r, { name: 'thief', steps }).map((f) => f.rule)));
    expect(fired).toEqual(new Set(['cap.patients-per-minute', 'enumeration.sequential-ids', 'unexplained.first', 'unexplained.access']));
  });
});

import { describe, expect, it } from 'vitest';
import type { Finding, Observation } from '../domain/detection.js';
import type { Role } from '../domain/principal.js';
import type { Clock } from '../ports/clock.js';
import type { BaselineRow, DetectionStore } from '../ports/detection-store.js';
import { CanaryIndex } from './canary-index.js';
import { DEFAULT_DETECTION, type DetectionConfig, type DetectionMode } from './detection-config.js';
import { Detector, type ContainmentPort } from './detector.js';
import { Explainer, type OrderBook } from './explainer.js';
import type { PrincipalActivity } from './principal-activity.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
/** Wednesday 2025-03-12 10:00 Europe/Amsterdam: hour of week 2 · 24 + 10. */
const T0 = Date.parse('2025-03-12T09:00:00Z');
const HOW_T0 = 58;
const TENANT = 'screening';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const patients = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/** Records what the detector asked of containment; `held` is what activeFor answers from. */
class FakeContainment implements ContainmentPort {
  readonly held = new Map<string, string>();
  readonly contained: { obs: Observation; findings: readonly Finding[] }[] = [];
  readonly alerts: { obs: Observation; findings: readonly Finding[] }[] = [];

  activeFor(principalId: string): string | null {
    return this.held.get(principalId) ?? null;
  }

  async contain(
    obs: Observation,
    findings: readonly Finding[],
    _activity: PrincipalActivity,
  ): Promise<{ containmentId: string; incidentId: string }> {
    const n = this.contained.push({ obs, findings });
    const containmentId = `con-${n}`;
    // Like the real service: held before any await.
    this.held.set(obs.principal.id, containmentId);
    await sleep(1);
    return { containmentId, incidentId: `inc-${n}` };
  }

  alert(obs: Observation, findings: readonly Finding[], _activity: PrincipalActivity): void {
    this.alerts.push({ obs, findings });
  }
}

class FakeStore implements Pick<DetectionStore, 'loadBaselines' | 'saveBaselines' | 'recordOrigin' | 'hasOrigins'> {
  readonly baselines = new Map<string, BaselineRow[]>();
  readonly origins = new Map<string, Set<string>>();
  readonly loads: string[] = [];
  readonly saves: BaselineRow[][] = [];
  failSaves = false;

  async loadBaselines(principalId: string): Promise<BaselineRow[]> {
    this.loads.push(principalId);
    await sleep(0);
    return (this.baselines.get(principalId) ?? []).map((r) => ({ ...r }));
  }

  async saveBaselines(rows: readonly BaselineRow[]): Promise<void> {
    this.saves.push(rows.map((r) => ({ ...r })));
    if (this.failSaves) throw new Error('disk full');
  }

  async recordOrigin(principalId: string, ip: string, _at: string): Promise<boolean> {
    let s = this.origins.get(principalId);
    if (!s) this.origins.set(principalId, (s = new Set()));
    const first = !s.has(ip);
    s.add(ip);
    return first;
  }

  async hasOrigins(principalId: string): Promise<boolean> {
    return (this.origins.get(principalId)?.size ?? 0) > 0;
  }
}

/** Every patient has a recent order unless listed in `orphans`; `slow` patients take a while to look up. */
class FakeOrderBook implements OrderBook {
  readonly orphans = new Set<string>();
  readonly slow = new Set<string>();
  lookups = 0;

  async newestOrderDate(_tenantId: string): Promise<string | null> {
    return '2025-03-11';
  }

  async hasOrderSince(_tenantId: string, patientId: string, date: string): Promise<boolean> {
    this.lookups++;
    expect(date).toBe('2024-12-11');
    await sleep(this.slow.has(patientId) ? 3 : 0);
    return !this.orphans.has(patientId);
  }
}

function setup(mode: DetectionMode = 'enforce', config: Partial<DetectionConfig> = {}) {
  let ms = T0;
  const clock: Clock = { now: () => new Date(ms) };
  const canaries = new CanaryIndex();
  canaries.add(TENANT, ['canary-1', 'canary-2']);
  const book = new FakeOrderBook();
  const store = new FakeStore();
  const containment = new FakeContainment();
  const errors: string[] = [];
  const detector = new Detector(
    { ...DEFAULT_DETECTION, mode, ...config },
    clock,
    canaries,
    new Explainer(book, DEFAULT_DETECTION.unexplained.recentDays),
    store,
    containment,
    (what) => errors.push(what),
  );
  /** Sets the clock and inspects a read by the principal at that time. */
  const inspect = (at: number, over: Partial<Observation> = {}, role: Role = 'pathologist', id = 'u-1') => {
    ms = at;
    return detector.inspect(read(at, over, role, id));
  };
  return { detector, clock, canaries, book, store, containment, errors, inspect };
}

function read(at: number, over: Partial<Observation> = {}, role: Role = 'pathologist', id = 'u-1'): Observation {
  return {
    at,
    principal: { id, role, tenants: [TENANT] },
    ip: '10.0.0.1',
    tenant: TENANT,
    action: 'patient.read',
    kind: 'read',
    patients: ['p-1'],
    records: 1,
    bytes: 2000,
    miss: false,
    requestedId: null,
    broad: false,
    exportId: null,
    breakGlass: false,
    ...over,
  };
}

const rules = (fs: readonly Finding[]): string[] => fs.map((f) => `${f.rule}:${f.severity}`).sort();

describe('Detector', () => {
  it('reads its time from the injected clock', () => {
    const { detector } = setup();
    expect(detector.now()).toBe(T0);
    expect(detector.enabled).toBe(true);
  });

  describe("mode 'off'", () => {
    it('allows everything without calling anything', async () => {
      const { detector, inspect, containment, store, book } = setup('off');
      expect(detector.enabled).toBe(false);
      const v = await inspect(T0, { patients: ['canary-1', ...patients('p', 500)], broad: true, miss: true, requestedId: 'pat-1' });
      expect(v).toEqual({ allowed: true, findings: [], containmentId: null, incidentId: null });
      expect(containment.contained).toEqual([]);
      expect(containment.alerts).toEqual([]);
      expect(store.loads).toEqual([]);
      expect(store.origins.size).toBe(0);
      expect(book.lookups).toBe(0);
      expect(detector.peek('u-1')).toBeUndefined();
      expect(detector.counts().inspected).toBe(0);
    });
  });

  describe("mode 'enforce'", () => {
    it('allows a legitimate read with no findings', async () => {
      const { inspect, containment } = setup();
      expect(await inspect(T0)).toEqual({ allowed: true, findings: [], containmentId: null, incidentId: null });
      expect(containment.contained).toEqual([]);
      expect(containment.alerts).toEqual([]);
    });

    it('a contain finding calls contain() once and denies', async () => {
      const { inspect, containment, detector } = setup();
      const v = await inspect(T0, { patients: ['p-1', 'canary-1'] });
      expect(v.allowed).toBe(false);
      expect(v.containmentId).toBe('con-1');
      expect(v.incidentId).toBe('inc-1');
      expect(rules(v.findings)).toEqual(['canary.touch:contain']);
      expect(containment.contained).toHaveLength(1);
      expect(containment.contained[0]?.findings).toBe(v.findings);
      expect(containment.contained[0]?.findings[0]).toMatchObject({ approvalsRequired: 2, freezeExports: true });
      // Contain findings are not also sent as alerts by the detector.
      expect(containment.alerts).toEqual([]);
      expect(detector.counts().denied).toBe(1);
    });

    it('after containment every further read is denied without a new containment', async () => {
      const { inspect, containment, book, detector } = setup();
      await inspect(T0, { patients: patients('p', 51) }); // more than a pathologist's 50 per request
      expect(containment.contained).toHaveLength(1);
      const lookups = book.lookups;
      for (let i = 1; i <= 3; i++) {
        const v = await inspect(T0 + i * MINUTE, { patients: [`q-${i}`] });
        expect(v).toEqual({ allowed: false, findings: [], containmentId: 'con-1', incidentId: null });
      }
      expect(containment.contained).toHaveLength(1);
      expect(book.lookups).toBe(lookups);
      expect(detector.counts()).toMatchObject({ inspected: 4, denied: 4 });
    });

    it('denies a read whose principal was contained while its lookups were in flight', async () => {
      const { inspect, containment, book, detector } = setup();
      await inspect(T0, { patients: ['p-0'] });
      book.slow.add('p-1');
      const pending = inspect(T0 + SECOND, { patients: ['p-1'] });
      containment.held.set('u-1', 'con-elsewhere');
      expect(await pending).toEqual({ allowed: false, findings: [], containmentId: 'con-elsewhere', incidentId: null });
      expect(detector.peek('u-1')?.day.size(T0 + SECOND)).toBe(1);
    });

    it('commits an allowed read, but not a denied one', async () => {
      const { inspect, detector } = setup();
      await inspect(T0, { patients: ['a', 'b'], bytes: 5000 });
      const a = detector.peek('u-1');
      expect(a?.minute.size(T0)).toBe(2);
      expect(a?.day.size(T0)).toBe(2);
      expect(a?.bytesHour.sum(T0)).toBe(5000);
      expect(a?.window.size).toBe(2);

      const denied = await inspect(T0 + SECOND, { patients: patients('x', 51), bytes: 900_000 });
      expect(denied.allowed).toBe(false);
      expect(a?.minute.size(T0 + SECOND)).toBe(2);
      expect(a?.day.size(T0 + SECOND)).toBe(2);
      expect(a?.bytesHour.sum(T0 + SECOND)).toBe(5000);
      expect(a?.window.size).toBe(2);
      expect(a?.lastSeen).toBe(T0);
    });

    it('two concurrent reads whose patients together cross the per-minute cap are not both allowed', async () => {
      const { detector, containment, book } = setup();
      // The first read's order-book lookups are slow, so the second overtakes it.
      for (const p of patients('a', 40)) book.slow.add(p);
      const first = detector.inspect(read(T0, { patients: patients('a', 40) }));
      const second = detector.inspect(read(T0 + 10, { patients: patients('b', 40) }));
      const verdicts = await Promise.all([first, second]);
      expect(verdicts.filter((v) => v.allowed)).toHaveLength(1);
      expect(containment.contained).toHaveLength(1);
      expect(rules(containment.contained[0]?.findings ?? [])).toContain('cap.patients-per-minute:contain');
      expect(detector.peek('u-1')?.minute.size(T0 + 10)).toBe(40);
    });

    it('two concurrent reads that together stay at the cap are both allowed', async () => {
      const { detector, containment, book } = setup();
      for (const p of patients('a', 30)) book.slow.add(p);
      const verdicts = await Promise.all([
        detector.inspect(read(T0, { patients: patients('a', 30) })),
        detector.inspect(read(T0 + 10, { patients: patients('b', 30) })),
      ]);
      expect(verdicts.every((v) => v.allowed)).toBe(true);
      expect(containment.contained).toEqual([]);
      expect(detector.peek('u-1')?.minute.size(T0 + 10)).toBe(60);
    });

    it('sends alert-level findings as alerts and lets the read through', async () => {
      const { inspect, book, containment } = setup();
      book.orphans.add('lost-1');
      const v = await inspect(T0, { patients: ['p-1', 'lost-1'] });
      expect(v.allowed).toBe(true);
      expect(v.containmentId).toBeNull();
      expect(rules(v.findings)).toEqual(['unexplained.first:alert']);
      expect(containment.alerts).toHaveLength(1);
      expect(containment.alerts[0]?.findings).toBe(v.findings);
      expect(containment.contained).toEqual([]);
    });

    it('alerts a person reading at night, but not the controller’s system', async () => {
      const { inspect, containment } = setup();
      const night = Date.parse('2025-03-12T02:00:00Z'); // 03:00 in Amsterdam
      expect(rules((await inspect(night, {}, 'pathologist', 'u-1')).findings)).toEqual(['time.off-hours:alert']);
      expect((await inspect(night, { patients: patients('r', 15) }, 'controller-system', 'sys-1')).findings).toEqual([]);
      expect(containment.alerts).toHaveLength(1);
    });

    it('judges export pages without canary, cap or explanation rules', async () => {
      const { inspect, book, containment } = setup();
      const v = await inspect(
        T0,
        { kind: 'export', exportId: 'exp-1', patients: ['canary-1', ...patients('e', 500)], bytes: 900 * 1024 * 1024 },
        'controller-system',
        'sys-1',
      );
      expect(v).toEqual({ allowed: true, findings: [], containmentId: null, incidentId: null });
      expect(book.lookups).toBe(0);
      expect(containment.contained).toEqual([]);
    });
  });

  describe("mode 'monitor'", () => {
    it('never contains, alerts every finding, and lets the read through', async () => {
      const { inspect, containment, detector } = setup('monitor');
      const v = await inspect(T0, { patients: ['canary-1', ...patients('p', 60)] });
      expect(v.allowed).toBe(true);
      expect(v.containmentId).toBeNull();
      expect(rules(v.findings)).toEqual([
        'canary.touch:contain',
        'cap.patients-per-minute:contain',
        'enumeration.patients-per-request:contain',
      ]);
      expect(containment.contained).toEqual([]);
      expect(containment.alerts).toHaveLength(1);
      expect(containment.alerts[0]?.findings).toEqual(v.findings);
      expect(detector.peek('u-1')?.minute.size(T0)).toBe(61);
      expect(detector.counts().denied).toBe(0);
    });
  });

  describe('baselines', () => {
    const row = (over: Partial<BaselineRow> = {}): BaselineRow => ({
      principalId: 'u-1',
      hourOfWeek: HOW_T0,
      mean: 2,
      variance: 0,
      samples: 10,
      updatedAt: '2025-03-05T09:00:00.000Z',
      ...over,
    });

    it('loads a principal’s baselines once', async () => {
      const { inspect, store } = setup();
      for (let i = 0; i < 5; i++) await inspect(T0 + i * MINUTE, { patients: [`p-${i}`] });
      await inspect(T0, {}, 'lab-technician', 'u-2');
      await inspect(T0 + SECOND, {}, 'lab-technician', 'u-2');
      expect(store.loads).toEqual(['u-1', 'u-2']);
    });

    it('concurrent first reads of a principal apply its stored baselines once', async () => {
      const { detector, store } = setup();
      store.baselines.set('u-1', [row()]);
      await Promise.all([detector.inspect(read(T0, { patients: ['a'] })), detector.inspect(read(T0 + 1, { patients: ['b'] }))]);
      expect(detector.peek('u-1')?.baselines.get(HOW_T0)).toEqual({ mean: 2, variance: 0, samples: 10 });
      // Both reads query the store (the second answer is discarded): redundant, not wrong.
      expect(store.loads.every((p) => p === 'u-1')).toBe(true);
    });

    it('judges against the stored baseline of the local hour of the week', async () => {
      const { inspect, store } = setup();
      store.baselines.set('u-1', [row()]); // threshold: floor 15, contain above 30
      const quiet = await inspect(T0, { patients: patients('a', 15) });
      expect(quiet.findings).toEqual([]);
      const unusual = await inspect(T0 + SECOND, { patients: ['b-1'] });
      expect(unusual.findings).toEqual([expect.objectContaining({ rule: 'baseline.unusual', measured: 16, threshold: 15 })]);
      const exceeded = await inspect(T0 + 2 * SECOND, { patients: patients('c', 15) });
      expect(exceeded.allowed).toBe(false);
      expect(exceeded.findings).toEqual([expect.objectContaining({ rule: 'baseline.exceeded', measured: 31, threshold: 30 })]);
    });

    it('ignores a stored baseline of another hour of the week', async () => {
      const { inspect, store } = setup();
      store.baselines.set('u-1', [row({ hourOfWeek: HOW_T0 + 1 })]);
      expect((await inspect(T0, { patients: patients('a', 40) })).findings).toEqual([]);
    });

    it('saves the baseline when a window closes', async () => {
      const { inspect, store } = setup();
      await inspect(T0 + SECOND, { patients: ['a', 'b', 'c'] });
      await inspect(T0 + 4 * MINUTE, { patients: ['c'] });
      expect(store.saves).toEqual([]);
      await inspect(T0 + 5 * MINUTE, { patients: ['d'] });
      expect(store.saves).toEqual([
        [{ principalId: 'u-1', hourOfWeek: HOW_T0, mean: 3, variance: 0, samples: 1, updatedAt: new Date(T0 + 5 * MINUTE).toISOString() }],
      ]);
      await inspect(T0 + 6 * MINUTE, { patients: ['e'] });
      expect(store.saves).toHaveLength(1);
    });

    it('folds idle windows in and saves one row per hour of the week', async () => {
      const { inspect, store } = setup();
      store.baselines.set('u-1', [row({ mean: 0, samples: 3 })]);
      await inspect(T0, { patients: ['a', 'b'] });
      await inspect(T0 + 65 * MINUTE, { patients: ['c'] }); // 10:00 window, 11 idle windows, now in 11:05
      expect(store.saves).toHaveLength(1);
      const saved = store.saves[0] ?? [];
      expect(saved.map((r) => [r.hourOfWeek, r.samples])).toEqual([
        [HOW_T0, 3 + 12],
        [HOW_T0 + 1, 1],
      ]);
      expect(saved[1]?.mean).toBe(0);
    });

    // Regression: a read takes its `at` before the detector's awaits, so a slow read can be judged
    // after a faster, later one. Straddling a window boundary, the late read used to roll the
    // window back — three samples saved for what was one closed window.
    it('a read overtaken across a window boundary does not fold extra baseline samples', async () => {
      const { detector, store, book } = setup();
      await detector.inspect(read(T0, { patients: ['a'] }));
      book.slow.add('late');
      const late = detector.inspect(read(T0 + 5 * MINUTE - 1, { patients: ['late'] }));
      const early = detector.inspect(read(T0 + 5 * MINUTE, { patients: ['b'] }));
      await Promise.all([late, early]);
      await detector.inspect(read(T0 + 6 * MINUTE, { patients: ['c'] }));
      expect(store.saves.flat().map((r) => r.samples)).toEqual([1]);
    });

    it('reports a failed save and still answers', async () => {
      const { inspect, store, errors } = setup();
      store.failSaves = true;
      await inspect(T0, { patients: ['a'] });
      const v = await inspect(T0 + 5 * MINUTE, { patients: ['b'] });
      expect(v.allowed).toBe(true);
      await sleep(0);
      expect(errors).toEqual(['baseline save failed']);
    });
  });

  describe('new origins', () => {
    it('alerts on a new origin only after the principal had another one', async () => {
      const { inspect, containment } = setup();
      expect((await inspect(T0, { ip: '10.0.0.1' })).findings).toEqual([]);
      expect((await inspect(T0 + SECOND, { ip: '10.0.0.1' })).findings).toEqual([]);
      const moved = await inspect(T0 + 2 * SECOND, { ip: '192.0.2.7' });
      expect(moved.allowed).toBe(true);
      expect(rules(moved.findings)).toEqual(['origin.new:alert']);
      expect(containment.alerts).toHaveLength(1);
      expect((await inspect(T0 + 3 * SECOND, { ip: '192.0.2.7' })).findings).toEqual([]);
    });

    it('knows the origins recorded by other nodes', async () => {
      const { inspect, store } = setup();
      store.origins.set('u-1', new Set(['10.0.0.1']));
      expect((await inspect(T0, { ip: '10.0.0.1' })).findings).toEqual([]);
      const fresh = setup();
      fresh.store.origins.set('u-1', new Set(['10.0.0.1']));
      expect(rules((await fresh.inspect(T0, { ip: '198.51.100.1' })).findings)).toEqual(['origin.new:alert']);
    });

    it('ignores reads without an origin', async () => {
      const { inspect, store } = setup();
      await inspect(T0, { ip: '10.0.0.1' });
      expect((await inspect(T0 + SECOND, { ip: null })).findings).toEqual([]);
      expect(store.origins.get('u-1')).toEqual(new Set(['10.0.0.1']));
    });
  });

  describe('counts and forget', () => {
    it('counts inspections, denials and findings by rule and severity', async () => {
      const { detector, inspect, book } = setup();
      book.orphans.add('lost-1');
      await inspect(T0, { patients: ['lost-1'] });
      await inspect(T0 + SECOND, { ip: '192.0.2.1' });
      await inspect(T0 + 2 * SECOND, { patients: ['canary-2'] });
      await inspect(T0 + 3 * SECOND);
      const c = detector.counts();
      expect(c.inspected).toBe(4);
      expect(c.denied).toBe(2);
      expect(Object.fromEntries(c.findings)).toEqual({
        'unexplained.first\u0000alert': 1,
        'origin.new\u0000alert': 1,
        'canary.touch\u0000contain': 1,
      });
      // A snapshot: later findings do not change it.
      await inspect(T0 + 4 * SECOND);
      expect(c.inspected).toBe(4);
    });

    it('forget() resets the counts but keeps baselines and origins', async () => {
      const { detector, inspect, store } = setup();
      store.baselines.set('u-1', [
        { principalId: 'u-1', hourOfWeek: HOW_T0, mean: 2, variance: 0, samples: 10, updatedAt: '2025-03-05T09:00:00.000Z' },
      ]);
      await inspect(T0, { patients: patients('a', 15), ip: '10.0.0.1' });
      detector.forget('u-1');
      const a = detector.peek('u-1');
      expect(a?.minute.size(T0)).toBe(0);
      expect(a?.day.size(T0)).toBe(0);
      expect(a?.window.size).toBe(0);
      expect(a?.firstSeen).toBeNull();
      expect(a?.baselines.get(HOW_T0)).toEqual({ mean: 2, variance: 0, samples: 10 });
      // The same 15 patients plus one again: counted afresh, judged against the kept baseline.
      const v = await inspect(T0 + SECOND, { patients: patients('a', 15), ip: '10.0.0.1' });
      expect(v.findings).toEqual([]);
      expect(rules((await inspect(T0 + 2 * SECOND, { patients: ['b'], ip: '10.0.0.1' })).findings)).toEqual(['baseline.unusual:alert']);
      expect(store.loads).toEqual(['u-1']);
      expect(rules((await inspect(T0 + 3 * SECOND, { patients: ['b'], ip: '192.0.2.9' })).findings)).toEqual(['origin.new:alert']);
    });

    it('forget() of an unknown principal does nothing', () => {
      const { detector } = setup();
      detector.forget('nobody');
      expect(detector.peek('nobody')).toBeUndefined();
    });
  });
});

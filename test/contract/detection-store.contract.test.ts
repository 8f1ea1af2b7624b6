import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeEvent } from '../../src/audit/event-codec.js';
import type { AuditAction, AuditEvent } from '../../src/domain/audit-event.js';
import { Conflict, IntegrityViolation, InvalidInput, StorageError } from '../../src/domain/errors.js';
import type { ReleaseOutcome } from '../../src/ports/detection-store.js';
import type { VaultStore } from '../../src/ports/vault-store.js';
import { readEvent } from '../support/audit-fixture.js';
import { testTenant } from '../support/fhir-builders.js';
import { backends, type Opened } from '../support/store-backends.js';
import {
  AT,
  baselineRow,
  canarySetRow,
  containmentRow,
  incidentRow,
  patientRow,
  principalRow,
  resourceRow,
} from '../support/store-rows.js';

/**
 * The DetectionStore contract: incidents, containments and their release approvals, the canary
 * registry, baselines and known origins, run against every adapter. A containment commits with its
 * incident, the principal's suspension and its events, or not at all; a release needs as many
 * distinct officers as the containment requires, and gives the principal back only when nothing
 * else still contains it.
 */
const T1 = 'screening';
const T2 = 'hospital-west';
const NOW = '2024-06-01T12:00:00.000Z';
const LATER = '2024-06-01T13:00:00.000Z';
const INJECTION = "x' OR '1'='1";
const DROP = "1'); DROP TABLE containments; --";

const ev = (i: number, action: AuditAction): AuditEvent => readEvent(i, { action, tenant: null, patients: [], categories: [] });

async function auditActions(store: VaultStore): Promise<string[]> {
  const out: string[] = [];
  for await (const page of store.readAuditEvents(0, Number.MAX_SAFE_INTEGER)) out.push(...page.map((b) => decodeEvent(b).event.action));
  return out;
}

async function seedTenants(store: VaultStore): Promise<void> {
  for (const t of [T1, T2]) await store.upsertTenant(testTenant(t), []);
}

const FAIL_AUDIT = {
  sqlite: "CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END;",
  postgres:
    "CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit store unavailable'; END $$; CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION fail_audit();",
} as const;

describe.each(backends.map((b) => [b.name, b] as const))('DetectionStore contract: %s', (_name, backend) => {
  describe.skipIf(backend.skip)('adapter', () => {
    let db: Opened | undefined;
    let store: VaultStore;

    beforeEach(async () => {
      db = await backend.open();
      store = db.store;
    });

    afterEach(async () => {
      await db?.dispose();
      db = undefined;
    });

    describe('incidents', () => {
      it('round-trips incidents and lists them newest first', async () => {
        const a = incidentRow('inc-a', { openedAt: '2024-03-01T09:00:00.000Z' });
        const b = incidentRow('inc-b', {
          source: 'manual',
          trigger: 'lost laptop',
          principalId: null,
          tenants: [],
          windowStart: null,
          windowEnd: null,
          status: 'closed',
          doc: {},
        });
        // Same opening time as b: the id breaks the tie, in byte order on both backends.
        const c = incidentRow('inc-C', { openedAt: '2024-03-01T10:00:00+00:00' });
        for (const i of [a, b, c]) await store.insertIncident(i, []);
        expect(await store.getIncident('inc-a')).toStrictEqual(a);
        expect(await store.getIncident('inc-b')).toStrictEqual(b);
        expect(await store.getIncident('inc-C')).toStrictEqual({ ...c, openedAt: AT });
        expect(await store.getIncident('inc-x')).toBeNull();
        expect((await store.listIncidents()).map((i) => i.id)).toStrictEqual(['inc-b', 'inc-C', 'inc-a']);
      });

      it('refuses an existing id with Conflict and writes nothing, its events included', async () => {
        const i = incidentRow('inc-1');
        await store.insertIncident(i, [ev(0, 'principal.suspend')]);
        const err = await store
          .insertIncident(incidentRow('inc-1', { trigger: 'impostor', status: 'closed' }), [ev(1, 'principal.suspend')])
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(Conflict);
        expect(await store.getIncident('inc-1')).toStrictEqual(i);
        expect((await store.auditHead()).size).toBe(1);
      });

      it('updateIncident replaces status and doc only; false for an unknown id; the events see which', async () => {
        const i = incidentRow('inc-1');
        await store.insertIncident(i, []);
        const seen: boolean[] = [];
        const audit = (ok: boolean) => (seen.push(ok), [ev(seen.length, 'principal.release')]);
        const doc = { closedBy: 'officer-1', notes: ['a', 'b'], count: 3 };
        expect(await store.updateIncident('inc-1', 'closed', doc, audit)).toBe(true);
        expect(await store.updateIncident('inc-x', 'closed', doc, audit)).toBe(false);
        expect(await store.getIncident('inc-1')).toStrictEqual({ ...i, status: 'closed', doc });
        expect(await store.getIncident('inc-x')).toBeNull();
        expect(seen).toStrictEqual([true, false]);
        expect((await store.auditHead()).size).toBe(2);
      });

      it('stores injection-shaped strings verbatim and matches nothing with them', async () => {
        const i = incidentRow(INJECTION, { trigger: DROP, principalId: INJECTION, tenants: [INJECTION, DROP], doc: { [DROP]: INJECTION } });
        await store.insertIncident(i, []);
        await store.contain(
          incidentRow('inc-2'),
          containmentRow(DROP, 'inc-2', { principalId: INJECTION, originIp: DROP, frozenTenants: [DROP], rule: INJECTION }),
          DROP,
          [],
        );
        expect(await store.getIncident(INJECTION)).toStrictEqual(i);
        expect(await store.getIncident("' OR '1'='1")).toBeNull();
        expect((await store.getContainment(DROP))?.originIp).toBe(DROP);
        expect(await store.activeContainments()).toHaveLength(1);
        await store.saveBaselines([baselineRow(INJECTION, 0)]);
        expect(await store.loadBaselines(INJECTION)).toStrictEqual([baselineRow(INJECTION, 0)]);
        expect(await store.loadBaselines("x' OR 1=1 --")).toStrictEqual([]);
        expect(await store.recordOrigin(INJECTION, DROP, NOW)).toBe(true);
        expect(await store.hasOrigins("x' OR '1'='1' --")).toBe(false);
        expect(await store.listCanarySets(INJECTION)).toStrictEqual([]);
      });

      it('refuses malformed instants, and reports a stored row we did not write as IntegrityViolation', async () => {
        for (const bad of ['2024-06-01', '2024-06-01T12:00:00', `${NOW}' OR '1'='1`]) {
          await expect(store.insertIncident(incidentRow('inc-1', { openedAt: bad }), [])).rejects.toBeInstanceOf(InvalidInput);
        }
        expect(await store.listIncidents()).toStrictEqual([]);
        await store.insertIncident(incidentRow('inc-1'), []);
        await store.insertIncident(incidentRow('inc-2'), []);
        await store.contain(incidentRow('inc-3'), containmentRow('con-1', 'inc-3'), 'x', []);
        await db!.exec(
          "UPDATE incidents SET doc = 'not json' WHERE id = 'inc-1'; UPDATE incidents SET tenants = '{\"a\":1}' WHERE id = 'inc-2'; UPDATE containments SET frozen_tenants = '[1]'",
        );
        await expect(store.getIncident('inc-1')).rejects.toBeInstanceOf(IntegrityViolation);
        await expect(store.getIncident('inc-2')).rejects.toBeInstanceOf(IntegrityViolation);
        await expect(store.getContainment('con-1')).rejects.toBeInstanceOf(IntegrityViolation);
        await db!.exec("UPDATE incidents SET doc = '[1, 2]' WHERE id = 'inc-1'");
        await expect(store.getIncident('inc-1')).rejects.toBeInstanceOf(IntegrityViolation);
      });
    });

    describe('containment', () => {
      it('contain() commits incident, containment, suspension and events together', async () => {
        await store.insertPrincipal(principalRow('p'), [ev(0, 'principal.create')]);
        const inc = incidentRow('inc-1');
        const con = containmentRow('con-1', 'inc-1', { createdAt: '2024-06-01T14:00:00+02:00' });
        await store.contain(inc, con, 'contained: cap.patients-per-minute', [ev(1, 'principal.suspend')]);
        expect(await store.getIncident('inc-1')).toStrictEqual(inc);
        expect(await store.getContainment('con-1')).toStrictEqual({ ...con, createdAt: NOW });
        expect(await store.getPrincipal('p')).toStrictEqual(
          principalRow('p', { status: 'suspended', statusReason: 'contained: cap.patients-per-minute', updatedAt: NOW }),
        );
        expect(await auditActions(store)).toStrictEqual(['principal.create', 'principal.suspend']);
      });

      it('contain() works for a principal without a row (external issuer), creating none', async () => {
        await store.insertPrincipal(principalRow('q'), []);
        await store.contain(
          incidentRow('inc-1', { principalId: 'ext-1' }),
          containmentRow('con-1', 'inc-1', { principalId: 'ext-1' }),
          'x',
          [ev(0, 'principal.suspend')],
        );
        expect(await store.getPrincipal('ext-1')).toBeNull();
        expect(await store.getPrincipal('q')).toStrictEqual(principalRow('q'));
        expect((await store.activeContainments()).map((c) => c.principalId)).toStrictEqual(['ext-1']);
        expect((await store.auditHead()).size).toBe(1);
      });

      it('contain() writes nothing on a duplicate id, a foreign incident id, a failed event or a failed append', async () => {
        await store.insertPrincipal(principalRow('p'), []);
        await store.contain(incidentRow('inc-1'), containmentRow('con-1', 'inc-1', { principalId: 'other' }), 'x', []);
        // Duplicate containment id: the new incident must roll back with it.
        await expect(
          store.contain(incidentRow('inc-2'), containmentRow('con-1', 'inc-2'), 'x', [ev(0, 'principal.suspend')]),
        ).rejects.toBeInstanceOf(Conflict);
        // Duplicate incident id.
        await expect(
          store.contain(incidentRow('inc-1'), containmentRow('con-2', 'inc-1'), 'x', [ev(0, 'principal.suspend')]),
        ).rejects.toBeInstanceOf(Conflict);
        await expect(store.contain(incidentRow('inc-3'), containmentRow('con-3', 'inc-1'), 'x', [])).rejects.toBeInstanceOf(InvalidInput);
        const throwing = (): AuditEvent[] => {
          throw new InvalidInput('event refused');
        };
        await expect(
          store.approveRelease({ containmentId: 'con-1', officerId: 'o1', reason: 'r', at: NOW }, throwing),
        ).rejects.toBeInstanceOf(InvalidInput);
        await db!.exec(FAIL_AUDIT[backend.name]);
        await expect(
          store.contain(incidentRow('inc-4'), containmentRow('con-4', 'inc-4'), 'x', [ev(1, 'principal.suspend')]),
        ).rejects.toBeInstanceOf(StorageError);
        await expect(store.insertIncident(incidentRow('inc-5'), [ev(2, 'principal.suspend')])).rejects.toBeInstanceOf(StorageError);
        await expect(store.updateIncident('inc-1', 'closed', {}, [ev(3, 'principal.release')])).rejects.toBeInstanceOf(StorageError);
        await expect(
          store.approveRelease({ containmentId: 'con-1', officerId: 'o1', reason: 'r', at: NOW }, [ev(4, 'principal.release')]),
        ).rejects.toBeInstanceOf(StorageError);
        expect((await store.listIncidents()).map((i) => i.id)).toStrictEqual(['inc-1']);
        expect(await store.getIncident('inc-1')).toStrictEqual(incidentRow('inc-1'));
        expect((await store.listContainments()).map((c) => c.id)).toStrictEqual(['con-1']);
        expect(await store.getContainment('con-1')).toStrictEqual(containmentRow('con-1', 'inc-1', { principalId: 'other' }));
        expect(await store.approvalsOf('con-1')).toStrictEqual([]);
        expect(await store.getPrincipal('p')).toStrictEqual(principalRow('p'));
        expect((await store.auditHead()).size).toBe(0);
      });

      it('lists active containments oldest first and all containments newest first', async () => {
        const times = ['2024-06-01T10:00:00.000Z', '2024-06-01T09:00:00.000Z', '2024-06-01T11:00:00.000Z'];
        for (const [i, t] of times.entries()) {
          await store.contain(
            incidentRow(`inc-${i}`),
            containmentRow(`con-${i}`, `inc-${i}`, { principalId: `p${i}`, createdAt: t }),
            'x',
            [],
          );
        }
        expect((await store.activeContainments()).map((c) => c.id)).toStrictEqual(['con-1', 'con-0', 'con-2']);
        expect((await store.listContainments()).map((c) => c.id)).toStrictEqual(['con-2', 'con-0', 'con-1']);
        expect((await store.approveRelease({ containmentId: 'con-0', officerId: 'o', reason: 'r', at: NOW }, [])).released).toBe(true);
        expect((await store.activeContainments()).map((c) => c.id)).toStrictEqual(['con-1', 'con-2']);
        expect((await store.listContainments()).map((c) => c.id)).toStrictEqual(['con-2', 'con-0', 'con-1']);
        expect(await store.getContainment('con-x')).toBeNull();
      });
    });

    describe('release', () => {
      beforeEach(async () => {
        await store.insertPrincipal(principalRow('p'), []);
      });

      it('releases with one approval and gives the principal back; the events see the outcome', async () => {
        const con = containmentRow('con-1', 'inc-1');
        await store.contain(incidentRow('inc-1'), con, 'contained', []);
        const seen: ReleaseOutcome[] = [];
        const audit = (o: ReleaseOutcome) => (seen.push(o), [ev(seen.length, 'principal.release')]);
        const approval = { containmentId: 'con-1', officerId: 'officer-1', reason: 'false positive: batch job', at: NOW };
        const outcome = await store.approveRelease(approval, audit);
        expect(outcome).toStrictEqual({ found: true, counted: true, approvals: 1, released: true });
        expect(seen).toStrictEqual([outcome]);
        expect(await store.getContainment('con-1')).toStrictEqual({ ...con, state: 'released', releasedAt: NOW });
        expect(await store.approvalsOf('con-1')).toStrictEqual([approval]);
        expect(await store.getPrincipal('p')).toStrictEqual(
          principalRow('p', { status: 'active', statusReason: 'false positive: batch job', updatedAt: NOW }),
        );
        expect(await auditActions(store)).toStrictEqual(['principal.release']);
      });

      it('needs two distinct officers when two approvals are required', async () => {
        await store.contain(incidentRow('inc-1'), containmentRow('con-1', 'inc-1', { approvalsRequired: 2 }), 'canary touched', []);
        const first = { containmentId: 'con-1', officerId: 'officer-1', reason: 'checked', at: NOW };
        expect(await store.approveRelease(first, [])).toStrictEqual({ found: true, counted: true, approvals: 1, released: false });
        expect(await store.approveRelease({ ...first, reason: 'again', at: LATER }, [ev(0, 'principal.release')])).toStrictEqual({
          found: true,
          counted: false,
          approvals: 1,
          released: false,
        });
        expect((await store.getContainment('con-1'))?.state).toBe('active');
        expect(await store.approvalsOf('con-1')).toStrictEqual([first]);
        expect((await store.getPrincipal('p'))?.status).toBe('suspended');
        const second = { containmentId: 'con-1', officerId: 'officer-2', reason: 'agreed', at: LATER };
        expect(await store.approveRelease(second, [])).toStrictEqual({ found: true, counted: true, approvals: 2, released: true });
        expect(await store.getContainment('con-1')).toMatchObject({ state: 'released', releasedAt: LATER });
        expect(await store.approvalsOf('con-1')).toStrictEqual([first, second]);
        expect(await store.getPrincipal('p')).toMatchObject({ status: 'active', statusReason: 'agreed', updatedAt: LATER });
        // A refused approval is still audited (the attempt is the evidence).
        expect((await store.auditHead()).size).toBe(1);
      });

      it('finds nothing to release for an unknown or already released containment, and writes only the events', async () => {
        await store.contain(incidentRow('inc-1'), containmentRow('con-1', 'inc-1'), 'x', []);
        const ok = { containmentId: 'con-1', officerId: 'officer-1', reason: 'r', at: NOW };
        expect((await store.approveRelease(ok, [])).released).toBe(true);
        const seen: ReleaseOutcome[] = [];
        const audit = (o: ReleaseOutcome) => (seen.push(o), [ev(seen.length, 'principal.release')]);
        expect(await store.approveRelease({ ...ok, officerId: 'officer-2', at: LATER }, audit)).toStrictEqual({
          found: false,
          counted: false,
          approvals: 1,
          released: false,
        });
        expect(await store.approveRelease({ ...ok, containmentId: 'con-x' }, audit)).toStrictEqual({
          found: false,
          counted: false,
          approvals: 0,
          released: false,
        });
        expect(await store.approveRelease({ ...ok, containmentId: INJECTION }, audit)).toMatchObject({ found: false });
        expect(seen.map((o) => o.found)).toStrictEqual([false, false, false]);
        expect(await store.approvalsOf('con-1')).toStrictEqual([ok]);
        expect(await store.approvalsOf('con-x')).toStrictEqual([]);
        expect(await store.getContainment('con-1')).toMatchObject({ state: 'released', releasedAt: NOW });
        expect((await store.auditHead()).size).toBe(3);
      });

      it('gives the principal back only when no other containment of it is active', async () => {
        await store.contain(incidentRow('inc-1'), containmentRow('con-1', 'inc-1'), 'first', []);
        await store.contain(incidentRow('inc-2'), containmentRow('con-2', 'inc-2', { createdAt: NOW }), 'second', []);
        await store.contain(incidentRow('inc-3'), containmentRow('con-3', 'inc-3', { principalId: 'other' }), 'other', []);
        expect(await store.getPrincipal('p')).toMatchObject({ status: 'suspended', statusReason: 'second', updatedAt: NOW });
        expect((await store.approveRelease({ containmentId: 'con-1', officerId: 'o', reason: 'one', at: NOW }, [])).released).toBe(true);
        expect(await store.getPrincipal('p')).toMatchObject({ status: 'suspended', statusReason: 'second' });
        expect((await store.approveRelease({ containmentId: 'con-2', officerId: 'o', reason: 'both', at: LATER }, [])).released).toBe(true);
        expect(await store.getPrincipal('p')).toMatchObject({ status: 'active', statusReason: 'both', updatedAt: LATER });
        expect((await store.activeContainments()).map((c) => c.id)).toStrictEqual(['con-3']);
      });

      it('counts concurrent approvals of distinct officers, so exactly one completes each release', async () => {
        // Several containments at once, so the race (each approver counting only its own approval)
        // would show on PostgreSQL in nearly every run rather than now and then.
        const ids = Array.from({ length: 8 }, (_, i) => i);
        for (const i of ids) {
          await store.contain(
            incidentRow(`inc-${i}`),
            containmentRow(`con-${i}`, `inc-${i}`, { principalId: `p${i}`, approvalsRequired: 2 }),
            'x',
            [],
          );
        }
        await store.contain(incidentRow('inc-p'), containmentRow('con-p', 'inc-p', { approvalsRequired: 2 }), 'x', []);
        const outcomes = await Promise.all(
          ['con-p', ...ids.map((i) => `con-${i}`)].flatMap((containmentId) =>
            ['o1', 'o2'].map((officerId, j) =>
              store.approveRelease({ containmentId, officerId, reason: 'r', at: NOW }, [ev(j, 'principal.release')]),
            ),
          ),
        );
        expect(outcomes.filter((o) => o.released)).toHaveLength(9);
        expect(outcomes.every((o) => o.found && o.counted)).toBe(true);
        expect(await store.activeContainments()).toStrictEqual([]);
        expect((await store.getPrincipal('p'))?.status).toBe('active');
      });

      it('gives each principal back when its two containments are released concurrently', async () => {
        // Without serialising on the principal, each release would see the other containment still
        // active and leave the principal suspended; several principals make that race show.
        const principals = Array.from({ length: 8 }, (_, i) => `q${i}`);
        for (const q of principals) {
          await store.insertPrincipal(principalRow(q), []);
          for (const k of [1, 2]) {
            await store.contain(
              incidentRow(`inc-${q}-${k}`),
              containmentRow(`con-${q}-${k}`, `inc-${q}-${k}`, { principalId: q }),
              'x',
              [],
            );
          }
        }
        const outcomes = await Promise.all(
          principals.flatMap((q) =>
            [1, 2].map((k) => store.approveRelease({ containmentId: `con-${q}-${k}`, officerId: 'o', reason: 'r', at: NOW }, [])),
          ),
        );
        expect(outcomes.every((o) => o.released)).toBe(true);
        for (const q of principals) expect((await store.getPrincipal(q))?.status, q).toBe('active');
      });
    });

    describe('canary registry', () => {
      beforeEach(async () => {
        await seedTenants(store);
      });

      it('round-trips sealed sets byte for byte, listed oldest first, optionally by tenant', async () => {
        const edgy = Buffer.concat([Buffer.from([0, 0, 255, 0x5c, 0x27, 0]), randomBytes(4096), Buffer.from([0])]);
        const a = canarySetRow('cns-a', T1, { sealed: edgy, createdAt: '2024-03-01T12:00:00.000Z' });
        const b = canarySetRow('cns-b', T2, { copyKind: 'export', copyId: 'job-1' });
        const c = canarySetRow('cns-c', T1, { copyKind: 'backup', copyId: 'bk-1', createdAt: '2024-03-01T11:00:00.000Z' });
        for (const s of [a, b, c]) await store.insertCanarySet(s, [ev(0, 'keys.create')]);
        expect(await store.listCanarySets()).toStrictEqual([b, c, a]);
        expect(await store.listCanarySets(T1)).toStrictEqual([c, a]);
        expect(await store.listCanarySets(T2)).toStrictEqual([b]);
        expect(await store.listCanarySets('nobody')).toStrictEqual([]);
        const [stored] = (await store.listCanarySets(T1)).filter((s) => s.id === 'cns-a');
        expect(stored?.sealed.equals(edgy)).toBe(true);
        expect((await store.auditHead()).size).toBe(3);
      });

      it('refuses a duplicate id (Conflict) or an unknown tenant (InvalidInput), writing nothing', async () => {
        const a = canarySetRow('cns-a', T1);
        await store.insertCanarySet(a, []);
        await expect(store.insertCanarySet(canarySetRow('cns-a', T2), [ev(0, 'keys.create')])).rejects.toBeInstanceOf(Conflict);
        await expect(store.insertCanarySet(canarySetRow('cns-b', 'nobody'), [ev(1, 'keys.create')])).rejects.toBeInstanceOf(InvalidInput);
        expect(await store.listCanarySets()).toStrictEqual([a]);
        expect((await store.auditHead()).size).toBe(0);
      });
    });

    describe('baselines, origins and the order book', () => {
      it('upserts baselines per (principal, hour) and loads them by hour', async () => {
        const rows = [baselineRow('p', 167), baselineRow('p', 0, { mean: 0, variance: 0, samples: 0 }), baselineRow('q', 5)];
        await store.saveBaselines(rows);
        expect(await store.loadBaselines('p')).toStrictEqual([rows[1], rows[0]]);
        const updated = baselineRow('p', 0, { mean: 1 / 3, variance: 1e-9, samples: 9, updatedAt: '2024-06-01T14:00:00+02:00' });
        await store.saveBaselines([baselineRow('p', 0, { mean: 99 }), updated, baselineRow('p', 24)]);
        expect(await store.loadBaselines('p')).toStrictEqual([{ ...updated, updatedAt: NOW }, baselineRow('p', 24), rows[0]]);
        expect(await store.loadBaselines('q')).toStrictEqual([rows[2]]);
        expect(await store.loadBaselines('nobody')).toStrictEqual([]);
        await store.saveBaselines([]);
        expect(await store.loadBaselines('p')).toHaveLength(3);
      });

      it('refuses out-of-range hours and non-finite numbers, saving none of the batch', async () => {
        for (const bad of [
          baselineRow('p', 168),
          baselineRow('p', -1),
          baselineRow('p', 1.5),
          baselineRow('p', 1, { mean: Number.NaN }),
          baselineRow('p', 1, { variance: Number.POSITIVE_INFINITY }),
          baselineRow('p', 1, { samples: 2.5 }),
          baselineRow('p', 1, { updatedAt: '2024-06-01' }),
        ]) {
          await expect(store.saveBaselines([baselineRow('p', 2), bad])).rejects.toBeInstanceOf(InvalidInput);
        }
        expect(await store.loadBaselines('p')).toStrictEqual([]);
      });

      it('recordOrigin answers true only the first time a principal is seen from an address', async () => {
        expect(await store.hasOrigins('p')).toBe(false);
        expect(await store.recordOrigin('p', '192.0.2.10', NOW)).toBe(true);
        expect(await store.recordOrigin('p', '192.0.2.10', LATER)).toBe(false);
        expect(await store.recordOrigin('p', '192.0.2.10', '2024-01-01T00:00:00Z')).toBe(false);
        expect(await store.recordOrigin('p', '2001:db8::1', NOW)).toBe(true);
        expect(await store.recordOrigin('q', '192.0.2.10', NOW)).toBe(true);
        expect(await store.hasOrigins('p')).toBe(true);
        expect(await store.hasOrigins('r')).toBe(false);
        await expect(store.recordOrigin('r', '192.0.2.10', 'yesterday')).rejects.toBeInstanceOf(InvalidInput);
        expect(await store.hasOrigins('r')).toBe(false);
        // Operational state: no audit events.
        expect((await store.auditHead()).size).toBe(0);
      });

      it("newestOrderDate is the day of the tenant's newest ServiceRequest, null when it has none", async () => {
        await seedTenants(store);
        expect(await store.newestOrderDate(T1)).toBeNull();
        for (const t of [T1, T2]) {
          await store.addTenantKey(
            { tenantId: t, version: 1, wrappedKek: Buffer.alloc(40, 1), masterKeyId: 'm', state: 'active', createdAt: AT },
            [],
          );
        }
        const order = (tenantId: string, id: string, effectiveDate: string | null) =>
          resourceRow(tenantId, 'ServiceRequest', id, 'p1', { effectiveDate, status: 'completed', code: null });
        await store.writeBatch({
          patients: [patientRow(T1, 'p1')],
          resources: [
            order(T1, 'sr-1', '2024-02-29'),
            order(T1, 'sr-2', '2025-01-10'),
            order(T1, 'sr-3', null),
            resourceRow(T1, 'Observation', 'o-1', 'p1', { effectiveDate: '2025-06-01' }),
          ],
          audit: [],
        });
        await store.writeBatch({ patients: [patientRow(T2, 'p1')], resources: [order(T2, 'sr-1', '2025-12-31')], audit: [] });
        expect(await store.newestOrderDate(T1)).toBe('2025-01-10');
        expect(await store.newestOrderDate(T2)).toBe('2025-12-31');
        expect(await store.newestOrderDate('nobody')).toBeNull();
        expect(await store.newestOrderDate(INJECTION)).toBeNull();
      });

      it('recordOrigin lets exactly one of several concurrent first sightings be first', async () => {
        const firsts = await Promise.all(Array.from({ length: 6 }, () => store.recordOrigin('p', '192.0.2.99', NOW)));
        expect(firsts.filter(Boolean)).toHaveLength(1);
      });
    });
  });
});

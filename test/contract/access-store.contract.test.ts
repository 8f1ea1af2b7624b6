import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeEvent } from '../../src/audit/event-codec.js';
import type { AuditAction, AuditEvent } from '../../src/domain/audit-event.js';
import { Conflict, InvalidInput, StorageError } from '../../src/domain/errors.js';
import type { ClinicalType } from '../../src/domain/resource-type.js';
import type { ResourceSearch } from '../../src/ports/access-store.js';
import type { ResourceRow, VaultStore } from '../../src/ports/vault-store.js';
import { readEvent } from '../support/audit-fixture.js';
import { testTenant } from '../support/fhir-builders.js';
import { backends, type Opened } from '../support/store-backends.js';
import { AT, apiKeyRow, breakGlassRow, exportJobRow, patientRow, principalRow, resourceRow } from '../support/store-rows.js';

/**
 * The AccessStore contract: principals, API keys, revoked tokens, break-glass grants, export jobs
 * and the FHIR searches, run against every adapter. Every write must commit with its audit events
 * (fail closed), and every search must stay inside its tenant whatever values it is handed.
 */
const T1 = 'screening';
const T2 = 'hospital-west';
const NOW = '2024-06-01T12:00:00.000Z';
const HOUR_AGO = '2024-06-01T11:00:00.000Z';
const IN_AN_HOUR = '2024-06-01T13:00:00.000Z';
const INJECTION = "x' OR '1'='1";

const ev = (i: number, action: AuditAction): AuditEvent => readEvent(i, { action, tenant: null, patients: [], categories: [] });

async function auditActions(store: VaultStore): Promise<string[]> {
  const out: string[] = [];
  for await (const page of store.readAuditEvents(0, Number.MAX_SAFE_INTEGER)) out.push(...page.map((b) => decodeEvent(b).event.action));
  return out;
}

async function seedTenants(store: VaultStore): Promise<void> {
  for (const t of [T1, T2]) {
    await store.upsertTenant(testTenant(t), []);
    await store.addTenantKey(
      { tenantId: t, version: 1, wrappedKek: Buffer.alloc(40, 1), masterKeyId: 'm', state: 'active', createdAt: AT },
      [],
    );
  }
}

// Search fixture: the same ids in both tenants with different attributes, and ids whose byte order
// differs from a locale's order ('Z9' < 'a1' in bytes), so both tenant scoping and paging show.
const IDS = ['a1', 'a10', 'a2', 'B3', 'b4', 'c', 'Z9', 'zz', 'x', 'y', 'm-1', 'm.2', 'n', 'o'];
const STATUSES = ['final', 'preliminary', 'amended'] as const;

function clinicalRows(tenantId: string, shift: number): ResourceRow[] {
  return IDS.map((id, n) => {
    const i = n + shift;
    return resourceRow(tenantId, i % 4 === 3 ? 'DiagnosticReport' : 'Observation', id, i % 2 ? 'p1' : 'p2', {
      status: i % 5 === 0 ? null : STATUSES[i % 3],
      code: i % 4 === 1 ? null : ['4548-4', '2345-7'][i % 2],
      effectiveDate: i % 7 === 0 ? null : `2024-05-${String(1 + i).padStart(2, '0')}`,
      createdAt: `2024-03-01T10:00:${String(i).padStart(2, '0')}.123Z`,
    });
  });
}

/** The reference answer: what a search must return, computed in memory. */
function expected(rows: ResourceRow[], tenantId: string, q: Omit<ResourceSearch, 'limit'>): ResourceRow[] {
  const ok = (r: ResourceRow): boolean =>
    r.tenantId === tenantId &&
    r.type === q.type &&
    (q.patientId === undefined || r.patientId === q.patientId) &&
    (q.status === undefined || r.status === q.status) &&
    (q.code === undefined || r.code === q.code) &&
    (q.dateFrom === undefined || (r.effectiveDate !== null && r.effectiveDate >= q.dateFrom)) &&
    (q.dateTo === undefined || (r.effectiveDate !== null && r.effectiveDate <= q.dateTo)) &&
    (q.createdSince === undefined || Date.parse(r.createdAt) >= Date.parse(q.createdSince)) &&
    (q.afterId === undefined || r.id > q.afterId);
  return rows.filter(ok).sort((a, b) => (a.id < b.id ? -1 : 1));
}

describe.each(backends.map((b) => [b.name, b] as const))('AccessStore contract: %s', (_name, backend) => {
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

    describe('principals', () => {
      it('round-trips principals and lists them ordered by id', async () => {
        const b = principalRow('b-lims');
        const a = principalRow('A-operator', { role: 'admin', tenants: ['*'], purpose: null, scopes: [], statusReason: 'x' });
        await store.insertPrincipal(b, []);
        await store.insertPrincipal(a, []);
        expect(await store.getPrincipal('b-lims')).toStrictEqual(b);
        expect(await store.getPrincipal('A-operator')).toStrictEqual(a);
        expect(await store.getPrincipal('nobody')).toBeNull();
        expect(await store.listPrincipals()).toStrictEqual([a, b]);
      });

      it('refuses an existing id with Conflict and writes nothing, its events included', async () => {
        const p = principalRow('p');
        await store.insertPrincipal(p, [ev(0, 'principal.create')]);
        const err = await store
          .insertPrincipal({ ...p, name: 'Impostor', role: 'admin' }, [ev(1, 'principal.create')])
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(Conflict);
        expect(await store.getPrincipal('p')).toStrictEqual(p);
        expect((await store.auditHead()).size).toBe(1);
      });

      it('setPrincipalStatus changes status, reason and updatedAt; false for an unknown id', async () => {
        await store.insertPrincipal(principalRow('p'), []);
        const seen: boolean[] = [];
        const audit = (ok: boolean) => (seen.push(ok), [ev(seen.length, 'principal.suspend')]);
        expect(await store.setPrincipalStatus('p', 'suspended', 'lost laptop', NOW, audit)).toBe(true);
        expect(await store.getPrincipal('p')).toStrictEqual(
          principalRow('p', { status: 'suspended', statusReason: 'lost laptop', updatedAt: NOW }),
        );
        expect(await store.setPrincipalStatus('ghost', 'suspended', null, NOW, audit)).toBe(false);
        expect(await store.getPrincipal('ghost')).toBeNull();
        expect(seen).toStrictEqual([true, false]);
        expect(await auditActions(store)).toStrictEqual(['principal.suspend', 'principal.suspend']);
      });
    });

    describe('API keys, tokens, break-glass grants', () => {
      it('round-trips an API key and revokes it once', async () => {
        await store.insertPrincipal(principalRow('p'), []);
        const k = apiKeyRow('k1', 'p');
        await store.insertApiKey(k, []);
        expect(await store.getApiKey('k1')).toStrictEqual(k);
        expect(await store.getApiKey('k2')).toBeNull();
        expect(await store.revokeApiKey('k1', NOW, [])).toBe(true);
        expect(await store.revokeApiKey('k1', IN_AN_HOUR, [])).toBe(false);
        expect(await store.revokeApiKey('k2', NOW, [])).toBe(false);
        expect(await store.getApiKey('k1')).toStrictEqual({ ...k, revokedAt: NOW });
      });

      it('refuses a key of an unknown principal (InvalidInput) or a duplicate id (Conflict), writing nothing', async () => {
        await store.insertPrincipal(principalRow('p'), []);
        const k = apiKeyRow('k1', 'p');
        await store.insertApiKey(k, []);
        await expect(store.insertApiKey(apiKeyRow('k2', 'ghost'), [ev(0, 'apikey.create')])).rejects.toBeInstanceOf(InvalidInput);
        await expect(store.insertApiKey(apiKeyRow('k1', 'p'), [ev(1, 'apikey.create')])).rejects.toBeInstanceOf(Conflict);
        expect(await store.getApiKey('k2')).toBeNull();
        expect(await store.getApiKey('k1')).toStrictEqual(k);
        expect((await store.auditHead()).size).toBe(0);
      });

      it('revokes tokens idempotently, each revocation still audited', async () => {
        expect(await store.isTokenRevoked('jti-1')).toBe(false);
        const row = { tokenId: 'jti-1', principalId: 'p', revokedAt: NOW, expiresAt: IN_AN_HOUR };
        await store.revokeToken(row, [ev(0, 'token.revoke')]);
        await store.revokeToken({ ...row, revokedAt: IN_AN_HOUR }, [ev(1, 'token.revoke')]);
        expect(await store.isTokenRevoked('jti-1')).toBe(true);
        expect(await store.isTokenRevoked('jti-2')).toBe(false);
        expect(await store.isTokenRevoked(INJECTION)).toBe(false);
        expect((await store.auditHead()).size).toBe(2);
      });

      it('activeBreakGlass picks the open grant with the latest expiry, nothing expired, future or foreign', async () => {
        expect(await store.activeBreakGlass('p', T1, NOW)).toBeNull();
        const open = breakGlassRow('g-open', 'p', T1, HOUR_AGO, IN_AN_HOUR);
        const sooner = breakGlassRow('g-sooner', 'p', T1, HOUR_AGO, '2024-06-01T12:30:00.000Z');
        for (const g of [
          breakGlassRow('g-expired', 'p', T1, '2024-06-01T10:00:00.000Z', NOW), // expiry is exclusive
          breakGlassRow('g-later', 'p', T1, '2024-06-01T12:00:00.001Z', '2024-06-01T18:00:00.000Z'),
          breakGlassRow('g-t2', 'p', T2, HOUR_AGO, '2024-06-01T19:00:00.000Z'),
          breakGlassRow('g-q', 'q', T1, HOUR_AGO, '2024-06-01T19:00:00.000Z'),
          sooner,
        ]) {
          await store.insertBreakGlass(g, []);
        }
        expect(await store.activeBreakGlass('p', T1, NOW)).toStrictEqual(sooner);
        await store.insertBreakGlass(open, [ev(0, 'breakglass.open')]);
        expect(await store.activeBreakGlass('p', T1, NOW)).toStrictEqual(open);
        expect(await store.activeBreakGlass('p', T1, IN_AN_HOUR)).toStrictEqual(
          breakGlassRow('g-later', 'p', T1, '2024-06-01T12:00:00.001Z', '2024-06-01T18:00:00.000Z'),
        );
        expect(await store.activeBreakGlass('p', 'other', NOW)).toBeNull();
        await expect(store.insertBreakGlass({ ...open, tenantId: T2 }, [ev(1, 'breakglass.open')])).rejects.toBeInstanceOf(Conflict);
        expect(await auditActions(store)).toStrictEqual(['breakglass.open']);
      });
    });

    describe('export jobs', () => {
      it('round-trips jobs', async () => {
        const j1 = exportJobRow('j1', 'alice');
        const j2 = exportJobRow('j2', 'bob', { tenantId: T2, types: ['DiagnosticReport'], since: '2024-01-01T00:00:00.000Z' });
        await store.insertExportJob(j1, []);
        await store.insertExportJob(j2, []);
        expect(await store.getExportJob('j1')).toStrictEqual(j1);
        expect(await store.getExportJob('j2')).toStrictEqual(j2);
        expect(await store.getExportJob('j3')).toBeNull();
        await expect(store.insertExportJob(j1, [])).rejects.toBeInstanceOf(Conflict);
      });

      it('approves once, never by the requester, never after expiry', async () => {
        const job = exportJobRow('j1', 'alice', { expiresAt: NOW });
        await store.insertExportJob(job, []);
        const seen: boolean[] = [];
        const audit = (ok: boolean) => (seen.push(ok), [ev(seen.length, 'export.approve')]);
        expect(await store.approveExportJob('j1', 'alice', HOUR_AGO, audit)).toBe(false);
        expect(await store.approveExportJob('j1', 'bob', NOW, audit)).toBe(false);
        expect(await store.approveExportJob('nope', 'bob', HOUR_AGO, audit)).toBe(false);
        expect(await store.getExportJob('j1')).toStrictEqual(job);
        expect(await store.approveExportJob('j1', 'bob', HOUR_AGO, audit)).toBe(true);
        expect(await store.approveExportJob('j1', 'carol', HOUR_AGO, audit)).toBe(false);
        expect(await store.getExportJob('j1')).toStrictEqual({ ...job, state: 'approved', approverId: 'bob', approvedAt: HOUR_AGO });
        expect(seen).toStrictEqual([false, false, false, true, false]);
        expect((await store.auditHead()).size).toBe(5);
      });

      it('lets exactly one of several concurrent approvers win', async () => {
        await store.insertExportJob(exportJobRow('j1', 'alice'), []);
        const results = await Promise.all(
          ['b', 'c', 'd', 'e'].map((who, i) => store.approveExportJob('j1', who, AT, [ev(i, 'export.approve')])),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const approver = ['b', 'c', 'd', 'e'][results.indexOf(true)];
        expect((await store.getExportJob('j1'))?.approverId).toBe(approver);
      });
    });

    describe('audit atomicity and timestamps', () => {
      it('commits every write with its events, in order', async () => {
        await store.insertPrincipal(principalRow('p'), [ev(0, 'principal.create')]);
        await store.setPrincipalStatus('p', 'suspended', null, NOW, [ev(1, 'principal.suspend')]);
        await store.insertApiKey(apiKeyRow('k', 'p'), [ev(2, 'apikey.create')]);
        await store.revokeApiKey('k', NOW, (ok) => (ok ? [ev(3, 'apikey.revoke')] : []));
        await store.revokeToken({ tokenId: 't', principalId: 'p', revokedAt: NOW, expiresAt: IN_AN_HOUR }, [ev(4, 'token.revoke')]);
        await store.insertBreakGlass(breakGlassRow('g', 'p', T1, HOUR_AGO, IN_AN_HOUR), [ev(5, 'breakglass.open')]);
        await store.insertExportJob(exportJobRow('j', 'p'), [ev(6, 'export.request')]);
        await store.approveExportJob('j', 'q', AT, [ev(7, 'export.approve')]);
        expect(await auditActions(store)).toStrictEqual([
          'principal.create',
          'principal.suspend',
          'apikey.create',
          'apikey.revoke',
          'token.revoke',
          'breakglass.open',
          'export.request',
          'export.approve',
        ]);
      });

      it('writes nothing when the audit append fails or the events cannot be built', async () => {
        await store.insertPrincipal(principalRow('p'), []);
        await store.insertApiKey(apiKeyRow('k', 'p'), []);
        await store.insertExportJob(exportJobRow('j', 'p'), []);
        const throwing = (): AuditEvent[] => {
          throw new InvalidInput('event refused');
        };
        await expect(store.setPrincipalStatus('p', 'suspended', null, NOW, throwing)).rejects.toBeInstanceOf(InvalidInput);
        await expect(store.approveExportJob('j', 'q', AT, throwing)).rejects.toBeInstanceOf(InvalidInput);
        await db!.exec(
          backend.name === 'sqlite'
            ? "CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END;"
            : "CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit store unavailable'; END $$; CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION fail_audit();",
        );
        const writes: (() => Promise<unknown>)[] = [
          () => store.insertPrincipal(principalRow('p2'), [ev(0, 'principal.create')]),
          () => store.setPrincipalStatus('p', 'suspended', null, NOW, [ev(1, 'principal.suspend')]),
          () => store.insertApiKey(apiKeyRow('k2', 'p'), [ev(2, 'apikey.create')]),
          () => store.revokeApiKey('k', NOW, [ev(3, 'apikey.revoke')]),
          () => store.revokeToken({ tokenId: 't', principalId: 'p', revokedAt: NOW, expiresAt: IN_AN_HOUR }, [ev(4, 'token.revoke')]),
          () => store.insertBreakGlass(breakGlassRow('g', 'p', T1, HOUR_AGO, IN_AN_HOUR), [ev(5, 'breakglass.open')]),
          () => store.insertExportJob(exportJobRow('j2', 'p'), [ev(6, 'export.request')]),
          () => store.approveExportJob('j', 'q', AT, [ev(7, 'export.approve')]),
        ];
        for (const w of writes) await expect(w()).rejects.toBeInstanceOf(StorageError);
        expect(await store.listPrincipals()).toStrictEqual([principalRow('p')]);
        expect(await store.getApiKey('k2')).toBeNull();
        expect((await store.getApiKey('k'))?.revokedAt).toBeNull();
        expect(await store.isTokenRevoked('t')).toBe(false);
        expect(await store.activeBreakGlass('p', T1, NOW)).toBeNull();
        expect(await store.getExportJob('j2')).toBeNull();
        expect(await store.getExportJob('j')).toStrictEqual(exportJobRow('j', 'p'));
        expect((await store.auditHead()).size).toBe(0);
      });

      it('stores any zoned ISO instant in one canonical form and refuses other strings', async () => {
        const p = principalRow('p', { createdAt: '2024-06-01T14:00:00+02:00', updatedAt: '2024-06-01T12:00Z' });
        await store.insertPrincipal(p, []);
        expect(await store.getPrincipal('p')).toStrictEqual({ ...p, createdAt: NOW, updatedAt: NOW });
        // '…12:30:00Z' would sort after '…12:30:00.500Z' as text: compared only after normalising.
        await store.insertBreakGlass(breakGlassRow('g', 'p', T1, HOUR_AGO, '2024-06-01T12:30:00Z'), []);
        expect(await store.activeBreakGlass('p', T1, '2024-06-01T12:30:00.500Z')).toBeNull();
        for (const bad of ['2024-06-01', '2024-06-01T12:00:00', 'June 1 2024', `${NOW}' OR '1'='1`]) {
          await expect(store.insertPrincipal(principalRow('q', { createdAt: bad }), [])).rejects.toBeInstanceOf(InvalidInput);
          await expect(store.activeBreakGlass('p', T1, bad)).rejects.toBeInstanceOf(InvalidInput);
        }
        expect(await store.getPrincipal('q')).toBeNull();
      });
    });

    describe('search', () => {
      const rows = [...clinicalRows(T1, 0), ...clinicalRows(T2, 1)];
      const queries: Omit<ResourceSearch, 'limit'>[] = [
        { type: 'Observation', patientId: 'p1' },
        { type: 'Observation', status: 'final' },
        { type: 'Observation', code: '4548-4' },
        { type: 'Observation', dateFrom: '2024-05-05' },
        { type: 'Observation', dateTo: '2024-05-08' },
        { type: 'Observation', createdSince: '2024-03-01T10:00:05Z' },
        { type: 'Observation', createdSince: '2024-03-01T11:00:05.123+01:00' },
        { type: 'Observation', afterId: 'b4' },
        { type: 'Observation', patientId: 'p2', status: 'final', code: '4548-4', dateFrom: '2024-05-02', dateTo: '2024-05-12' },
      ];

      beforeEach(async () => {
        await seedTenants(store);
        for (const t of [T1, T2]) {
          const mine = rows.filter((r) => r.tenantId === t);
          await store.writeBatch({ patients: [patientRow(t, 'p1'), patientRow(t, 'p2')], resources: mine, audit: [] });
        }
      });

      it('filters by each parameter, within the tenant, and counts what it finds', async () => {
        for (const [tenantId, type] of [
          [T1, 'Observation'],
          [T2, 'Observation'],
          [T1, 'DiagnosticReport'],
        ] as const) {
          const all = expected(rows, tenantId, { type });
          expect(await store.searchResources(tenantId, { type, limit: 100 })).toStrictEqual(all);
          expect(await store.countSearch(tenantId, { type })).toBe(all.length);
        }
        const all = expected(rows, T1, { type: 'Observation' });
        for (const q of queries) {
          const want = expected(rows, T1, q);
          // Each filter must narrow the fixture, or the test could not tell it was ignored.
          expect(want.length, JSON.stringify(q)).toBeGreaterThan(0);
          expect(want.length, JSON.stringify(q)).toBeLessThan(all.length);
          expect(await store.searchResources(T1, { ...q, limit: 100 }), JSON.stringify(q)).toStrictEqual(want);
          if (q.afterId === undefined) expect(await store.countSearch(T1, q), JSON.stringify(q)).toBe(want.length);
        }
        expect(await store.searchResources(T1, { type: 'Specimen', limit: 100 })).toStrictEqual([]);
        expect(await store.countSearch('nobody', { type: 'Observation' })).toBe(0);
      });

      it('pages by afterId without duplicates or gaps, and the count matches the pages', async () => {
        for (const q of [{ type: 'Observation' as ClinicalType }, ...queries.filter((x) => x.afterId === undefined)]) {
          const seen: ResourceRow[] = [];
          let afterId: string | undefined;
          for (;;) {
            const page = await store.searchResources(T1, { ...q, afterId, limit: 3 });
            seen.push(...page);
            if (page.length < 3) break;
            afterId = page[2]!.id;
          }
          expect(seen, JSON.stringify(q)).toStrictEqual(expected(rows, T1, q));
          expect(await store.countSearch(T1, q)).toBe(seen.length);
        }
        expect(await store.searchResources(T1, { type: 'Observation', limit: 0 })).toStrictEqual([]);
      });

      it('binds every value: injection-shaped input matches nothing and changes nothing', async () => {
        for (const v of [INJECTION, "p1' --", "1'; DROP TABLE resources; --"]) {
          expect(await store.searchResources(T1, { type: 'Observation', patientId: v, limit: 100 })).toStrictEqual([]);
          expect(await store.searchResources(T1, { type: 'Observation', status: v, limit: 100 })).toStrictEqual([]);
          expect(await store.searchResources(T1, { type: 'Observation', code: v, limit: 100 })).toStrictEqual([]);
          expect(await store.searchResources(v, { type: 'Observation', limit: 100 })).toStrictEqual([]);
          expect(await store.searchResources(T1, { type: v as ClinicalType, limit: 100 })).toStrictEqual([]);
          expect(await store.countSearch(T1, { type: 'Observation', code: v })).toBe(0);
          expect(await store.listPatientIds(v, '', 100)).toStrictEqual([]);
        }
        expect(await store.countSearch(T1, { type: 'Observation' })).toBe(expected(rows, T1, { type: 'Observation' }).length);
      });

      it('refuses malformed dates, instants and limits', async () => {
        for (const q of [
          { dateFrom: '2024' },
          { dateTo: `2024-05-01' OR '1'='1` },
          { createdSince: '2024-03-01' },
          { limit: -1 },
          { limit: 1.5 },
        ]) {
          await expect(store.searchResources(T1, { type: 'Observation', limit: 10, ...q })).rejects.toBeInstanceOf(InvalidInput);
        }
      });

      it('listPatientIds pages through the live patients of one tenant', async () => {
        const extra = ['P0', 'p3', 'p4', 'p5'].map((id, i) => patientRow(T1, id, 1, { createdAt: `2024-04-0${i + 1}T00:00:00.000Z` }));
        await store.writeBatch({ patients: extra, resources: [], audit: [] });
        await store.writeBatch({ patients: [patientRow(T2, 'p9')], resources: [], audit: [] });
        expect(await store.erasePatient(T1, 'p4', NOW, [])).toBe(true);
        expect(await store.listPatientIds(T1, '', 100)).toStrictEqual(['P0', 'p1', 'p2', 'p3', 'p5']);
        expect(await store.listPatientIds(T1, '', 2)).toStrictEqual(['P0', 'p1']);
        expect(await store.listPatientIds(T1, 'p1', 2)).toStrictEqual(['p2', 'p3']);
        expect(await store.listPatientIds(T1, 'p3', 2)).toStrictEqual(['p5']);
        expect(await store.listPatientIds(T1, '', 100, '2024-04-02T00:00:00Z')).toStrictEqual(['p3', 'p5']);
        expect(await store.listPatientIds(T2, '', 100)).toStrictEqual(['p1', 'p2', 'p9']);
      });
    });
  });
});

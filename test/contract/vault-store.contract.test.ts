import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Conflict, StorageError } from '../../src/domain/errors.js';
import type { ClinicalType } from '../../src/domain/resource-type.js';
import type { Tenant } from '../../src/domain/tenant.js';
import {
  resourceKeyString,
  type PatientKeyInfo,
  type PatientRow,
  type ResourceRow,
  type TenantKeyRow,
  type VaultStore,
} from '../../src/ports/vault-store.js';
import { backends, type Opened } from '../support/store-backends.js';
import { AT, patientRow, resourceRow } from '../support/store-rows.js';

/**
 * The VaultStore contract: every adapter runs exactly these tests, and every expected row is
 * spelled out in full, so both backends must return identical shapes (Buffers for BLOB/BYTEA,
 * ISO strings for timestamps). Ciphertexts are random bytes: this suite tests the store, not crypto.
 */

const T1 = 'screening';
const T2 = 'hospital-west';

function tenant(id: string, name = `Tenant ${id}`): Tenant {
  return {
    id,
    name,
    kind: 'screening-programme',
    jurisdiction: 'NL',
    labRole: 'processor',
    breachNoticeSlaHours: 24,
    contact: { name: 'DPO', email: 'dpo@example.org' },
    publicKeyJwk: null,
  };
}

function keyRow(tenantId: string, version: number, createdAt = AT): TenantKeyRow {
  return { tenantId, version, wrappedKek: randomBytes(40), masterKeyId: 'master-1', state: 'active', createdAt };
}

const patient = patientRow;

function resource(tenantId: string, type: ClinicalType, id: string, patientId: string, over: Partial<ResourceRow> = {}): ResourceRow {
  return resourceRow(tenantId, type, id, patientId, { code: '12345-6', ...over });
}

/** Tenant with KEK version 1 active (and optionally more versions, the last one active). */
async function seedTenant(store: VaultStore, id: string, versions = 1): Promise<void> {
  await store.upsertTenant(tenant(id), []);
  for (let v = 1; v <= versions; v++) await store.addTenantKey(keyRow(id, v), []);
}

describe.each(backends.map((b) => [b.name, b] as const))('VaultStore contract: %s', (_name, backend) => {
  describe.skipIf(backend.skip)('adapter', () => {
    let db: Opened | undefined;
    let store: VaultStore;

    beforeEach(async () => {
      db = await backend.open();
      store = db.store;
    });

    afterEach(async () => {
      // Undefined when open() failed (e.g. PostgreSQL down in CI): the test already failed on that.
      await db?.dispose();
      db = undefined;
    });

    it('reports its backend', () => {
      expect(store.backend).toBe(backend.name);
    });

    it('close is idempotent', async () => {
      await store.close();
      await expect(store.close()).resolves.toBeUndefined();
    });

    describe('migrate', () => {
      it('is idempotent', async () => {
        await store.migrate();
        await store.migrate();
        await seedTenant(store, T1);
        expect(await store.getTenant(T1)).toStrictEqual(tenant(T1));
        await store.migrate();
        expect(await store.listTenantKeys(T1)).toHaveLength(1);
      });

      it('lets concurrent migrators of a fresh database both succeed', async () => {
        const fresh = await backend.open({ migrate: false });
        try {
          const other = await fresh.reopen();
          await Promise.all([fresh.store.migrate(), other.migrate(), fresh.store.migrate()]);
          await seedTenant(other, T1);
          expect(await fresh.store.getTenant(T1)).toStrictEqual(tenant(T1));
        } finally {
          await fresh.dispose();
        }
      });
    });

    describe('tenants', () => {
      it('upserts, gets and lists tenants ordered by id', async () => {
        expect(await store.getTenant(T1)).toBeNull();
        expect(await store.listTenants()).toStrictEqual([]);
        await store.upsertTenant(tenant(T1), []);
        await store.upsertTenant(tenant(T2), []);
        expect(await store.getTenant(T1)).toStrictEqual(tenant(T1));
        const renamed = { ...tenant(T1, 'Renamed'), publicKeyJwk: { kty: 'EC', crv: 'P-256' } };
        await store.upsertTenant(renamed, []);
        expect(await store.getTenant(T1)).toStrictEqual(renamed);
        expect(await store.listTenants()).toStrictEqual([tenant(T2), renamed]);
      });
    });

    describe('tenant keys', () => {
      it('addTenantKey retires every older active version', async () => {
        await store.upsertTenant(tenant(T1), []);
        await store.upsertTenant(tenant(T2), []);
        const k1 = keyRow(T1, 1, '2024-01-01T00:00:00.000Z');
        const k2 = keyRow(T1, 2, '2024-02-01T00:00:00.000Z');
        const other = keyRow(T2, 1);
        await store.addTenantKey(k1, []);
        await store.addTenantKey(other, []);
        expect(await store.listTenantKeys(T1)).toStrictEqual([k1]);
        await store.addTenantKey(k2, []);
        expect(await store.listTenantKeys(T1)).toStrictEqual([{ ...k1, state: 'retired' }, k2]);
        // Another tenant's active key is not touched.
        expect(await store.listTenantKeys(T2)).toStrictEqual([other]);
        expect(await store.listTenantKeys('nobody')).toStrictEqual([]);
      });

      it('addTenantKey is atomic: a duplicate version fails and retires nothing', async () => {
        await seedTenant(store, T1, 2);
        const before = await store.listTenantKeys(T1);
        const err = await store.addTenantKey(keyRow(T1, 2), []).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StorageError);
        expect((err as StorageError).cause).toBeDefined();
        expect(await store.listTenantKeys(T1)).toStrictEqual(before);
      });

      it('destroyTenantKey refuses while a live DEK uses the version, succeeds after rewrap', async () => {
        await seedTenant(store, T1, 1);
        const p1 = patient(T1, 'p1', 1);
        const p2 = patient(T1, 'p2', 1);
        await store.writeBatch({ patients: [p1, p2], resources: [], audit: [] });
        // An erased patient has no DEK left, so it does not hold the version alive.
        expect(await store.erasePatient(T1, 'p2', AT, [])).toBe(true);
        await store.addTenantKey(keyRow(T1, 2), []);
        const before = await store.listTenantKeys(T1);

        expect(await store.destroyTenantKey(T1, 1, [])).toBe(false);
        expect(await store.listTenantKeys(T1)).toStrictEqual(before);

        expect(await store.rewrapDeks(T1, 1, 2, [{ id: 'p1', wrappedDek: randomBytes(60) }], [])).toBe(1);
        expect(await store.destroyTenantKey(T1, 1, [])).toBe(true);
        const after = await store.listTenantKeys(T1);
        expect(after[0]).toStrictEqual({ ...before[0], state: 'destroyed', wrappedKek: null });
        expect(after[1]).toStrictEqual(before[1]);

        // Already destroyed, active, or unknown versions are never destroyed.
        expect(await store.destroyTenantKey(T1, 1, [])).toBe(false);
        expect(await store.destroyTenantKey(T1, 2, [])).toBe(false);
        expect(await store.destroyTenantKey(T1, 9, [])).toBe(false);
        expect(await store.listTenantKeys(T1)).toStrictEqual(after);
      });

      it('refuses patients under a destroyed KEK version with Conflict', async () => {
        await seedTenant(store, T1, 2);
        expect(await store.destroyTenantKey(T1, 1, [])).toBe(true);
        const err = await store.writeBatch({ patients: [patient(T1, 'late', 1)], resources: [], audit: [] }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(Conflict);
        expect((err as Conflict).code).toBe('conflict');
        expect(await store.getPatient(T1, 'late')).toBeNull();
        // Under a retired-but-live or the active version it is fine.
        await store.addTenantKey(keyRow(T1, 3), []);
        await store.writeBatch({ patients: [patient(T1, 'p2', 2), patient(T1, 'p3', 3)], resources: [], audit: [] });
        expect(await store.countDeksWrappedBy(T1, 2)).toBe(1);
        expect(await store.countDeksWrappedBy(T1, 3)).toBe(1);
        // Nor can a rewrap move a DEK under a destroyed version.
        const rewrap = await store.rewrapDeks(T1, 2, 1, [{ id: 'p2', wrappedDek: randomBytes(60) }], []).catch((e: unknown) => e);
        expect(rewrap).toBeInstanceOf(Conflict);
        expect(await store.countDeksWrappedBy(T1, 2)).toBe(1);
      });

      it('never leaves a live DEK under a destroyed version when destroy races an insert', async () => {
        await seedTenant(store, T1, 1);
        for (let v = 1; v <= 8; v++) {
          await store.addTenantKey(keyRow(T1, v + 1), []);
          const [write, destroyed] = await Promise.all([
            store.writeBatch({ patients: [patient(T1, `race-${v}`, v)], resources: [], audit: [] }).then(
              () => 'ok' as const,
              (e: unknown) => e,
            ),
            store.destroyTenantKey(T1, v, []),
          ]);
          if (destroyed) expect(write).toBeInstanceOf(Conflict);
          else expect(write).toBe('ok');
          expect(await store.countDeksWrappedBy(T1, v)).toBe(destroyed ? 0 : 1);
        }
      });
    });

    describe('index keys', () => {
      it('putIndexKeyIfAbsent keeps and returns the first key', async () => {
        await store.upsertTenant(tenant(T1), []);
        await store.upsertTenant(tenant(T2), []);
        expect(await store.getIndexKey(T1)).toBeNull();
        const first = randomBytes(48);
        const second = randomBytes(48);
        expect(await store.putIndexKeyIfAbsent(T1, first, 'master-1')).toStrictEqual(first);
        expect(await store.putIndexKeyIfAbsent(T1, second, 'master-2')).toStrictEqual(first);
        expect(await store.getIndexKey(T1)).toStrictEqual({ wrappedKey: first, masterKeyId: 'master-1' });
        expect(await store.putIndexKeyIfAbsent(T2, second, 'master-2')).toStrictEqual(second);
        expect(await store.getIndexKey(T2)).toStrictEqual({ wrappedKey: second, masterKeyId: 'master-2' });
      });
    });

    describe('writeBatch', () => {
      it('stores patients and resources exactly as given', async () => {
        await seedTenant(store, T1);
        const p = patient(T1, 'p1');
        // NULLs, an empty byte string and one big enough to be TOASTed all round-trip unchanged.
        const sparse = patient(T1, 'p2', 1, {
          bsnIndex: null,
          nameIndex: null,
          identity: Buffer.alloc(0),
          version: 3,
          createdAt: '2023-12-31T23:59:59.999Z',
        });
        const obs = resource(T1, 'Observation', 'o1', 'p1');
        const bare = resource(T1, 'Specimen', 's1', 'p2', {
          status: null,
          code: null,
          effectiveDate: null,
          version: 2,
          body: randomBytes(20_000),
        });
        await store.writeBatch({ patients: [p, sparse], resources: [obs, bare], audit: [] });
        expect(await store.getPatient(T1, 'p1')).toStrictEqual(p);
        expect(await store.getPatient(T1, 'p2')).toStrictEqual(sparse);
        expect(await store.getResource(T1, 'Observation', 'o1')).toStrictEqual(obs);
        expect(await store.getResource(T1, 'Specimen', 's1')).toStrictEqual(bare);
        await store.writeBatch({ patients: [], resources: [], audit: [] });
        expect(await store.countResources()).toStrictEqual([
          { tenantId: T1, type: 'Observation', count: 1 },
          { tenantId: T1, type: 'Patient', count: 2 },
          { tenantId: T1, type: 'Specimen', count: 1 },
        ]);
      });

      it('is all or nothing: one row violating the patient foreign key stores nothing of the batch', async () => {
        await seedTenant(store, T1);
        const ok = patient(T1, 'p1');
        const err = await store
          .writeBatch({
            patients: [ok],
            resources: [resource(T1, 'Observation', 'o1', 'p1'), resource(T1, 'Observation', 'o2', 'ghost')],
            audit: [],
          })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StorageError);
        expect((err as StorageError).cause).toBeInstanceOf(Error);
        expect(await store.getPatient(T1, 'p1')).toBeNull();
        expect(await store.getResource(T1, 'Observation', 'o1')).toBeNull();
        expect(await store.getResource(T1, 'Observation', 'o2')).toBeNull();
        expect(await store.countResources()).toStrictEqual([]);
      });

      it('leaves existing clinical ids untouched, inserts the new ones and reports the skipped', async () => {
        await seedTenant(store, T1);
        const p = patient(T1, 'p1');
        const o1 = resource(T1, 'Observation', 'o1', 'p1');
        await store.writeBatch({ patients: [p], resources: [o1], audit: [] });
        const o2 = resource(T1, 'Observation', 'o2', 'p1');
        const p2 = patient(T1, 'p2');
        const second = await store.writeBatch({
          patients: [p2],
          resources: [resource(T1, 'Observation', 'o1', 'p1', { version: 2, status: 'amended' }), o2],
          audit: [],
        });
        expect(second.skippedResources).toStrictEqual([{ tenantId: T1, type: 'Observation', id: 'o1' }]);
        expect(await store.getPatient(T1, 'p1')).toStrictEqual(p);
        expect(await store.getPatient(T1, 'p2')).toStrictEqual(p2);
        expect(await store.getResource(T1, 'Observation', 'o1')).toStrictEqual(o1);
        expect(await store.getResource(T1, 'Observation', 'o2')).toStrictEqual(o2);
      });

      it('refuses the whole batch with Conflict when a patient already exists (its records were encrypted under a lost DEK)', async () => {
        await seedTenant(store, T1);
        const p = patient(T1, 'p1');
        await store.writeBatch({ patients: [p], resources: [], audit: [] });
        const err = await store
          .writeBatch({
            patients: [patient(T1, 'p2'), patient(T1, 'p1', 1, { version: 2 })],
            resources: [resource(T1, 'Observation', 'o9', 'p1')],
            audit: [],
          })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(Conflict);
        expect(await store.getPatient(T1, 'p1')).toStrictEqual(p);
        expect(await store.getPatient(T1, 'p2')).toBeNull();
        expect(await store.getResource(T1, 'Observation', 'o9')).toBeNull();
      });

      it('counts erasures, and refuses with Conflict a batch prepared before the latest one (migration 8)', async () => {
        await seedTenant(store, T1);
        await store.writeBatch({ patients: [patient(T1, 'p1'), patient(T1, 'p2')], resources: [], audit: [] });
        const before = await store.erasureEpoch();
        await store.erasePatient(T1, 'p2', AT, []);
        expect(await store.erasureEpoch()).toBe(before + 1);
        // Erasing again changes nothing, the count neither.
        await store.erasePatient(T1, 'p2', AT, []);
        expect(await store.erasureEpoch()).toBe(before + 1);
        const err = await store
          .writeBatch({
            patients: [patient(T1, 'p3')],
            resources: [resource(T1, 'Observation', 'o1', 'p1'), resource(T1, 'Observation', 'o2', 'p2')],
            audit: [],
            erasureEpoch: before,
          })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(Conflict);
        expect(await store.getPatient(T1, 'p3')).toBeNull();
        expect(await store.getResource(T1, 'Observation', 'o1')).toBeNull();
        expect(await store.getResource(T1, 'Observation', 'o2')).toBeNull();
        await store.writeBatch({ patients: [], resources: [resource(T1, 'Observation', 'o1', 'p1')], audit: [], erasureEpoch: before + 1 });
        expect(await store.getResource(T1, 'Observation', 'o1')).not.toBeNull();
      });

      it('keeps the first occurrence of a clinical id repeated within one batch', async () => {
        await seedTenant(store, T1);
        const first = patient(T1, 'p1');
        const o1 = resource(T1, 'Observation', 'o1', 'p1');
        const r = await store.writeBatch({ patients: [first], resources: [o1, resource(T1, 'Observation', 'o1', 'p1')], audit: [] });
        expect(r.skippedResources).toStrictEqual([{ tenantId: T1, type: 'Observation', id: 'o1' }]);
        expect(await store.getPatient(T1, 'p1')).toStrictEqual(first);
        expect(await store.getResource(T1, 'Observation', 'o1')).toStrictEqual(o1);
      });
    });

    describe('look-ups', () => {
      it('findContentMacs covers Patient and clinical keys, missing and erased ones', async () => {
        await seedTenant(store, T1);
        await seedTenant(store, T2);
        const p1 = patient(T1, 'p1');
        const p2 = patient(T1, 'p2');
        const obs = resource(T1, 'Observation', 'o1', 'p1');
        const spec = resource(T1, 'Specimen', 's1', 'p1');
        await store.writeBatch({ patients: [p1, p2], resources: [obs, spec], audit: [] });
        await store.writeBatch({ patients: [patient(T2, 'p9')], resources: [resource(T2, 'Observation', 'o9', 'p9')], audit: [] });
        await store.erasePatient(T1, 'p2', AT, []);

        const k = (tenantId: string, type: string, id: string) => ({ tenantId, type, id });
        const keys = [
          k(T1, 'Patient', 'p1'),
          k(T1, 'Patient', 'p2'), // erased: present with a null MAC
          k(T1, 'Patient', 'nope'),
          k(T1, 'Observation', 'o1'),
          k(T1, 'Specimen', 's1'),
          k(T1, 'Observation', 's1'), // right id, wrong type
          k(T1, 'DiagnosticReport', 'd1'),
          k(T1, 'Observation', 'o9'), // exists only under T2
          k(T2, 'Patient', 'p1'), // exists only under T1
          k(T1, 'Observation', 'o1'), // duplicate key
        ];
        const expected = new Map<string, Buffer | null>([
          [resourceKeyString(k(T1, 'Patient', 'p1')), p1.contentMac],
          [resourceKeyString(k(T1, 'Patient', 'p2')), null],
          [resourceKeyString(k(T1, 'Observation', 'o1')), obs.contentMac],
          [resourceKeyString(k(T1, 'Specimen', 's1')), spec.contentMac],
        ]);
        expect(await store.findContentMacs(keys)).toStrictEqual(expected);
        expect(await store.findContentMacs([])).toStrictEqual(new Map());
      });

      it('findPatientKeys returns DEK info of the existing patients of one tenant', async () => {
        await seedTenant(store, T1, 2);
        await seedTenant(store, T2);
        const p1 = patient(T1, 'p1', 1);
        const p2 = patient(T1, 'p2', 2);
        await store.writeBatch({ patients: [p1, p2, patient(T1, 'p3', 2)], resources: [], audit: [] });
        await store.writeBatch({ patients: [patient(T2, 'p4', 1)], resources: [], audit: [] });
        await store.erasePatient(T1, 'p3', AT, []);
        const key = (id: string) => resourceKeyString({ tenantId: T1, type: 'Patient', id });
        expect(await store.findPatientKeys(T1, ['p1', 'p2', 'p3', 'p4', 'missing', 'p1'])).toStrictEqual(
          new Map<string, PatientKeyInfo>([
            [key('p1'), { kekVersion: 1, wrappedDek: p1.wrappedDek, erased: false, contentMac: p1.contentMac }],
            [key('p2'), { kekVersion: 2, wrappedDek: p2.wrappedDek, erased: false, contentMac: p2.contentMac }],
            [key('p3'), { kekVersion: 2, wrappedDek: null, erased: true, contentMac: null }],
          ]),
        );
        expect(await store.findPatientKeys(T1, [])).toStrictEqual(new Map());
      });

      it('getPatient and the blind-index searches are tenant-scoped and ordered by id', async () => {
        await seedTenant(store, T1);
        await seedTenant(store, T2);
        const bsn = randomBytes(32);
        const name = randomBytes(32);
        const b = patient(T1, 'pat-b', 1, { bsnIndex: bsn, nameIndex: name });
        const upper = patient(T1, 'pat-C', 1, { bsnIndex: bsn });
        const a = patient(T1, 'pat-a', 1, { nameIndex: name });
        const foreign = patient(T2, 'pat-x', 1, { bsnIndex: bsn, nameIndex: name });
        await store.writeBatch({ patients: [b, upper, a], resources: [], audit: [] });
        await store.writeBatch({ patients: [foreign], resources: [], audit: [] });

        expect(await store.getPatient(T1, 'pat-b')).toStrictEqual(b);
        expect(await store.getPatient(T1, 'pat-x')).toBeNull();
        expect(await store.getPatient(T2, 'pat-x')).toStrictEqual(foreign);
        // Byte order: 'C' (0x43) sorts before 'b' (0x62) on every backend.
        expect(await store.findPatientsByBsnIndex(T1, bsn)).toStrictEqual([upper, b]);
        expect(await store.findPatientsByBsnIndex(T2, bsn)).toStrictEqual([foreign]);
        expect(await store.findPatientsByNameIndex(T1, name)).toStrictEqual([a, b]);
        expect(await store.findPatientsByNameIndex(T2, name)).toStrictEqual([foreign]);
        expect(await store.findPatientsByBsnIndex(T1, randomBytes(32))).toStrictEqual([]);
      });

      it('listBlindIndexes pages a tenant’s indexes by id, packed, erased patients left out', async () => {
        await seedTenant(store, T1);
        await seedTenant(store, T2);
        // pat-b has no name index, pat-e a BSN index of another length (left out, never misaligned).
        const over = (id: string): Partial<PatientRow> =>
          id === 'pat-b'
            ? { bsnIndex: randomBytes(16), nameIndex: null }
            : { bsnIndex: randomBytes(id === 'pat-e' ? 32 : 16), nameIndex: randomBytes(16) };
        const rows = ['pat-a', 'pat-b', 'pat-c', 'pat-d', 'pat-e'].map((id) => patient(T1, id, 1, over(id)));
        await store.writeBatch({ patients: rows, resources: [], audit: [] });
        await store.writeBatch({ patients: [patient(T2, 'pat-x', 1, { bsnIndex: randomBytes(16) })], resources: [], audit: [] });
        await store.erasePatient(T1, 'pat-c', AT, []);
        const [a, b, , d, e] = rows as [PatientRow, PatientRow, PatientRow, PatientRow, PatientRow];
        const first = await store.listBlindIndexes(T1, '', 2);
        expect(first.ids).toEqual(['pat-a', 'pat-b']);
        expect(first.bsn).toStrictEqual(Buffer.concat([a.bsnIndex as Buffer, b.bsnIndex as Buffer]));
        expect([...first.bsnRows]).toEqual([0, 1]);
        expect(first.name).toStrictEqual(a.nameIndex);
        expect([...first.nameRows]).toEqual([0]);
        const rest = await store.listBlindIndexes(T1, 'pat-b', 10);
        expect(rest.ids).toEqual(['pat-d', 'pat-e']);
        expect(rest.bsn).toStrictEqual(d.bsnIndex);
        expect([...rest.bsnRows]).toEqual([0]);
        expect(rest.name).toStrictEqual(Buffer.concat([d.nameIndex as Buffer, e.nameIndex as Buffer]));
        expect([...rest.nameRows]).toEqual([0, 1]);
        expect((await store.listBlindIndexes(T2, '', 10)).ids).toEqual(['pat-x']);
        const none = await store.listBlindIndexes(T2, 'pat-x', 10);
        expect([none.ids.length, none.bsn.length, none.bsnRows.length, none.name.length]).toEqual([0, 0, 0, 0]);
      });

      it('getResource and listResourcesOfPatient, with and without type', async () => {
        await seedTenant(store, T1);
        await seedTenant(store, T2);
        const oLow = resource(T1, 'Observation', 'obs-a', 'p1');
        const oUp = resource(T1, 'Observation', 'obs-B', 'p1');
        const spec = resource(T1, 'Specimen', 's1', 'p1');
        const rep = resource(T1, 'DiagnosticReport', 'd1', 'p1');
        const sr = resource(T1, 'ServiceRequest', 'sr1', 'p1');
        const elsewhere = resource(T1, 'Observation', 'obs-0', 'p2');
        await store.writeBatch({
          patients: [patient(T1, 'p1'), patient(T1, 'p2')],
          resources: [oLow, spec, oUp, rep, sr, elsewhere],
          audit: [],
        });
        await store.writeBatch({ patients: [patient(T2, 'p1')], resources: [resource(T2, 'Observation', 'obs-z', 'p1')], audit: [] });

        expect(await store.getResource(T1, 'Observation', 'obs-B')).toStrictEqual(oUp);
        expect(await store.getResource(T1, 'Specimen', 'obs-B')).toBeNull();
        expect(await store.getResource(T2, 'Observation', 'obs-B')).toBeNull();
        expect(await store.listResourcesOfPatient(T1, 'p1')).toStrictEqual([rep, oUp, oLow, sr, spec]);
        expect(await store.listResourcesOfPatient(T1, 'p1', 'Observation')).toStrictEqual([oUp, oLow]);
        expect(await store.listResourcesOfPatient(T1, 'p1', 'Specimen')).toStrictEqual([spec]);
        expect(await store.listResourcesOfPatient(T1, 'p2')).toStrictEqual([elsewhere]);
        expect(await store.listResourcesOfPatient(T1, 'nobody')).toStrictEqual([]);
      });
    });

    describe('rotation support', () => {
      it('listDeksWrappedBy pages by id through live DEKs of one version and tenant', async () => {
        await seedTenant(store, T1, 2);
        await seedTenant(store, T2);
        const under1 = ['p5', 'p1', 'p4', 'p2', 'p3'].map((id) => patient(T1, id, 1));
        await store.writeBatch({ patients: [...under1, patient(T1, 'p0', 2), patient(T1, 'p6', 1)], resources: [], audit: [] });
        await store.writeBatch({ patients: [patient(T2, 'p1', 1)], resources: [], audit: [] });
        await store.erasePatient(T1, 'p6', AT, []);
        const dek = (id: string) => ({ id, wrappedDek: under1.find((p) => p.id === id)?.wrappedDek });

        expect(await store.listDeksWrappedBy(T1, 1, '', 2)).toStrictEqual([dek('p1'), dek('p2')]);
        expect(await store.listDeksWrappedBy(T1, 1, 'p2', 2)).toStrictEqual([dek('p3'), dek('p4')]);
        expect(await store.listDeksWrappedBy(T1, 1, 'p4', 2)).toStrictEqual([dek('p5')]);
        expect(await store.listDeksWrappedBy(T1, 1, 'p5', 2)).toStrictEqual([]);
        expect((await store.listDeksWrappedBy(T1, 2, '', 10)).map((r) => r.id)).toStrictEqual(['p0']);
        expect((await store.listDeksWrappedBy(T2, 1, '', 10)).map((r) => r.id)).toStrictEqual(['p1']);
      });

      it('rewrapDeks updates only rows still under fromVersion', async () => {
        await seedTenant(store, T1, 2);
        await seedTenant(store, T2);
        const p1 = patient(T1, 'p1', 1);
        const p2 = patient(T1, 'p2', 2);
        const p3 = patient(T1, 'p3', 1);
        const p4 = patient(T1, 'p4', 1);
        const other = patient(T2, 'p1', 1);
        await store.writeBatch({ patients: [p1, p2, p3, p4], resources: [], audit: [] });
        await store.writeBatch({ patients: [other], resources: [], audit: [] });
        await store.erasePatient(T1, 'p3', AT, []);
        const fresh = randomBytes(60);

        const changed = await store.rewrapDeks(
          T1,
          1,
          2,
          [
            { id: 'p1', wrappedDek: fresh },
            { id: 'p2', wrappedDek: randomBytes(60) }, // already under 2
            { id: 'p3', wrappedDek: randomBytes(60) }, // erased
            { id: 'missing', wrappedDek: randomBytes(60) },
          ],
          [],
        );
        expect(changed).toBe(1);
        expect(await store.getPatient(T1, 'p1')).toStrictEqual({ ...p1, kekVersion: 2, wrappedDek: fresh });
        expect(await store.getPatient(T1, 'p2')).toStrictEqual(p2);
        expect((await store.getPatient(T1, 'p3'))?.wrappedDek).toBeNull();
        expect((await store.getPatient(T1, 'p3'))?.kekVersion).toBe(1);
        expect(await store.getPatient(T1, 'p4')).toStrictEqual(p4);
        expect(await store.getPatient(T2, 'p1')).toStrictEqual(other);
        expect(await store.rewrapDeks(T1, 1, 2, [], [])).toBe(0);
        // A second pass over the same page changes nothing.
        expect(await store.rewrapDeks(T1, 1, 2, [{ id: 'p1', wrappedDek: randomBytes(60) }], [])).toBe(0);
        expect((await store.getPatient(T1, 'p1'))?.wrappedDek).toStrictEqual(fresh);
      });

      it('countDeksWrappedBy counts live DEKs per tenant and version', async () => {
        await seedTenant(store, T1, 2);
        await seedTenant(store, T2);
        await store.writeBatch({
          patients: [patient(T1, 'a', 1), patient(T1, 'b', 1), patient(T1, 'c', 1), patient(T1, 'd', 2)],
          resources: [],
          audit: [],
        });
        await store.writeBatch({ patients: [patient(T2, 'a', 1)], resources: [], audit: [] });
        await store.erasePatient(T1, 'c', AT, []);
        expect(await store.countDeksWrappedBy(T1, 1)).toBe(2);
        expect(await store.countDeksWrappedBy(T1, 2)).toBe(1);
        expect(await store.countDeksWrappedBy(T1, 3)).toBe(0);
        expect(await store.countDeksWrappedBy(T2, 1)).toBe(1);
      });
    });

    describe('erasure and counts', () => {
      it('erasePatient shreds DEK, identity, indexes and MAC and keeps a tombstone', async () => {
        await seedTenant(store, T1);
        const p = patient(T1, 'p1');
        const keep = patient(T1, 'p2', 1, { bsnIndex: p.bsnIndex });
        const obs = resource(T1, 'Observation', 'o1', 'p1');
        await store.writeBatch({ patients: [p, keep], resources: [obs], audit: [] });

        const erasedAt = '2024-04-01T08:30:00.000Z';
        expect(await store.erasePatient(T1, 'p1', erasedAt, [])).toBe(true);
        const tombstone = { ...p, wrappedDek: null, identity: null, bsnIndex: null, nameIndex: null, contentMac: null, erasedAt };
        expect(await store.getPatient(T1, 'p1')).toStrictEqual(tombstone);
        expect(await store.findPatientsByBsnIndex(T1, p.bsnIndex as Buffer)).toStrictEqual([keep]);
        expect(await store.findPatientsByNameIndex(T1, p.nameIndex as Buffer)).toStrictEqual([]);
        // The clinical records stay: without the DEK they are unreadable ciphertext.
        expect(await store.getResource(T1, 'Observation', 'o1')).toStrictEqual(obs);

        expect(await store.erasePatient(T1, 'p1', '2025-01-01T00:00:00.000Z', [])).toBe(false);
        expect(await store.getPatient(T1, 'p1')).toStrictEqual(tombstone);
        expect(await store.erasePatient(T1, 'missing', erasedAt, [])).toBe(false);
        expect(await store.getPatient(T1, 'p2')).toStrictEqual(keep);
      });

      it('countResources counts live patients and resources per tenant and type', async () => {
        expect(await store.countResources()).toStrictEqual([]);
        await seedTenant(store, T1);
        await seedTenant(store, T2);
        await store.writeBatch({
          patients: [patient(T1, 'p1'), patient(T1, 'p2'), patient(T1, 'p3')],
          resources: [
            resource(T1, 'Observation', 'o1', 'p1'),
            resource(T1, 'Observation', 'o2', 'p2'),
            resource(T1, 'DiagnosticReport', 'd1', 'p1'),
            resource(T1, 'ServiceRequest', 'sr1', 'p3'),
          ],
          audit: [],
        });
        await store.writeBatch({ patients: [patient(T2, 'p1')], resources: [resource(T2, 'Specimen', 's1', 'p1')], audit: [] });
        await store.erasePatient(T1, 'p3', AT, []);
        expect(await store.countResources()).toStrictEqual([
          { tenantId: T2, type: 'Patient', count: 1 },
          { tenantId: T2, type: 'Specimen', count: 1 },
          { tenantId: T1, type: 'DiagnosticReport', count: 1 },
          { tenantId: T1, type: 'Observation', count: 2 },
          { tenantId: T1, type: 'Patient', count: 2 },
          { tenantId: T1, type: 'ServiceRequest', count: 1 },
        ]);
      });
    });
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeEvent } from '../../src/audit/event-codec.js';
import { rootAt } from '../../src/audit/merkle-proofs.js';
import { TileNodes } from '../../src/audit/tile-nodes.js';
import { Conflict, IntegrityViolation, StorageError } from '../../src/domain/errors.js';
import type { VaultStore } from '../../src/ports/vault-store.js';
import { readEvent, rootOf } from '../support/audit-fixture.js';
import { backends, type Opened } from '../support/store-backends.js';
import { AT, patientRow } from '../support/store-rows.js';
import { testTenant } from '../support/fhir-builders.js';
import { PATIENT_BUCKET_EVENTS } from '../../src/audit/patient-index-key.js';
import { checkAuditIndexes } from '../../src/audit/index-check.js';

/**
 * The AuditStore half of every adapter: append-only storage, positions and chaining, tiles that
 * reproduce the root from a fresh process, indexed queries, checkpoints, and atomicity with the
 * vault write an event belongs to.
 */
const T = 'screening';

async function all(store: VaultStore): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const page of store.readAuditEvents(0, Number.MAX_SAFE_INTEGER)) out.push(...page);
  return out;
}

async function seed(store: VaultStore): Promise<void> {
  await store.upsertTenant(testTenant(T), []);
  await store.addTenantKey(
    { tenantId: T, version: 1, wrappedKek: Buffer.alloc(40, 1), masterKeyId: 'm', state: 'active', createdAt: AT },
    [],
  );
}

describe.each(backends.map((b) => [b.name, b] as const))('AuditStore contract: %s', (_name, backend) => {
  describe.skipIf(backend.skip)('adapter', () => {
    let db: Opened;
    let store: VaultStore;
    beforeEach(async () => {
      db = await backend.open();
      store = db.store;
    });
    afterEach(async () => {
      await db.dispose();
    });

    it('appends in order with positions and chaining, and its head root is the RFC 6962 root of the stored bytes', async () => {
      expect((await store.auditHead()).size).toBe(0);
      await store.appendAudit([readEvent(0), readEvent(1), readEvent(2)]);
      const head = await store.appendAudit(Array.from({ length: 40 }, (_, i) => readEvent(3 + i)));
      const events = await all(store);
      expect(head.size).toBe(43);
      expect(events.map((e) => decodeEvent(e).seq)).toEqual(Array.from({ length: 43 }, (_, i) => i));
      expect(head.root.equals(rootOf(events))).toBe(true);
      expect((await store.getAuditEvent(7))?.equals(events[7]!)).toBe(true);
      expect(await store.getAuditEvent(43)).toBeNull();
    });

    it('hands the verifier every stored event as NDJSON pages, ordered and fast alike', async () => {
      await store.appendAudit(Array.from({ length: 5000 }, (_, i) => readEvent(i)));
      const expected = Buffer.concat((await all(store)).flatMap((e, i) => (i === 0 ? [e] : [Buffer.from('\n'), e])));
      for (const fast of [false, true]) {
        const pages: Buffer[] = [];
        for await (const p of store.readAuditNdjson({ fast })) pages.push(p);
        expect(pages.length).toBeGreaterThan(1);
        expect(Buffer.concat(pages.flatMap((p, i) => (i === 0 ? [p] : [Buffer.from('\n'), p]))).equals(expected)).toBe(true);
      }
    });

    it('a second store on the same database (another process) continues the same tree; tiles reproduce any root', async () => {
      await store.appendAudit(Array.from({ length: 100 }, (_, i) => readEvent(i)));
      const other = await db.reopen();
      await other.appendAudit(Array.from({ length: 170 }, (_, i) => readEvent(100 + i)));
      await store.appendAudit([readEvent(270)]);
      const events = await all(other);
      expect(events).toHaveLength(271);
      events.forEach((e, i) => expect(decodeEvent(e).seq).toBe(i));
      expect((await other.auditHead()).root.equals(rootOf(events))).toBe(true);
      const third = await db.reopen();
      const nodes = new TileNodes({ tile: (l, i) => third.getAuditTile(l, i), event: async (s) => (await third.getAuditEvent(s))! });
      for (const size of [1, 16, 17, 255, 256, 257, 270, 271]) expect((await rootAt(nodes, size)).equals(rootOf(events, size))).toBe(true);
    });

    it('interleaved appenders never fork the log', async () => {
      const other = await db.reopen();
      await Promise.all([
        ...Array.from({ length: 10 }, (_, k) => store.appendAudit([readEvent(k), readEvent(k + 100)])),
        ...Array.from({ length: 10 }, (_, k) => other.appendAudit([readEvent(k + 200)])),
      ]);
      const events = await all(store);
      expect(events).toHaveLength(30);
      events.forEach((e, i) => expect(decodeEvent(e).seq).toBe(i));
      expect((await store.auditHead()).root.equals(rootOf(events))).toBe(true);
    });

    it('refuses UPDATE and DELETE on events, patient index, tiles and checkpoints', async () => {
      await store.appendAudit(Array.from({ length: 20 }, (_, i) => readEvent(i)));
      await store.addCheckpoint({ size: 20, root: (await store.auditHead()).root, note: 'n', createdAt: AT });
      for (const sql of [
        "UPDATE audit_events SET outcome = 'denied' WHERE seq = 1",
        'DELETE FROM audit_events WHERE seq = 19',
        'UPDATE audit_patients SET ref = 0',
        'DELETE FROM audit_patients',
        "UPDATE audit_origins SET ip = '10.9.9.9'",
        'DELETE FROM audit_origins',
        'DELETE FROM audit_tiles',
        "UPDATE audit_checkpoints SET note = 'forged'",
        'DELETE FROM audit_checkpoints',
      ]) {
        await expect(db.exec(sql), sql).rejects.toThrow(/append-only/);
      }
      if (backend.name === 'postgres') await expect(db.exec('TRUNCATE audit_events')).rejects.toThrow(/append-only/);
      expect(await all(store)).toHaveLength(20);
    });

    it('answers the indexed queries: by principal, tenant, patient and time window, with paging', async () => {
      await store.appendAudit(Array.from({ length: 30 }, (_, i) => readEvent(i, i % 3 === 0 ? { tenant: 'gp-network' } : {})));
      const seqs = (rows: { seq: number }[]) => rows.map((r) => r.seq);
      expect(seqs(await store.queryAudit({ principalId: 'principal-2', limit: 100 }))).toEqual([2, 7, 12, 17, 22, 27]);
      expect(seqs(await store.queryAudit({ tenantId: 'gp-network', limit: 3 }))).toEqual([0, 3, 6]);
      expect(seqs(await store.queryAudit({ tenantId: 'gp-network', afterSeq: 6, limit: 2 }))).toEqual([9, 12]);
      expect(seqs(await store.queryAudit({ tenantId: T, patientId: 'pat-4', limit: 10 }))).toEqual([4]);
      expect(seqs(await store.queryAudit({ tenantId: 'gp-network', patientId: 'pat-4', limit: 10 }))).toEqual([]);
      const from = readEvent(10).time;
      const to = readEvent(13).time;
      expect(seqs(await store.queryAudit({ from, to, limit: 100 }))).toEqual([10, 11, 12]);
      const [row] = await store.queryAudit({ principalId: 'principal-4', tenantId: T, limit: 1 });
      expect(decodeEvent(row!.bytes).event.principal.id).toBe('principal-4');
    });

    it('finds a patient’s events across patient-index buckets (65,536 events each)', async () => {
      const total = PATIENT_BUCKET_EVENTS + 500;
      const hits = new Set([5, PATIENT_BUCKET_EVENTS - 1, PATIENT_BUCKET_EVENTS, total - 1]);
      for (let from = 0; from < total; from += 8000) {
        const n = Math.min(8000, total - from);
        await store.appendAudit(
          Array.from({ length: n }, (_, k) => readEvent(from + k, hits.has(from + k) ? { patients: ['pat-wanted'] } : {})),
        );
      }
      const found = await store.queryAudit({ tenantId: T, patientId: 'pat-wanted', limit: 10 });
      expect(found.map((r) => r.seq)).toEqual([...hits]);
      // principals are bucketed the same way
      expect(
        (await store.queryAudit({ principalId: 'principal-0', afterSeq: PATIENT_BUCKET_EVENTS - 10, limit: 3 })).map((r) => r.seq),
      ).toEqual([PATIENT_BUCKET_EVENTS - 6, PATIENT_BUCKET_EVENTS - 1, PATIENT_BUCKET_EVENTS + 4]);
      expect((await store.queryAudit({ tenantId: T, patientId: 'pat-wanted', afterSeq: 5, limit: 2 })).map((r) => r.seq)).toEqual([
        PATIENT_BUCKET_EVENTS - 1,
        PATIENT_BUCKET_EVENTS,
      ]);
    }, 60_000);

    it('finds the events of a client address through the origin index, across buckets, with paging and a window', async () => {
      const total = PATIENT_BUCKET_EVENTS + 300;
      const from = new Set([3, PATIENT_BUCKET_EVENTS - 2, PATIENT_BUCKET_EVENTS + 7, total - 1]);
      const none = new Set([4, PATIENT_BUCKET_EVENTS + 8]);
      for (let at = 0; at < total; at += 8000) {
        const n = Math.min(8000, total - at);
        await store.appendAudit(
          Array.from({ length: n }, (_, k) => {
            const i = at + k;
            const ip = from.has(i) ? '198.51.100.23' : none.has(i) ? null : '10.0.0.1';
            return readEvent(i, { origin: { ip, userAgent: 'test', requestId: null } });
          }),
        );
      }
      const seqs = (rows: { seq: number }[]) => rows.map((r) => r.seq);
      expect(seqs(await store.queryAudit({ origin: '198.51.100.23', limit: 10 }))).toEqual([...from]);
      expect(seqs(await store.queryAudit({ origin: '198.51.100.23', afterSeq: 3, limit: 2 }))).toEqual([
        PATIENT_BUCKET_EVENTS - 2,
        PATIENT_BUCKET_EVENTS + 7,
      ]);
      expect(
        seqs(await store.queryAudit({ origin: '198.51.100.23', from: readEvent(4).time, to: readEvent(total - 1).time, limit: 10 })),
      ).toEqual([PATIENT_BUCKET_EVENTS - 2, PATIENT_BUCKET_EVENTS + 7]);
      expect(seqs(await store.queryAudit({ origin: '198.51.100.24', limit: 10 }))).toEqual([]);
      expect(seqs(await store.queryAudit({ origin: '198.51.100.23', tenantId: 'gp-network', limit: 10 }))).toEqual([]);
      expect(seqs(await store.queryAudit({ tenantId: T, patientId: `pat-${total - 1}`, origin: '198.51.100.23', limit: 10 }))).toEqual([
        total - 1,
      ]);
      expect(seqs(await store.queryAudit({ tenantId: T, patientId: `pat-${total - 2}`, origin: '198.51.100.23', limit: 10 }))).toEqual([]);
      // One row per event that has an address, none for the two without.
      let rows = 0;
      for await (const page of store.readAuditOriginRefs()) rows += page.length;
      expect(rows).toBe(total - none.size);
    }, 60_000);

    it('the deep check names an origin-index row that was changed, added or removed', async () => {
      await store.appendAudit(
        Array.from({ length: 40 }, (_, i) => readEvent(i, i === 30 ? { origin: { ip: null, userAgent: null, requestId: null } } : {})),
      );
      expect(await checkAuditIndexes(store)).toMatchObject({ ok: true, origin_refs: 39 });
      await expect(db.exec("UPDATE audit_origins SET ip = '10.9.9.9' WHERE seq = 12")).rejects.toThrow(/append-only/);
      await db.exec(
        backend.name === 'sqlite'
          ? 'DROP TRIGGER audit_origins_no_update; DROP TRIGGER audit_origins_no_delete;'
          : 'ALTER TABLE audit_origins DISABLE TRIGGER USER;',
      );
      await db.exec("UPDATE audit_origins SET ip = '10.9.9.9' WHERE seq = 12");
      expect(await checkAuditIndexes(store)).toMatchObject({ ok: false, first_bad_index: 12 });
      await db.exec("UPDATE audit_origins SET ip = '10.0.0.1' WHERE seq = 12; INSERT INTO audit_origins VALUES (0, '10.0.0.1', 30);");
      expect(await checkAuditIndexes(store)).toMatchObject({ ok: false, first_bad_index: 30 });
      await db.exec('DELETE FROM audit_origins WHERE seq IN (30, 17)');
      const removed = await checkAuditIndexes(store);
      expect(removed).toMatchObject({ ok: false, origin_refs: 38 });
      expect(removed.reason).toMatch(/origin index holds 38 rows, the events name 39/);
    });

    it('the origin index of a log written before it existed is filled from the events’ own bytes', async () => {
      await store.appendAudit(
        Array.from({ length: 50 }, (_, i) =>
          readEvent(i, i % 10 === 0 ? { origin: { ip: `192.0.2.${i}`, userAgent: null, requestId: null } } : {}),
        ),
      );
      // As a vault written before step 7.
      await db.exec('DROP TABLE audit_origins; DELETE FROM schema_migrations WHERE version = 7;');
      const again = await db.reopen();
      await again.migrate();
      expect((await again.queryAudit({ origin: '192.0.2.20', limit: 10 })).map((r) => r.seq)).toEqual([20]);
      expect((await again.queryAudit({ origin: '10.0.0.1', limit: 100 })).length).toBe(45);
      expect(await checkAuditIndexes(again)).toMatchObject({ ok: true, origin_refs: 50 });
    });

    it('stores checkpoints idempotently and refuses a different root for a stored size', async () => {
      await store.appendAudit([readEvent(0), readEvent(1)]);
      const { root } = await store.auditHead();
      await store.addCheckpoint({ size: 2, root, note: 'note-2', createdAt: AT });
      await store.addCheckpoint({ size: 2, root, note: 'note-2', createdAt: AT });
      await expect(store.addCheckpoint({ size: 2, root: Buffer.alloc(32), note: 'x', createdAt: AT })).rejects.toBeInstanceOf(
        IntegrityViolation,
      );
      await store.addCheckpoint({ size: 1, root: rootOf(await all(store), 1), note: 'note-1', createdAt: AT });
      expect((await store.listCheckpoints()).map((c) => c.size)).toEqual([1, 2]);
      expect((await store.latestCheckpoint())?.note).toBe('note-2');
    });

    it('a vault write and its events commit together: a refused write leaves no event, a refused event no write', async () => {
      await seed(store);
      await store.writeBatch({ patients: [patientRow(T, 'p1')], resources: [], audit: [readEvent(0)] });
      expect((await store.auditHead()).size).toBe(1);
      // The write fails (patient exists): its event must not be in the log.
      await expect(store.writeBatch({ patients: [patientRow(T, 'p1')], resources: [], audit: [readEvent(1)] })).rejects.toBeInstanceOf(
        Conflict,
      );
      expect((await store.auditHead()).size).toBe(1);
      // The event append fails: the write must not be in the store.
      await db.exec(
        backend.name === 'sqlite'
          ? "CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END;"
          : "CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit store unavailable'; END $$; CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION fail_audit();",
      );
      await expect(store.writeBatch({ patients: [patientRow(T, 'p2')], resources: [], audit: [readEvent(2)] })).rejects.toBeInstanceOf(
        StorageError,
      );
      expect(await store.getPatient(T, 'p2')).toBeNull();
      await expect(store.erasePatient(T, 'p1', AT, [readEvent(3)])).rejects.toBeInstanceOf(StorageError);
      expect((await store.getPatient(T, 'p1'))?.erasedAt).toBeNull();
      await expect(store.appendAudit([readEvent(4)])).rejects.toBeInstanceOf(StorageError);
      expect((await store.auditHead()).size).toBe(1);
    });
  });
});

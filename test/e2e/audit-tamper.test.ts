import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent } from '../../src/audit/event-codec.js';
import { TreeState } from '../../src/audit/tree-state.js';
import type { AuditEvent } from '../../src/domain/audit-event.js';
import { generateSyntheticLab } from '../../src/synth/generator.js';
import { rootOf, testSigner } from '../support/audit-fixture.js';
import { runCli } from '../support/cli.js';

/**
 * The attacker of the audit-log issue: write access to the database (they drop the append-only
 * triggers first), but not the signing key and not the witness directory. Every attack must make
 * `labvault audit verify` exit 1 and name the first bad index.
 */
const EVERY = 7; // a checkpoint every 7 events, so the log has several
let work: string;
let template: string;
let events: Buffer[];

const env = { LABVAULT_AUDIT_CHECKPOINT_EVENTS: String(EVERY) };

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'lv-audit-tamper-'));
  template = path.join(work, 'template');
  const lab = path.join(work, 'lab');
  const synth = await generateSyntheticLab({ patients: 60, seed: 3, outDir: lab });
  expect(synth.patients).toBe(60);
  const d = ['--data-dir', template];
  expect((await runCli([...d, 'init'], env)).code).toBe(0);
  expect((await runCli([...d, 'ingest', lab, '--batch-size', '50'], env)).code).toBe(0);
  const db = new Database(path.join(template, 'vault.db'), { readonly: true });
  const ids = db.prepare("SELECT id FROM patients WHERE tenant_id = 'screening' ORDER BY id LIMIT 12").pluck().all() as string[];
  db.close();
  for (const id of ids) expect((await runCli([...d, 'patient', 'show', '--tenant', 'screening', '--id', id], env)).code).toBe(0);
  const v = await verify(template);
  expect(v.code).toBe(0);
  events = readEvents(template);
  expect(events.length).toBeGreaterThan(5 * EVERY);
}, 120_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function readEvents(dir: string): Buffer[] {
  const db = new Database(path.join(dir, 'vault.db'), { readonly: true });
  try {
    return db.prepare('SELECT event FROM audit_events ORDER BY seq').pluck().all() as Buffer[];
  } finally {
    db.close();
  }
}

async function verify(
  dir: string,
): Promise<{ code: number | null; json: { ok: boolean; first_bad_index: number | null; reason: string | null } }> {
  const r = await runCli(['--data-dir', dir, 'audit', 'verify', '--json'], env);
  return { code: r.code, json: JSON.parse(r.stdout) as { ok: boolean; first_bad_index: number | null; reason: string | null } };
}

let n = 0;
/** A copy of the template vault, opened by an attacker who first drops the append-only triggers. */
async function attack(fn: (db: Database.Database) => void): Promise<string> {
  const dir = path.join(work, `attack-${n++}`);
  await cp(template, dir, { recursive: true });
  const db = new Database(path.join(dir, 'vault.db'));
  for (const t of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'audit_%'").pluck().all() as string[]) {
    db.exec(`DROP TRIGGER ${t}`);
  }
  fn(db);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return dir;
}

function reseal(evs: AuditEvent[]): Buffer[] {
  return TreeState.empty()
    .seal(evs)
    .rows.map((r) => r.bytes);
}

describe('audit verify against an attacker with write access to the database', () => {
  it('the intact log verifies, and the append-only triggers refuse UPDATE and DELETE', async () => {
    const dir = path.join(work, 'intact');
    await cp(template, dir, { recursive: true });
    const db = new Database(path.join(dir, 'vault.db'));
    expect(() => db.prepare("UPDATE audit_events SET outcome = 'denied' WHERE seq = 3").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_events WHERE seq = 3').run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_checkpoints').run()).toThrow(/append-only/);
    expect(() => db.prepare('UPDATE audit_tiles SET hashes = hashes').run()).toThrow(/append-only/);
    db.close();
    expect((await verify(dir)).json).toMatchObject({ ok: true, first_bad_index: null });
  });

  it('one field of one event changed → names it', async () => {
    const i = 11;
    const dir = await attack((db) => {
      const d = decodeEvent(events[i]!);
      const forged = encodeEvent(d.seq, d.prev, { ...d.event, principal: { ...d.event.principal, id: 'someone-else' } });
      db.prepare('UPDATE audit_events SET event = ?, principal_id = ? WHERE seq = ?').run(forged, 'someone-else', i);
    });
    expect(await verify(dir)).toMatchObject({ code: 1, json: { ok: false, first_bad_index: i } });
  });

  it('an event deleted → names its index', async () => {
    const dir = await attack((db) => db.prepare('DELETE FROM audit_events WHERE seq = 9').run());
    expect(await verify(dir)).toMatchObject({ code: 1, json: { ok: false, first_bad_index: 9 } });
  });

  it('a forged event inserted (later rows renumbered) → names its index', async () => {
    const i = 13;
    const dir = await attack((db) => {
      const prev = decodeEvent(events[i]!).prev;
      const forged = encodeEvent(i, prev, { ...decodeEvent(events[i]!).event, action: 'patient.erase' });
      db.prepare('UPDATE audit_events SET seq = -seq - 1 WHERE seq >= ?').run(i);
      db.prepare('UPDATE audit_events SET seq = -seq WHERE seq < 0').run();
      db.prepare(
        "INSERT INTO audit_events (seq, time, action, outcome, principal_id, tenant_id, event) VALUES (?, 't', 'patient.erase', 'allowed', 'x', NULL, ?)",
      ).run(i, forged);
    });
    expect(await verify(dir)).toMatchObject({ code: 1, json: { ok: false, first_bad_index: i } });
  });

  it('a stray row before the log (negative seq) → caught at index 0, in the database and in an export', async () => {
    const dir = await attack((db) =>
      db
        .prepare(
          "INSERT INTO audit_events (seq, time, action, outcome, principal_id, tenant_id, event) VALUES (-1, 't', 'a', 'allowed', 'x', NULL, ?)",
        )
        .run(events[0]),
    );
    expect(await verify(dir)).toMatchObject({ code: 1, json: { ok: false, first_bad_index: 0 } });
    expect((await runCli(['--data-dir', dir, 'audit', 'export', '--out', path.join(dir, 'export')], env)).code).toBe(0);
    const fromExport = await runCli(['audit', 'verify', '--from', path.join(dir, 'export'), '--json'], env);
    expect(fromExport.code).toBe(1);
    expect(JSON.parse(fromExport.stdout)).toMatchObject({ ok: false, first_bad_index: 0 });
  });

  it('a stray row far beyond the log (seq 9e15) → caught quickly, with workers too', async () => {
    const dir = await attack((db) =>
      db
        .prepare(
          "INSERT INTO audit_events (seq, time, action, outcome, principal_id, tenant_id, event) VALUES (9000000000000000, 't', 'a', 'allowed', 'x', NULL, ?)",
        )
        .run(events[0]),
    );
    const r = await runCli(['--data-dir', dir, 'audit', 'verify', '--workers', '1', '--json'], env);
    expect(r.code).toBe(1);
    // The stray row repeats event 0's bytes at position n: one of the two is forged, and the
    // verifier names the earlier index (as for an insertion).
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, first_bad_index: 0 });
    expect((JSON.parse(r.stdout) as { reason: string }).reason).toMatch(new RegExp(`position ${events.length} carries seq 0`));
  });

  it('witness copies deleted as well: events that nothing outside the database vouches for fail verification', async () => {
    const dir = await attack(() => undefined);
    await rm(path.join(dir, 'witness'), { recursive: true, force: true });
    const r = await verify(dir);
    expect(r).toMatchObject({ code: 1, json: { ok: false, first_bad_index: 0 } });
    expect(r.json.reason).toMatch(/no witnessed checkpoint/);
  });

  it('a tampered Merkle tile: the vault refuses to sign the next checkpoint, so no wrong root is ever witnessed', async () => {
    const dir = await attack((db) => db.prepare('UPDATE audit_tiles SET hashes = zeroblob(512) WHERE level = 0 AND idx = 0').run());
    const witness = path.join(dir, 'witness');
    const copies = async (): Promise<number> =>
      (await readdir(path.join(witness, (await readdir(witness))[0]!))).filter((f) => f.endsWith('.checkpoint')).length;
    const before = await copies();
    const show = await runCli(['--data-dir', dir, 'audit', 'checkpoint'], env);
    expect(show.code).toBe(0); // nothing new to sign yet
    const tail = await runCli(['--data-dir', dir, 'audit', 'tail', '-n', '1'], env); // appends audit.read, then must sign
    expect(tail.code).toBe(1);
    expect(tail.stderr).toMatch(/tiles disagree|does not match its events/);
    expect(await copies()).toBe(before);
    expect((await verify(dir)).json.ok).toBe(true);
  });

  it('audit prove trusts the signed note, not the stored root column', async () => {
    const size = (
      JSON.parse((await runCli(['--data-dir', template, 'audit', 'verify', '--json'], env)).stdout) as { verified_size: number }
    ).verified_size;
    const dir = await attack((db) => {
      db.prepare('UPDATE audit_events SET event = ? WHERE seq = 3').run(events[4]);
      db.prepare('DELETE FROM audit_tiles').run();
      db.prepare('UPDATE audit_checkpoints SET root = zeroblob(32)').run();
    });
    const p = await runCli(['--data-dir', dir, 'audit', 'prove', '--index', '3', '--size', String(size), '--json'], env);
    expect(JSON.parse(p.stdout)).toMatchObject({ verified: false });
    expect(p.code).toBe(1);
  });

  it('two events swapped → names the first', async () => {
    const dir = await attack((db) => {
      db.prepare('UPDATE audit_events SET event = ? WHERE seq = 8').run(events[20]);
      db.prepare('UPDATE audit_events SET event = ? WHERE seq = 20').run(events[8]);
    });
    expect(await verify(dir)).toMatchObject({ code: 1, json: { ok: false, first_bad_index: 8 } });
  });

  it('the tail truncated → names the first missing index (signed checkpoints cover more)', async () => {
    const keep = events.length - EVERY - 2;
    const dir = await attack((db) => db.prepare('DELETE FROM audit_events WHERE seq >= ?').run(keep));
    const r = await verify(dir);
    expect(r).toMatchObject({ code: 1, json: { ok: false, first_bad_index: keep } });
    expect(r.json.reason).toMatch(/truncated/);
  });

  it('--deep: query columns and patient index rows that disagree with the signed bytes are named too', async () => {
    const deep = async (dir: string) => {
      const r = await runCli(['--data-dir', dir, 'audit', 'verify', '--deep', '--json'], env);
      return { code: r.code, json: JSON.parse(r.stdout) as { ok: boolean; first_bad_index: number | null; reason: string | null } };
    };
    expect((await deep(template)).json).toMatchObject({ ok: true });
    const column = await attack((db) => db.prepare("UPDATE audit_events SET principal_id = 'nobody' WHERE seq = 12").run());
    expect((await verify(column)).json.ok).toBe(true); // the bytes are intact…
    expect(await deep(column)).toMatchObject({ code: 1, json: { ok: false, first_bad_index: 12 } }); // …the index is not
    const seq = (() => {
      const db = new Database(path.join(template, 'vault.db'), { readonly: true });
      const s = db.prepare('SELECT seq FROM audit_patients ORDER BY seq DESC LIMIT 1').pluck().get() as number;
      db.close();
      return s;
    })();
    const renamed = await attack((db) => db.prepare('UPDATE audit_patients SET ref = ref + 1 WHERE seq = ?').run(seq));
    expect(await deep(renamed)).toMatchObject({ code: 1, json: { ok: false, first_bad_index: seq } });
    const duplicated = await attack((db) => {
      // Without its primary key, one row removed and another duplicated: the count still matches.
      db.exec(
        'CREATE TABLE p2 (bucket INTEGER, ref INTEGER, seq INTEGER); INSERT INTO p2 SELECT * FROM audit_patients; DROP TABLE audit_patients; ALTER TABLE p2 RENAME TO audit_patients;',
      );
      const other = db.prepare('SELECT seq FROM audit_patients WHERE seq <> ? LIMIT 1').pluck().get(seq) as number;
      db.prepare('DELETE FROM audit_patients WHERE seq = ?').run(seq);
      db.prepare('INSERT INTO audit_patients SELECT * FROM audit_patients WHERE seq = ? LIMIT 1').run(other);
    });
    expect(await deep(duplicated)).toMatchObject({ code: 1, json: { ok: false } });
    const removed = await attack((db) => db.prepare('DELETE FROM audit_patients WHERE seq = ?').run(seq));
    const r = await deep(removed);
    expect(r).toMatchObject({ code: 1, json: { ok: false } });
    expect(r.json.reason).toMatch(/patient index holds/);
  });

  const k = 3 * EVERY + 2; // the forged history differs from here on

  /** The first index no genuine signature vouches for once history differs from k on. */
  function lastSignedAtOrBefore(at: number): number {
    const db = new Database(path.join(template, 'vault.db'), { readonly: true });
    try {
      const sizes = db.prepare('SELECT size FROM audit_checkpoints ORDER BY size').pluck().all() as number[];
      expect(sizes.filter((s) => s > at).length).toBeGreaterThan(0);
      return Math.max(0, ...sizes.filter((s) => s <= at));
    } finally {
      db.close();
    }
  }

  function forgedHistory(): Buffer[] {
    return reseal(
      events.map((e, i) => {
        const ev = decodeEvent(e).event;
        return i >= k ? { ...ev, outcome: 'denied' as const } : ev;
      }),
    );
  }

  function replaceTable(db: Database.Database, forged: Buffer[]): void {
    db.prepare('DELETE FROM audit_events').run();
    db.prepare('DELETE FROM audit_tiles').run();
    const ins = db.prepare(
      "INSERT INTO audit_events (seq, time, action, outcome, principal_id, tenant_id, event) VALUES (?, 't', 'a', 'denied', 'p', NULL, ?)",
    );
    forged.forEach((e, i) => ins.run(i, e));
  }

  it('the whole table replaced by a consistently re-chained, re-hashed history → caught by the signed checkpoints', async () => {
    const forged = forgedHistory();
    expect(forged.slice(0, k)).toEqual(events.slice(0, k));
    const dir = await attack((db) => replaceTable(db, forged));
    expect(await verify(dir)).toMatchObject({ code: 1, json: { ok: false, first_bad_index: lastSignedAtOrBefore(k) } });
  });

  it('…and the stored checkpoints rewritten too (signed with the attacker’s key) → caught through the witness copies', async () => {
    const forged = forgedHistory();
    const origin = (await runCli(['--data-dir', template, 'audit', 'checkpoint', '--json'], env)).stdout;
    const mallory = testSigner((JSON.parse(origin) as { origin: string }).origin);
    const dir = await attack((db) => {
      replaceTable(db, forged);
      const sizes = db.prepare('SELECT size FROM audit_checkpoints ORDER BY size').pluck().all() as number[];
      db.prepare('DELETE FROM audit_checkpoints').run();
      const ins = db.prepare("INSERT INTO audit_checkpoints (size, root, note, created_at) VALUES (?, ?, ?, 't')");
      for (const s of sizes) ins.run(s, rootOf(forged, s), mallory.sign(s, rootOf(forged, s)));
    });
    const witness = path.join(dir, 'witness');
    // The checkpoint copies (the directory also holds the event journal's segments).
    const copies = (await readdir(path.join(witness, (await readdir(witness))[0]!))).filter((f) => f.endsWith('.checkpoint'));
    expect(copies.length).toBeGreaterThan(3);
    const r = await verify(dir);
    expect(r).toMatchObject({ code: 1, json: { ok: false, first_bad_index: lastSignedAtOrBefore(k) } });
    // and the store's own checkpoints are reported as not signed by the vault's key
    expect(await readFile(path.join(witness, (await readdir(witness))[0]!, copies[0]!), 'utf8')).toMatch(/^labvault\.local\/audit\//);
  });
});

import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { copyFile, open, readdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointSigner } from '../audit/checkpoint-signer.js';
import { decodeEvent } from '../audit/event-codec.js';
import { openNote, parseCheckpointText, parseVerifierKey } from '../audit/verifier/signed-note.js';
import type { Alert } from '../domain/alert.js';
import type { AuditEvent } from '../domain/audit-event.js';
import { CTX } from '../../test/support/context.js';
import { freshSchema, pgAvailable, PG_REQUIRED, PG_URL } from '../../test/support/pg.js';
import { tempVault, type TempVault } from '../../test/support/temp-vault.js';
import { IntegrityMonitor, type IntegrityResult } from './integrity-monitor.js';
import { PostgresIntegrityProbe } from './integrity-monitor-postgres.js';
import { walHeaderProblem } from './integrity-monitor-sqlite.js';

/**
 * The monitor against a real vault (SQLite; PostgreSQL when reachable) with a signed, witnessed
 * audit log, damaged the ways ransomware (or an attacker with write access to the database) does.
 */
let temp: TempVault | undefined;
let monitor: IntegrityMonitor | undefined;

afterEach(async () => {
  await monitor?.close();
  monitor = undefined;
  await temp?.cleanup();
  temp = undefined;
});

/** A vault with `events` audit events, all covered by a witnessed checkpoint, its WAL not yet folded. */
async function vaultWithLog(events = 40): Promise<{ t: TempVault; file: string }> {
  const t = await tempVault();
  temp = t;
  const v = t.vault;
  await v.audit.record(Array.from({ length: events }, () => v.audit.event(CTX, { action: 'audit.read' })));
  const cp = await v.audit.checkpoint();
  expect(cp?.size).toBeGreaterThanOrEqual(events);
  return { t, file: t.config.database.kind === 'sqlite' ? t.config.database.file : '' };
}

function start(t: TempVault, opts: { alerts?: Alert[] } = {}): IntegrityMonitor {
  const sent = opts.alerts;
  monitor = IntegrityMonitor.forVault(t.vault, {
    confirmMs: 0,
    onError: () => undefined,
    ...(sent ? { alerts: { send: async (a: Alert) => void sent.push(a), close: async () => undefined } } : {}),
  });
  return monitor;
}

function failedNames(r: IntegrityResult): string[] {
  return r.checks.filter((c) => !c.ok).map((c) => c.name);
}

async function overwrite(file: string, at: number, bytes: Buffer): Promise<void> {
  const h = await open(file, 'r+');
  try {
    await h.write(bytes, 0, bytes.length, at);
  } finally {
    await h.close();
  }
}

describe('IntegrityMonitor on SQLite', () => {
  it('passes an intact vault, at start-up and periodically, with every check named', async () => {
    const { t, file } = await vaultWithLog();
    // The WAL has content, so its header (magic, version, checksum) is really checked.
    expect((await stat(`${file}-wal`)).size).toBeGreaterThan(32);
    const m = start(t);
    const full = await m.fullCheck();
    expect(full.reason).toBeNull();
    expect(full.ok).toBe(true);
    expect(full.checks.map((c) => c.name)).toEqual([
      'sqlite.file',
      'sqlite.header',
      'sqlite.wal',
      'sqlite.schema',
      'sqlite.quick_check',
      'store.read',
      'audit.witness',
    ]);
    expect(full.checks.find((c) => c.name === 'sqlite.wal')?.detail).toMatch(/valid header/);
    expect(full.checks.find((c) => c.name === 'audit.witness')?.detail).toMatch(/matches/);
    expect(Number.isNaN(Date.parse(full.at))).toBe(false);
    // More events and a new checkpoint: the periodic check follows the witness forward.
    await t.vault.audit.record([t.vault.audit.event(CTX, { action: 'audit.read' })]);
    await t.vault.audit.checkpoint();
    const cheap = await m.check();
    expect(cheap.ok).toBe(true);
    expect(cheap.checks.map((c) => c.name)).not.toContain('sqlite.quick_check');
    expect(m.failure).toBeNull();
  });

  it('fails sqlite.header when the file is overwritten in place', async () => {
    const { t, file } = await vaultWithLog();
    const m = start(t);
    expect((await m.fullCheck()).ok).toBe(true);
    await overwrite(file, 0, randomBytes(4096));
    const r = await m.check();
    expect(r.ok).toBe(false);
    expect(failedNames(r)).toContain('sqlite.header');
    // Same inode: it is the content that changed, not the file.
    expect(r.checks.find((c) => c.name === 'sqlite.file')?.ok).toBe(true);
    expect(r.reason).toMatch(/^sqlite\.header: vault\.db does not start with the SQLite header/);
  });

  it('fails sqlite.file when a copy is renamed over the database (a valid SQLite file, another inode)', async () => {
    const { t, file } = await vaultWithLog();
    const m = start(t);
    expect((await m.fullCheck()).ok).toBe(true);
    await copyFile(file, `${file}.locked`);
    await rename(`${file}.locked`, file);
    const r = await m.check();
    expect(r.ok).toBe(false);
    expect(failedNames(r)).toContain('sqlite.file');
    expect(r.checks.find((c) => c.name === 'sqlite.header')?.ok).toBe(true);
    expect(r.reason).toMatch(/sqlite\.file: vault\.db was replaced/);
  });

  it('fails sqlite.wal when the WAL header is garbage', async () => {
    const { t, file } = await vaultWithLog();
    const m = start(t);
    expect((await m.fullCheck()).ok).toBe(true);
    expect((await stat(`${file}-wal`)).size).toBeGreaterThan(32);
    await overwrite(`${file}-wal`, 0, randomBytes(32));
    const r = await m.check();
    expect(failedNames(r)).toContain('sqlite.wal');
    expect(r.reason).toMatch(/sqlite\.wal: vault\.db-wal does not start with the WAL magic/);
  });

  it('fails sqlite.schema when a schema_migrations row is removed, or a table dropped', async () => {
    const { t, file } = await vaultWithLog();
    const m = start(t);
    expect((await m.fullCheck()).ok).toBe(true);
    const db = new Database(file);
    try {
      const latest = db.prepare('SELECT max(version) FROM schema_migrations').pluck().get() as number;
      db.prepare('DELETE FROM schema_migrations WHERE version = ?').run(latest);
      let r = await m.check();
      expect(failedNames(r)).toEqual(['sqlite.schema']);
      expect(r.reason).toBe(`sqlite.schema: schema_migrations lacks version ${latest}`);
      db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'x', 'x')").run(latest);
      expect((await m.check()).ok).toBe(true);
      db.exec('DROP TABLE principal_origins');
      r = await m.check();
      expect(r.reason).toBe('sqlite.schema: missing table principal_origins');
    } finally {
      db.close();
    }
  });

  it('fails audit.witness when the stored Merkle tiles no longer give the witnessed root', async () => {
    const { t, file } = await vaultWithLog();
    const m = start(t);
    expect((await m.fullCheck()).ok).toBe(true);
    // The attacker of the audit-log issue: database write access, triggers dropped first.
    const db = new Database(file);
    try {
      db.exec('DROP TRIGGER audit_tiles_no_update');
      expect(db.prepare('UPDATE audit_tiles SET hashes = randomblob(length(hashes)) WHERE level = 0 AND idx = 0').run().changes).toBe(1);
    } finally {
      db.close();
    }
    const r = await m.check();
    expect(failedNames(r)).toEqual(['audit.witness']);
    expect(r.reason).toMatch(/audit root at the newest witnessed size differs from the witness copy/);
  });

  it('fails audit.witness at start-up when the witness vouches for a different root', async () => {
    const { t } = await vaultWithLog();
    const v = t.vault;
    // A copy signed by the log's own key for the same size but another root: the database and
    // the witness disagree about history (here the witness is what was changed; either way it fails).
    const dir = v.audit.witness.location;
    const last = (await readdir(dir))
      .filter((n) => n.endsWith('.checkpoint'))
      .sort()
      .at(-1) as string;
    const size = Number(last.slice(0, 16));
    const forged = await new CheckpointSigner(v.audit.origin, await v.provider.auditSigner()).sign(size, randomBytes(32));
    expect(parseCheckpointText(openNote(forged, parseVerifierKey(v.audit.verifierKey)) ?? '')?.size).toBe(size);
    await writeFile(path.join(dir, last), forged);
    const r = await start(t).fullCheck();
    expect(failedNames(r)).toEqual(['audit.witness']);
  });

  it('fails audit.witness when the store holds fewer events than the witness vouches for', async () => {
    const { t } = await vaultWithLog(20);
    const v = t.vault;
    const forged = await new CheckpointSigner(v.audit.origin, await v.provider.auditSigner()).sign(10_000, randomBytes(32));
    await writeFile(path.join(v.audit.witness.location, `${'10000'.padStart(16, '0')}.checkpoint`), forged);
    const r = await start(t).fullCheck();
    expect(r.reason).toBe('audit.witness: the audit log holds fewer events than the witness vouches for');
  });

  it('on the first failure of the periodic check: fails (sticky), alerts once, names the newest backup', async () => {
    const { t, file } = await vaultWithLog();
    const alerts: Alert[] = [];
    const failures: string[] = [];
    monitor = IntegrityMonitor.forVault(t.vault, {
      confirmMs: 0,
      onError: () => undefined,
      alerts: { send: async (a: Alert) => void alerts.push(a), close: async () => undefined },
      newestBackup: async () => ({ id: 'bk-2025-01-01-0300', path: '/backups/bk-2025-01-01-0300' }),
      onFailure: (f) => failures.push(f.reason),
    });
    expect((await monitor.fullCheck()).ok).toBe(true);
    monitor.start(20);
    await new Promise((r) => setTimeout(r, 100));
    expect(monitor.failure).toBeNull();
    await overwrite(file, 0, randomBytes(16));
    const deadline = Date.now() + 5000;
    while (alerts.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const f = monitor.failure;
    expect(f?.checks).toContain('sqlite.header');
    expect(f?.newestBackup).toEqual({ id: 'bk-2025-01-01-0300', path: '/backups/bk-2025-01-01-0300' });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ severity: 'critical', rule: 'integrity.failed', principal: 'labvault-integrity' });
    expect(alerts[0]?.summary).toMatch(/sqlite\.header.*newest verified backup bk-2025-01-01-0300/);
    // Sticky: putting the header back does not make the store trusted again, and no second alert.
    await overwrite(file, 0, Buffer.from('SQLite format 3\0', 'latin1'));
    await new Promise((r) => setTimeout(r, 150));
    expect(monitor.failure).toBe(f);
    expect(alerts).toHaveLength(1);
    expect(failures).toHaveLength(1);
  });

  it('records the failure in the audit log; a backup id the alert and event rules refuse is left out, not the alert', async () => {
    const { t, file } = await vaultWithLog();
    const alerts: Alert[] = [];
    monitor = IntegrityMonitor.forVault(t.vault, {
      confirmMs: 0,
      onError: () => undefined,
      alerts: { send: async (a: Alert) => void alerts.push(a), close: async () => undefined },
      // Eight digits that pass the BSN 11-proof with a leading zero: alerts refuse BSN-like text.
      newestBackup: async () => ({ id: 'bk-20250101T0300Z', path: '/backups/x' }),
    });
    expect((await monitor.fullCheck()).ok).toBe(true);
    const db = new Database(file);
    try {
      db.prepare('DELETE FROM schema_migrations WHERE version = 1').run();
    } finally {
      db.close();
    }
    const r = await monitor.check();
    const f = await monitor.raise(r);
    expect(f.newestBackup?.id).toBe('bk-20250101T0300Z');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.summary).toBe('store failed its integrity check: sqlite.schema');
    const deadline = Date.now() + 5000;
    let recorded: AuditEvent | undefined;
    while (!recorded && Date.now() < deadline) {
      const rows = await t.vault.store.queryAudit({ principalId: 'labvault-integrity', limit: 10 });
      recorded = rows.map((row) => decodeEvent(row.bytes).event).find((e) => e.action === 'detection.alert');
      if (!recorded) await new Promise((res) => setTimeout(res, 20));
    }
    expect(recorded).toMatchObject({
      outcome: 'error',
      reason: 'integrity-violation',
      detail: { rule: 'integrity.failed', checks: 'sqlite.schema', backup: null },
    });
  });

  it('a failure that does not persist is not one: a run is confirmed before it counts', async () => {
    const { t, file } = await vaultWithLog();
    monitor = IntegrityMonitor.forVault(t.vault, { confirmMs: 200, onError: () => undefined });
    expect((await monitor.fullCheck()).ok).toBe(true);
    const header = Buffer.alloc(16);
    const h = await open(file, 'r');
    await h.read(header, 0, 16, 0);
    await h.close();
    await overwrite(file, 0, randomBytes(16));
    const pending = monitor.check();
    // Put back before the confirming run (a torn read, a file being rewritten by SQLite itself).
    await new Promise((r) => setTimeout(r, 50));
    await overwrite(file, 0, header);
    expect((await pending).ok).toBe(true);
  });

  it('refuses a damaged file before the store opens it (beforeOpen)', async () => {
    const { t, file } = await vaultWithLog();
    expect((await IntegrityMonitor.beforeOpen(t.config.database)).ok).toBe(true);
    await overwrite(file, 0, randomBytes(16));
    const r = await IntegrityMonitor.beforeOpen(t.config.database);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/^sqlite\.header: /);
  });
});

const pgUp = (await pgAvailable()) || PG_REQUIRED;

describe.skipIf(!pgUp)('IntegrityMonitor on PostgreSQL', () => {
  it('passes an intact vault, and fails postgres.schema for a dropped table or a removed migration row', async () => {
    const s = await freshSchema();
    try {
      temp = await tempVault({ databaseUrl: PG_URL, env: { LABVAULT_PG_SCHEMA: s.schema } });
      const v = temp.vault;
      await v.audit.record(Array.from({ length: 40 }, () => v.audit.event(CTX, { action: 'audit.read' })));
      await v.audit.checkpoint();
      const m = start(temp);
      const full = await m.fullCheck();
      expect(full.reason).toBeNull();
      expect(full.checks.map((c) => c.name)).toEqual(['postgres.schema', 'store.read', 'audit.witness']);
      expect(full.checks.find((c) => c.name === 'audit.witness')?.detail).toMatch(/matches/);
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      try {
        await client.query(`DELETE FROM ${s.schema}.schema_migrations WHERE version = 3`);
        expect((await m.check()).reason).toBe('postgres.schema: schema_migrations lacks version 3');
        await client.query(`INSERT INTO ${s.schema}.schema_migrations (version, name, applied_at) VALUES (3, 'x', now())`);
        expect((await m.check()).ok).toBe(true);
        await client.query(`DROP TABLE ${s.schema}.principal_origins`);
        expect((await m.check()).reason).toBe('postgres.schema: missing table principal_origins');
      } finally {
        await client.end();
      }
    } finally {
      await monitor?.close();
      monitor = undefined;
      await temp?.cleanup();
      temp = undefined;
      await s.drop();
    }
  });
});

describe('checks that cannot ask', () => {
  it('a database that does not answer is transient: reported once, never a failure', async () => {
    const errors: string[] = [];
    monitor = new IntegrityMonitor({
      probes: [new PostgresIntegrityProbe('postgres://nobody@127.0.0.1:1/none', 'public')],
      confirmMs: 0,
      onError: (what) => errors.push(what),
    });
    const r = await monitor.check();
    expect(r.ok).toBe(false);
    expect(r.checks[0]).toMatchObject({ name: 'postgres.schema', ok: false, transient: true });
    expect(r.reason).toMatch(/^postgres\.schema: cannot read the vault schema \(ECONNREFUSED\)$/);
    monitor.start(20);
    await new Promise((res) => setTimeout(res, 300));
    expect(monitor.failure).toBeNull();
    expect(errors).toEqual(['integrity check could not run']);
  });
});

describe('walHeaderProblem', () => {
  it('accepts headers in both checksum byte orders and refuses a flipped bit', () => {
    for (const magic of [0x377f0682, 0x377f0683]) {
      const h = Buffer.alloc(32);
      h.writeUInt32BE(magic, 0);
      h.writeUInt32BE(3007000, 4);
      h.writeUInt32BE(8192, 8);
      h.writeUInt32BE(3, 12);
      randomBytes(8).copy(h, 16);
      const be = (magic & 1) === 1;
      let s0 = 0;
      let s1 = 0;
      for (let i = 0; i < 24; i += 8) {
        s0 = (s0 + (be ? h.readUInt32BE(i) : h.readUInt32LE(i)) + s1) >>> 0;
        s1 = (s1 + (be ? h.readUInt32BE(i + 4) : h.readUInt32LE(i + 4)) + s0) >>> 0;
      }
      h.writeUInt32BE(s0, 24);
      h.writeUInt32BE(s1, 28);
      expect(walHeaderProblem(h)).toBeNull();
      h[20] = (h[20] as number) ^ 1;
      expect(walHeaderProblem(h)).toBe('has a WAL header with a bad checksum');
    }
    expect(walHeaderProblem(Buffer.alloc(10))).toBe('is shorter than a WAL header');
  });
});

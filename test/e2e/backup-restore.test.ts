import { generateKeyPairSync, sign } from 'node:crypto';
import { chmod, cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBackup, openTrialCopy, checkManifest } from '../../src/backup/backup-verifier.js';
import { listBackups } from '../../src/backup/backup-list.js';
import { copyDirOnce } from '../../src/backup/backup-files.js';
import { restoreBackup } from '../../src/backup/restore.js';
import { degradedConfig } from '../../src/backup/degraded-copy.js';
import { SqliteVaultStore } from '../../src/storage/sqlite/sqlite-vault-store.js';
import { backupId, manifestBytes, parseManifest } from '../../src/backup/backup-manifest.js';
import type { BackupResult } from '../../src/backup/backup-service.js';
import { openVault } from '../../src/compose.js';
import { Section, recordAad } from '../../src/crypto/aad.js';
import { open } from '../../src/crypto/envelope.js';
import { KeyHierarchy } from '../../src/crypto/key-hierarchy.js';
import { BSN_SYSTEM } from '../../src/domain/bsn.js';
import { NotFound } from '../../src/domain/errors.js';
import { generateSyntheticLab } from '../../src/synth/generator.js';
import { DirectoryWitness } from '../../src/witness/directory-witness.js';
import { decodeEvent, encodeEvent } from '../../src/audit/event-codec.js';
import { leafHash } from '../../src/audit/verifier/rfc6962.js';
import { CTX } from '../support/context.js';
import { ByteScanner, scanFiles } from '../support/scan-bytes.js';
import { seededIdentifiers } from '../support/seeded-identifiers.js';
import { tempVault, type TempVault } from '../support/temp-vault.js';

/**
 * Backups of the ransomware issue: a copy holds only ciphertext, is signed, read-only and named by
 * its content; verify and restore refuse a flipped byte, a missing file, another vault's manifest
 * and another key's signature; a patient erased after a backup stays unreadable after restoring
 * it; the restored log continues the witnessed one and verifies, listing the writes made after
 * the copy; and the copy's own canaries name the copy when its data leaks.
 */
describe('backup and restore (SQLite)', () => {
  let work: string;
  let t: TempVault;
  let b1: BackupResult;
  const deps = () => ({
    provider: t.vault.provider,
    witnessFor: (o: string) => new DirectoryWitness(t.config.audit.witnessDir, o),
  });

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'lv-backup-'));
    t = await tempVault({
      env: { LABVAULT_DETECTION_MODE: 'off', LABVAULT_BACKUP_DIR: path.join(work, 'backups'), LABVAULT_BACKUP_CANARIES: '2' },
    });
    await generateSyntheticLab({ patients: 120, seed: 11, outDir: path.join(work, 'lab') });
    await t.vault.ingest.ingest(CTX, [path.join(work, 'lab')], { worker: false });
    b1 = await t.vault.backups.create(CTX);
  }, 60_000);
  afterAll(async () => {
    await t.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  it('writes a signed, read-only copy named by its content, with canaries of its own, that verifies', async () => {
    expect(path.basename(b1.path)).toMatch(new RegExp(`-${b1.id}$`));
    expect((await stat(b1.path)).mode & 0o777).toBe(0o555);
    for (const f of await readdir(b1.path)) expect((await stat(path.join(b1.path, f))).mode & 0o222).toBe(0);
    expect(b1.canaries).toBe(2 * 5);
    expect(b1.audit_size).toBeGreaterThan(0);
    const m = await checkManifest(b1.path, t.vault.provider);
    expect(m.id).toBe(b1.id);
    expect(m.canaries).toHaveLength(5);
    const v = await verifyBackup(b1.path, deps());
    expect(v).toMatchObject({ ok: true, reason: null, id: b1.id, audit_size: b1.audit_size });
    expect(v.sample_decrypted).toBeGreaterThanOrEqual(5);
    // The copy's canaries are in the copy only: the live vault does not hold them.
    const sets = (await t.vault.canaries.unsealedSets()).filter((s) => s.set.copyKind === 'backup' && s.set.copyId === b1.id);
    expect(sets).toHaveLength(5);
    for (const s of sets) for (const p of s.patients) expect(await t.vault.store.getPatient(s.set.tenantId, p.id)).toBeNull();
    // A second copy is a new directory; the listing puts it first. With a second target, the same
    // copy (same id, same bytes) lands there too and verifies there.
    const b2 = await t.vault.backups.create(CTX, { second: path.join(work, 'second') });
    expect(b2.path).not.toBe(b1.path);
    expect((await listBackups(path.join(work, 'backups'))).map((b) => b.id)).toEqual([b2.id, b1.id]);
    expect(b2.second_path).toBe(path.join(work, 'second', path.basename(b2.path)));
    expect(await readFile(path.join(b2.second_path as string, 'manifest.json'))).toEqual(
      await readFile(path.join(b2.path, 'manifest.json')),
    );
    expect(await verifyBackup(b2.second_path as string, deps())).toMatchObject({ ok: true, id: b2.id });
    // A copy is never overwritten: writing the same copy to the same root again is refused.
    await expect(copyDirOnce(b2.path, path.join(work, 'second'))).rejects.toThrow(/exists/);
  }, 60_000);

  it('holds no plaintext identifier in any file, canaries included', async () => {
    const ids = await seededIdentifiers(path.join(work, 'lab'));
    const canaryBsns = (await t.vault.canaries.unsealedSets()).flatMap((s) => s.patients.map((p) => p.bsn));
    const scanner = new ByteScanner([...ids.values, ...canaryBsns]);
    const files = (await readdir(b1.path)).map((f) => path.join(b1.path, f));
    const scan = await scanFiles(scanner, files);
    expect(scan.hits).toEqual([]);
    expect(scan.scanned.reduce((n, f) => n + f.bytes, 0)).toBeGreaterThan(100_000);
    // Positive control: the scanner finds a seeded value where it is in plaintext.
    expect((await scanFiles(scanner, [path.join(work, 'lab', 'Patient.ndjson')])).hits.length).toBeGreaterThan(0);
  });

  it('refuses a flipped byte, a missing file, another vault’s manifest and another key’s signature, in verify and in restore', async () => {
    const variant = async (name: string, change: (dir: string) => Promise<void>): Promise<string> => {
      const dir = path.join(work, 'variants', name);
      await cp(b1.path, dir, { recursive: true });
      await chmod(dir, 0o700);
      for (const f of await readdir(dir)) await chmod(path.join(dir, f), 0o600);
      await change(dir);
      return dir;
    };
    const flipped = await variant('flipped', async (d) => {
      const f = path.join(d, 'vault.db');
      const bytes = await readFile(f);
      bytes[bytes.length - 5000] = (bytes[bytes.length - 5000] as number) ^ 0x01;
      await writeFile(f, bytes);
    });
    const missing = await variant('missing', (d) => rm(path.join(d, 'vault.db')));
    const other = await tempVault({ env: { LABVAULT_DETECTION_MODE: 'off', LABVAULT_BACKUP_DIR: path.join(work, 'other-backups') } });
    let foreign: string;
    try {
      const ob = await other.vault.backups.create(CTX);
      foreign = await variant('foreign', async (d) => {
        for (const f of ['manifest.json', 'manifest.sig']) await cp(path.join(ob.path, f), path.join(d, f), { force: true });
      });
    } finally {
      await other.cleanup();
    }
    const forged = await variant('forged-signature', async (d) => {
      // Our vault's manifest, content edited (a smaller audit size) and re-signed with another key.
      const m = parseManifest(await readFile(path.join(d, 'manifest.json')));
      const edited = { ...m, audit: { ...m.audit, size: m.audit.size - 1 } };
      const { id: _id, ...rest } = edited;
      const withId = { ...edited, id: backupId(rest) };
      const bytes = manifestBytes(withId);
      const { privateKey } = generateKeyPairSync('ed25519');
      await writeFile(path.join(d, 'manifest.json'), bytes);
      await writeFile(
        path.join(d, 'manifest.sig'),
        sign(null, Buffer.concat([Buffer.from('labvault backup manifest v1\n'), bytes]), privateKey).toString('base64'),
      );
    });
    const cases: [string, RegExp][] = [
      [flipped, /vault\.db does not match its hash/],
      [missing, /missing file vault\.db/],
      [foreign, /another vault/],
      [forged, /not signed by this vault's key/],
    ];
    const dbFile = (t.config.database as { file: string }).file;
    const before = createHash('sha256')
      .update(await readFile(dbFile))
      .digest('hex');
    for (const [dir, reason] of cases) {
      const v = await verifyBackup(dir, deps());
      expect(v.ok, dir).toBe(false);
      expect(v.reason, dir).toMatch(reason);
      await expect(
        restoreBackup(dir, { config: t.config, provider: t.vault.provider, openVault: (c) => openVault(c), ctx: CTX }),
      ).rejects.toThrow(new RegExp(`does not verify: .*${reason.source}`));
    }
    // Nothing was touched by the refused restores.
    expect(
      createHash('sha256')
        .update(await readFile(dbFile))
        .digest('hex'),
    ).toBe(before);
  }, 120_000);

  it('finds the copy’s canaries in a leak of the copy’s data and names the copy', async () => {
    // The thief of this copy who also took the keys publishes what it holds, in plaintext.
    const m = await checkManifest(b1.path, t.vault.provider);
    const trial = await openTrialCopy(b1.path, m, null);
    const lines = ['bsn;family;birth_date'];
    try {
      const keys = new KeyHierarchy(trial.store, t.vault.provider);
      for (const tenant of await trial.store.listTenants()) {
        for (const id of await trial.store.listPatientIds(tenant.id, '', 10_000)) {
          const row = await trial.store.getPatient(tenant.id, id);
          if (!row?.identity || !row.wrappedDek) continue;
          const dek = await keys.dek(tenant.id, id, row.kekVersion, row.wrappedDek);
          const p = JSON.parse(open(dek, row.identity, recordAad(tenant.id, 'Patient', id, row.version, Section.Identity)).toString()) as {
            identifier: { system: string; value: string }[];
            name: { family: string }[];
            birthDate: string;
          };
          lines.push(`${p.identifier.find((i) => i.system === BSN_SYSTEM)?.value ?? ''};${p.name[0]?.family ?? ''};${p.birthDate}`);
        }
      }
      keys.close();
    } finally {
      await trial.dispose();
    }
    await writeFile(path.join(work, 'leak.csv'), `${lines.join('\n')}\n`);
    const r = await t.vault.leaks.scan(CTX, [path.join(work, 'leak.csv')], { workers: 1 });
    const mine = r.canaries.filter((c) => c.copy_kind === 'backup' && c.copy_id === b1.id);
    expect(mine.map((c) => c.tenant).sort()).toEqual(m.canaries.map((c) => c.tenant).sort());
    expect(mine.reduce((n, c) => n + c.patients, 0)).toBe(10);
    // No other copy is blamed.
    expect(r.canaries.filter((c) => c.copy_id !== b1.id)).toEqual([]);
    expect(r.matched.patients).toBeGreaterThan(100);
  }, 60_000);

  it('after ransomware: restore keeps erasures, continues the witnessed log, lists the writes after the copy, and audit verify passes', async () => {
    const [erased] = await t.vault.store.listPatientIds('screening', '', 1);
    await t.vault.keyAdmin.erasePatient(CTX, 'screening', erased as string);
    await generateSyntheticLab({ patients: 15, seed: 12, outDir: path.join(work, 'lab2') });
    const late = await t.vault.ingest.ingest(CTX, [path.join(work, 'lab2')], { worker: false });
    expect(late.rejected).toBe(0);
    const [, victim] = await t.vault.store.listPatientIds('screening', '', 2);
    // Degraded service from the copy taken before the erasure does not serve the erased patient.
    await t.vault.audit.checkpoint();
    const degraded = await degradedConfig(t.config, b1.path, t.vault.provider);
    expect(degraded.shredded).toBe(1);
    const view = new SqliteVaultStore((degraded.config.database as { file: string }).file);
    try {
      expect((await view.getPatient('screening', erased as string))?.erasedAt).not.toBeNull();
      expect((await view.getPatient('screening', victim as string))?.erasedAt).toBeNull();
    } finally {
      await view.close();
    }
    const journal = new DirectoryWitness(t.config.audit.witnessDir, t.vault.audit.origin);
    await t.vault.close();
    // A forged journal line after the witnessed ones (well-formed, chained to the last real line,
    // unsigned): an erasure of a patient nobody erased. The restore must not replay it.
    const segments = await journal.journalSegments();
    const lastSeg = segments[segments.length - 1] as { from: number; to: number };
    const lastLine = (await journal.readJournal(lastSeg.from, lastSeg.to)).at(-1) as Buffer;
    const forged = encodeEvent(lastSeg.to, leafHash(lastLine), {
      ...decodeEvent(lastLine).event,
      action: 'patient.erase',
      outcome: 'allowed',
      tenant: 'screening',
      patients: [victim as string],
    });
    await journal.journal(lastSeg.to, [forged]);
    // The data dir's database encrypted in place, its WAL gone.
    const dbFile = (t.config.database as { file: string }).file;
    const size = (await stat(dbFile)).size;
    await writeFile(dbFile, Buffer.alloc(size, 0x5a));
    await rm(`${dbFile}-wal`, { force: true });
    // The attacker also deleted the erasure ledger: the signed erasure event in the witness's
    // journal still shreds the patient again.
    await rm(t.config.backup.erasureLedger);
    const provider = await freshProvider(t);
    const r = await restoreBackup(b1.path, { config: t.config, provider, openVault: (c) => openVault(c), ctx: CTX }).finally(() =>
      provider.close(),
    );
    expect(r).toMatchObject({
      restored: true,
      id: b1.id,
      verified: true,
      erasures_reapplied: 1,
      canaries_removed: 10,
      unjournaled_events: 0,
      unverified_journal_events: 1,
    });
    expect(r.quarantine).not.toBeNull();
    expect(r.events_after_backup).toBeGreaterThan(0);
    expect(r.audit_size).toBeGreaterThan(r.backup_audit_size + r.events_after_backup);
    // Every write after the copy is listed: the erasure and the late ingest's writes, by patient.
    expect(r.lost_writes.some((w) => w.action === 'patient.erase' && w.patients.includes(erased as string))).toBe(true);
    const ingested = new Set(r.lost_writes.filter((w) => w.action === 'ingest.write').flatMap((w) => w.patients));
    expect(ingested.size).toBeGreaterThanOrEqual(15);
    const v = await t.reopen();
    expect((await v.store.getPatient('screening', erased as string))?.erasedAt).not.toBeNull();
    expect((await v.store.getPatient('screening', victim as string))?.erasedAt).toBeNull();
    expect(r.lost_writes.some((w) => w.patients.includes(victim as string) && w.action === 'patient.erase')).toBe(false);
    await expect(v.reader.patient(CTX, 'screening', erased as string)).rejects.toBeInstanceOf(NotFound);
    expect((await v.audit.verify()).ok).toBe(true);
    // The copy's canaries are not in the live vault after the restore.
    const sets = (await v.canaries.unsealedSets()).filter((s) => s.set.copyId === b1.id);
    for (const s of sets) expect((await v.store.getPatient(s.set.tenantId, s.patients[0]?.id as string))?.erasedAt).not.toBeNull();
  }, 120_000);
});

async function freshProvider(t: TempVault) {
  const { openKeyProvider } = await import('../../src/compose.js');
  return openKeyProvider(t.config, false);
}

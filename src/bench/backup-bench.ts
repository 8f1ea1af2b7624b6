import { copyFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { restoreBackup } from '../backup/restore.js';
import { verifyBackup } from '../backup/backup-verifier.js';
import { syncPath } from '../backup/backup-files.js';
import { openKeyProvider, openVault } from '../compose.js';
import { DirectoryWitness } from '../witness/directory-witness.js';
import { BenchFailed } from './bench-failed.js';
import { openLabVault } from './lab-vault.js';

/**
 * `labvault bench backup`: a synthetic lab of N persons in a fresh SQLite vault, then `backup
 * create`, `backup verify` and `restore` of that copy into the vault's data dir, each timed; the
 * baseline, in the same run, is a plain copy of the database file with an fsync (what no backup
 * can beat on this disk).
 */
export interface BackupBenchResult {
  patients: number;
  db_mb: number;
  backup_s: number;
  backup_mb: number;
  verify_s: number;
  restore_s: number;
  restored_verified: boolean;
  baseline_copy_s: number;
  peak_rss_mb: number;
}

export async function benchBackup(o: { patients: number; log: (s: string) => void }): Promise<BackupBenchResult> {
  const lab = await openLabVault({ prefix: 'labvault-bench-backup-', patients: o.patients, log: o.log });
  try {
    const { vault, operator } = lab;
    const config = vault.config;
    if (config.database.kind !== 'sqlite') throw new BenchFailed('bench backup runs on SQLite');
    const file = config.database.file;
    const dbMb = (await stat(file)).size / 1e6;
    o.log('baseline: a plain copy of the database file, synced…');
    const copyAt = process.hrtime.bigint();
    const copy = path.join(lab.work, 'plain-copy.db');
    await copyFile(file, copy);
    await syncPath(copy);
    const baseline = seconds(copyAt);
    await rm(copy);
    o.log('backup create…');
    const b = await vault.backups.create(operator, { to: path.join(lab.work, 'backups') });
    o.log('backup verify…');
    const v = await verifyBackup(b.path, { provider: vault.provider, witnessFor: (x) => new DirectoryWitness(config.audit.witnessDir, x) });
    if (!v.ok) throw new BenchFailed(`the copy does not verify: ${v.reason ?? ''}`);
    await vault.close();
    o.log('restore into the data dir…');
    const provider = await openKeyProvider(config, false);
    let restored;
    try {
      restored = await restoreBackup(b.path, { config, provider, openVault: (c) => openVault(c), ctx: operator });
    } finally {
      await provider.close();
    }
    return {
      patients: o.patients,
      db_mb: round(dbMb),
      backup_s: round(b.seconds),
      backup_mb: round(b.bytes / 1e6),
      verify_s: round(v.seconds),
      restore_s: round(restored.seconds),
      restored_verified: restored.verified,
      baseline_copy_s: round(baseline),
      peak_rss_mb: lab.peakRssMb(),
    };
  } finally {
    await lab.close().catch(() => undefined);
  }
}

function seconds(t: bigint): number {
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

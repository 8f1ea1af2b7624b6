import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { IntegrityViolation } from '../domain/errors.js';
import type { KeyProvider } from '../ports/key-provider.js';
import { DirectoryWitness } from '../witness/directory-witness.js';
import { verifyBackup } from './backup-verifier.js';
import { DATABASE_FILE } from './backup-layout.js';
import { ErasureLedger } from './erasure-ledger.js';
import { erasuresToReapply, vouchedJournal } from './restore.js';
import { SqliteVaultStore } from '../storage/sqlite/sqlite-vault-store.js';
import { originOf } from '../audit/audit-log.js';
import { formatVerifierKey } from '../audit/verifier/signed-note.js';

/**
 * The store `serve --read-only --from-backup` runs on: a verified backup copied into its own
 * directory beside the data dir (the copy itself stays read-only and untouched). Reads there are
 * authorised and audited as always; their events go to that directory's own audit log and witness
 * (a branch of the log from the backup's size, kept afterwards as the record of what degraded
 * service released), never into the primary's witness, which the restore continues.
 */
export async function degradedConfig(
  config: Readonly<Config>,
  backup: string,
  provider: KeyProvider,
): Promise<{ config: Readonly<Config>; id: string; dir: string; shredded: number }> {
  if (config.database.kind !== 'sqlite')
    throw new IntegrityViolation('--from-backup serves SQLite backups (a PostgreSQL backup restores into a fresh database)');
  const v = await verifyBackup(backup, { provider, witnessFor: (o) => new DirectoryWitness(config.audit.witnessDir, o) });
  if (!v.ok || v.id === null)
    throw new IntegrityViolation(`refusing to serve from a backup that does not verify: ${v.reason ?? 'unknown'}`);
  const dir = path.join(
    path.dirname(config.dataDir),
    `${path.basename(config.dataDir)}.degraded-${v.id.slice(0, 12)}-${new Date().toISOString().replace(/[-:.]/g, '')}`,
  );
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, DATABASE_FILE);
  await fs.copyFile(path.join(backup, DATABASE_FILE), file, constants.COPYFILE_EXCL);
  await fs.chmod(file, 0o600);
  // Patients erased since the copy was taken must not be served from it: the ledger's erasures and
  // the vouched journal's are shredded in the private copy before it serves anything.
  const store = new SqliteVaultStore(file);
  let shredded = 0;
  try {
    const signer = await provider.auditSigner();
    const origin = originOf(signer.publicKey);
    const { vouched } = await vouchedJournal(
      store,
      new DirectoryWitness(config.audit.witnessDir, origin),
      v.audit_size ?? 0,
      formatVerifierKey(origin, signer.publicKey),
    );
    for (const e of await erasuresToReapply(new ErasureLedger(config.backup.erasureLedger), vouched))
      if (await store.erasePatient(e.tenant, e.patient, e.at, () => [])) shredded++;
  } finally {
    await store.close();
  }
  return {
    shredded,
    id: v.id,
    dir,
    config: Object.freeze({
      ...config,
      database: { kind: 'sqlite' as const, file },
      audit: { ...config.audit, witnessDir: path.join(dir, 'witness'), journal: false },
      // A degraded server takes no backups of its own copy.
      backup: { ...config.backup, intervalSeconds: 0 },
    }),
  };
}

import type { Command } from 'commander';
import type { Config } from '../../config.js';
import type { KeyProvider } from '../../ports/key-provider.js';
import { listBackups } from '../../backup/backup-list.js';
import { verifyBackup } from '../../backup/backup-verifier.js';
import { restoreBackup } from '../../backup/restore.js';
import { openKeyProvider, openVault } from '../../compose.js';
import { DirectoryWitness } from '../../witness/directory-witness.js';
import { cliContext, configFrom, printJson, setProblem, withVault } from '../cli-context.js';

/**
 * `labvault backup create|list|verify` and `labvault restore`. Verify and restore open only the
 * key provider, never the vault: after ransomware the data dir's database may be garbage.
 */
export function registerBackup(program: Command): void {
  const backup = program.command('backup').description('verified, signed, read-only backup copies');
  backup
    .command('create')
    .description('a consistent online snapshot (ciphertext only), its own canaries and a signed manifest')
    .option('--to <dir>', 'backup root (default LABVAULT_BACKUP_DIR)')
    .option('--second <dir>', 'also copy it to this second root (default LABVAULT_BACKUP_SECOND_DIR)')
    .option('--json', 'print JSON')
    .action(async (opts: { to?: string; second?: string; json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        const r = await vault.backups.create(cliContext(cmd), {
          ...(opts.to ? { to: opts.to } : {}),
          ...(opts.second ? { second: opts.second } : {}),
        });
        if (opts.json) printJson(r);
        else
          process.stdout.write(
            `backup ${r.id}: ${r.path} (${(r.bytes / 1e6).toFixed(1)} MB, audit size ${r.audit_size}, ${r.canaries} canaries) in ${r.seconds.toFixed(2)} s${r.second_path ? `; second copy ${r.second_path}` : ''}\n`,
          );
      });
    });
  backup
    .command('list')
    .description('backup copies under the backup root, newest first (manifests only; verify proves a copy)')
    .option('--dir <dir>', 'backup root (default LABVAULT_BACKUP_DIR)')
    .option('--json', 'print JSON')
    .action(async (opts: { dir?: string; json?: boolean }, cmd: Command) => {
      const list = await listBackups(opts.dir ?? configFrom(cmd).backup.dir);
      if (opts.json) printJson(list);
      else
        for (const b of list)
          process.stdout.write(`${b.created_at} ${b.id} audit=${b.audit_size} ${(b.bytes / 1e6).toFixed(1)} MB ${b.path}\n`);
    });
  backup
    .command('verify')
    .description('signature, hashes, trial restore, audit log up to the manifest, sample decryption')
    .argument('<path>', 'a backup copy directory')
    .option('--json', 'print JSON')
    .action(async (dir: string, opts: { json?: boolean }, cmd: Command) => {
      await withProvider(cmd, async (config, provider) => {
        const r = await verifyBackup(dir, {
          provider,
          witnessFor: (o) => new DirectoryWitness(config.audit.witnessDir, o),
          postgresUrl: config.database.kind === 'postgres' ? config.database.url : null,
        });
        if (opts.json) printJson(r);
        else
          process.stdout.write(
            r.ok
              ? `backup ${r.id ?? ''} verifies (${r.sample_decrypted} patients decrypted, ${r.seconds.toFixed(2)} s)\n`
              : `backup does not verify: ${r.reason ?? ''}\n`,
          );
        if (!r.ok) setProblem();
      });
    });
  program
    .command('restore')
    .description('restore a verified backup into the data dir (or a fresh PostgreSQL database); lists the writes made after it')
    .argument('<path>', 'a backup copy directory')
    .option('--json', 'print JSON')
    .action(async (dir: string, opts: { json?: boolean }, cmd: Command) => {
      await withProvider(cmd, async (config, provider) => {
        const r = await restoreBackup(dir, { config, provider, openVault: (c) => openVault(c), ctx: cliContext(cmd) });
        if (opts.json) printJson(r);
        else {
          process.stdout.write(
            `restored backup ${r.id} in ${r.seconds.toFixed(2)} s: audit log ${r.backup_audit_size} → ${r.audit_size} events (${r.events_after_backup} after the backup, from the witness journal); ${r.erasures_reapplied} erasures re-applied; audit verifies: ${r.verified}\n`,
          );
          process.stdout.write(`${r.lost_writes.length} writes after the backup to enter again:\n`);
          for (const w of r.lost_writes)
            process.stdout.write(
              `  #${w.seq} ${w.time} ${w.action} ${w.tenant ?? '-'} ${w.records} records, request ${w.request_id ?? '-'}, by ${w.principal}\n`,
            );
          if (r.unjournaled_events > 0)
            process.stdout.write(
              `${r.unjournaled_events} witnessed events are not in the journal: lost without a list, audit verify will name the gap\n`,
            );
          if (r.unverified_journal_events > 0)
            process.stdout.write(
              `${r.unverified_journal_events} journal events no witnessed checkpoint vouches for were not replayed (set aside in the witness directory)\n`,
            );
          if (r.quarantine) process.stdout.write(`replaced files kept in ${r.quarantine}\n`);
        }
        if (!r.verified) setProblem();
      });
    });
}

/** The key provider alone, always closed: verify and restore must not open the (maybe ransomed) vault. */
async function withProvider(cmd: Command, fn: (config: Readonly<Config>, provider: KeyProvider) => Promise<void>): Promise<void> {
  const config = configFrom(cmd);
  const provider = await openKeyProvider(config, false);
  try {
    await fn(config, provider);
  } finally {
    await provider.close();
  }
}

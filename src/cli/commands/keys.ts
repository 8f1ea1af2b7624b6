import path from 'node:path';
import type { Command } from 'commander';
import { ConfigurationError } from '../../domain/errors.js';
import { hsmBackupListing } from '../../keys/hsm-backup-listing.js';
import { exportKeyring, importKeyring } from '../../keys/keyring-recovery.js';
import { writeRecoveryKeyPair } from '../../keys/recovery-key.js';
import { cliContext, configFrom, printJson, withVault } from '../cli-context.js';

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('key hierarchy: status, rotation, keyring backup and recovery');
  keys
    .command('status')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        const status = await vault.keyAdmin.status(cliContext(cmd));
        if (opts.json) {
          printJson({ key_provider: vault.provider.kind, master_key_id: vault.provider.masterKeyId, tenants: status });
          return;
        }
        process.stdout.write(`key provider ${vault.provider.kind} (${vault.provider.masterKeyId})\n`);
        for (const t of status) {
          const v = t.versions.map((x) => `v${x.version} ${x.state} (${x.patients} patients)`).join(', ');
          process.stdout.write(`${t.tenant}: ${v}\n`);
        }
      });
    });
  keys
    .command('rotate')
    .description('new KEK version for a tenant; rewraps DEKs online, data is not re-encrypted')
    .requiredOption('--tenant <id>', 'tenant id')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant: string; json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        const r = await vault.keyAdmin.rotate(cliContext(cmd), opts.tenant);
        if (opts.json) printJson(r);
        else
          process.stdout.write(
            `${r.tenant}: KEK v${r.to} active, ${r.rewrapped} DEKs rewrapped, destroyed ${r.destroyed.map((v) => `v${v}`).join(', ') || 'none'} in ${r.seconds.toFixed(2)} s\n`,
          );
      });
    });
  registerRecovery(keys);
}

/**
 * `keys recovery-keygen`, `keys export`, `keys import` (CLI.md "Backup and recovery"). Key
 * material only ever moves between files named by path: never on stdout, in a message or in an
 * argument. None of them opens the vault: after ransomware the database may be garbage, and the
 * keyring is what has to come back first.
 */
function registerRecovery(keys: Command): void {
  keys
    .command('recovery-keygen')
    .description('generate an X25519 recovery key pair (JWKs) for keys export; keep the private file offline')
    .requiredOption('--out-private <file>', 'new file for the private JWK (mode 0600, never overwritten)')
    .requiredOption('--out-public <file>', 'new file for the public JWK (never overwritten)')
    .option('--json', 'print JSON')
    .action(async (opts: { outPrivate: string; outPublic: string; json?: boolean }) => {
      const priv = path.resolve(opts.outPrivate);
      const pub = path.resolve(opts.outPublic);
      const { kid } = await writeRecoveryKeyPair(priv, pub);
      if (opts.json) printJson({ private: priv, public: pub, kid });
      else process.stdout.write(`recovery key ${kid}: private half in ${priv} (move it offline), public half in ${pub}\n`);
    });
  keys
    .command('export')
    .description('wrap the local keyring for an offline recovery key (JWE); with pkcs11, list the HSM objects to back up')
    .option('--recovery-key <file>', 'public JWK (X25519 or P-256) of the offline recovery key')
    .option('--out <file>', 'new file for the wrapped keyring (mode 0600, never overwritten)')
    .option('--json', 'print JSON')
    .action(async (opts: { recoveryKey?: string; out?: string; json?: boolean }, cmd: Command) => {
      const config = configFrom(cmd);
      if (config.keyProvider === 'pkcs11') {
        // The token's keys are non-extractable by design: say what to back up by HSM means, write nothing.
        const listing = hsmBackupListing(config.pkcs11);
        if (opts.json) {
          printJson(listing);
          return;
        }
        process.stdout.write(
          [
            `key provider pkcs11: the keys cannot leave the token${opts.out === undefined ? '' : `; nothing written to ${opts.out}`}.`,
            `Back up these objects of token "${listing.token_label}" by the HSM's own means (backup, token clone):`,
            `  ${listing.master_key_label}\tAES-256 secret key: master key`,
            `  ${listing.audit_key_label}\tEd25519 key pair: audit checkpoint signing`,
            `  ${listing.token_signing_key_label}\tEd25519 key pair: API token signing`,
            '',
          ].join('\n'),
        );
        return;
      }
      if (opts.recoveryKey === undefined || opts.out === undefined) {
        throw new ConfigurationError('keys export needs --recovery-key PUBKEY and --out FILE');
      }
      const r = await exportKeyring({ dataDir: config.dataDir, recoveryKeyFile: opts.recoveryKey, out: path.resolve(opts.out) });
      if (opts.json) printJson(r);
      else
        process.stdout.write(
          `keyring ${r.master_key_id} wrapped for the recovery key into ${r.out} (${r.bytes} bytes); store it apart from the vault's backups\n`,
        );
    });
  keys
    .command('import')
    .description('restore the local keyring from a keys export with the recovery private key; does not open the vault')
    .argument('<file>', 'the export (JWE) written by keys export')
    .requiredOption('--recovery-key-private <file>', 'private JWK of the recovery key')
    .option('--force', 'replace a different valid keyring (it is kept as keyring.json.replaced-<time>)')
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { recoveryKeyPrivate: string; force?: boolean; json?: boolean }, cmd: Command) => {
      const config = configFrom(cmd);
      if (config.keyProvider === 'pkcs11') {
        throw new ConfigurationError('keys import restores a local keyring; with --key-provider pkcs11, restore the token by HSM means');
      }
      const r = await importKeyring({
        dataDir: config.dataDir,
        file,
        recoveryPrivateKeyFile: opts.recoveryKeyPrivate,
        force: opts.force === true,
      });
      if (opts.json) {
        printJson(r);
        return;
      }
      const what =
        r.replaced === 'identical'
          ? 'already present (identical), nothing written'
          : `installed${r.moved_aside === null ? '' : `; the previous ${r.replaced === 'corrupt' ? 'unreadable ' : ''}file is kept as ${r.moved_aside}`}`;
      process.stdout.write(`keyring ${r.master_key_id} in ${r.data_dir}: ${what}\n`);
    });
}

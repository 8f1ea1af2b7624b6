import type { Command } from 'commander';
import { printJson, withVault } from '../cli-context.js';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create the data dir, master key (keyring or HSM) and schema; idempotent')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withVault(
        cmd,
        async (vault) => {
          const out = {
            dataDir: vault.config.dataDir,
            backend: vault.store.backend,
            keyProvider: vault.provider.kind,
            masterKeyId: vault.provider.masterKeyId,
            tenants: (await vault.store.listTenants()).length,
          };
          if (opts.json) printJson(out);
          else process.stdout.write(`vault ready in ${out.dataDir} (${out.backend}, ${out.keyProvider} keys, ${out.tenants} tenants)\n`);
        },
        { create: true },
      );
    });
}

import type { Command } from 'commander';
import { cliContext, printJson, withVault } from '../cli-context.js';

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('key hierarchy: status and rotation');
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
}

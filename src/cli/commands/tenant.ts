import type { Command } from 'commander';
import { readTenantsFile } from '../../services/tenant-import.js';
import { cliContext, printJson, withVault } from '../cli-context.js';

export function registerTenant(program: Command): void {
  const tenant = program.command('tenant').description('data controllers the lab works for');
  tenant
    .command('import')
    .argument('<file>', 'tenants.json (array of tenants)')
    .option('--json', 'print JSON')
    .description('register or update tenants and create their keys')
    .action(async (file: string, opts: { json?: boolean }, cmd: Command) => {
      const tenants = await readTenantsFile(file);
      await withVault(cmd, async (vault) => {
        await vault.ingest.importTenants(cliContext(cmd), tenants);
        if (opts.json) printJson({ imported: tenants.map((t) => t.id) });
        else process.stdout.write(`imported ${tenants.length} tenants\n`);
      });
    });
  tenant
    .command('list')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        const tenants = await vault.store.listTenants();
        if (opts.json) printJson({ tenants });
        else for (const t of tenants) process.stdout.write(`${t.id}\t${t.kind}\t${t.labRole}\t${t.jurisdiction}\t${t.name}\n`);
      });
    });
}

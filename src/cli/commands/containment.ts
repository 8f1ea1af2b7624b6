import type { Command } from 'commander';
import { AccessDenied, NotFound } from '../../domain/errors.js';
import type { AccessContext } from '../../domain/principal.js';
import { cliContext, printJson, withVault } from '../cli-context.js';
import { positiveInt } from '../parse-options.js';

/**
 * `labvault containment …` and `labvault canary …`: what detection did and how a security officer
 * undoes it (CLI.md "Detection"). The incident register is `labvault incident …` (incident.ts).
 */
export function registerContainment(program: Command): void {
  const containment = program.command('containment').description('containments made by detection: list, release');
  containment
    .command('list')
    .description('containments, newest first')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        const rows = await vault.store.listContainments();
        if (opts.json) printJson({ containments: rows });
        else
          for (const c of rows)
            process.stdout.write(
              `${c.id} ${c.state} ${c.principalId} rule=${c.rule} incident=${c.incidentId} origin=${c.originIp ?? '-'} frozen=${c.frozenTenants.join(',') || '-'} approvals=${c.approvalsRequired} at=${c.createdAt}\n`,
            );
      });
    });
  containment
    .command('release')
    .description("one security officer's approval to release a containment (two different officers after a canary)")
    .requiredOption('--id <id>', 'containment id')
    .requiredOption('--officer <principal>', 'id of the security officer approving (a principal with that role)')
    .requiredOption('--reason <text>', 'why releasing is safe (recorded in the audit log)')
    .option('--json', 'print JSON')
    .action(async (opts: { id: string; officer: string; reason: string; json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        const officer = await vault.store.getPrincipal(opts.officer);
        if (!officer) throw new NotFound('no such officer principal');
        if (officer.status !== 'active') throw new AccessDenied('the officer principal is suspended');
        const base = cliContext(cmd);
        // The officer is the actor; the operator's account and request id stay in the origin.
        const ctx: AccessContext = { ...base, principal: { id: officer.id, role: officer.role, tenants: officer.tenants } };
        const r = await vault.containment.release(ctx, opts.id, opts.reason);
        if (opts.json)
          printJson({
            id: r.containment.id,
            state: r.containment.state,
            approvals: r.approvals,
            required: r.containment.approvalsRequired,
          });
        else
          process.stdout.write(
            r.released
              ? `${r.containment.id} released (${r.approvals}/${r.containment.approvalsRequired} approvals)\n`
              : `${r.containment.id} approval recorded (${r.approvals}/${r.containment.approvalsRequired}); another officer must approve\n`,
          );
      });
    });

  const canary = program.command('canary').description('canary patients: plant per tenant, list sets (never which patients)');
  canary
    .command('plant')
    .description('plant canary patients with orders and results into a tenant')
    .requiredOption('--tenant <t>', 'tenant id')
    .option('--count <n>', 'canary patients (default: detection config canaries.perTenant)', positiveInt)
    .option('--json', 'print JSON')
    .action(async (opts: { tenant: string; count?: number; json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        const set = await vault.canaries.plantTenant(cliContext(cmd), opts.tenant, opts.count ?? vault.config.detection.canaries.perTenant);
        if (opts.json) printJson(set);
        else process.stdout.write(`planted ${set.patients} canary patients in ${set.tenantId} (set ${set.id})\n`);
      });
    });
  canary
    .command('list')
    .description('canary sets: tenant, copy (tenant, export or backup) and size')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        const sets = await vault.canaries.list();
        if (opts.json) printJson({ sets });
        else
          for (const s of sets)
            process.stdout.write(
              `${s.id} ${s.tenantId} ${s.copyKind}${s.copyId ? `:${s.copyId}` : ''} patients=${s.patients} at=${s.createdAt}\n`,
            );
      });
    });
}

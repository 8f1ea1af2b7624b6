import type { Command } from 'commander';
import { ClinicalTypes, isClinicalType } from '../../domain/resource-type.js';
import { ConfigurationError } from '../../domain/errors.js';
import { cliContext, printJson, withVault } from '../cli-context.js';

export function registerPatient(program: Command): void {
  const patient = program.command('patient').description('one patient, by pseudonymous id');
  patient
    .command('erase')
    .description('crypto-shred one patient: destroys its DEK in the store (rotate the tenant KEK afterwards to cover older copies)')
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--id <id>', 'pseudonymous patient id (FHIR Patient.id)')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant: string; id: string; json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        await vault.keyAdmin.erasePatient(cliContext(cmd), opts.tenant, opts.id);
        if (opts.json) printJson({ erased: true, tenant: opts.tenant, id: opts.id });
        else process.stdout.write(`patient ${opts.id} of ${opts.tenant} crypto-shredded\n`);
      });
    });
  patient
    .command('show')
    .description('decrypt and print one patient and its records as FHIR JSON')
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--id <id>', 'pseudonymous patient id (FHIR Patient.id)')
    .option('--type <type>', 'only records of this type')
    .action(async (opts: { tenant: string; id: string; type?: string }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        if (opts.type !== undefined && !isClinicalType(opts.type)) {
          throw new ConfigurationError(`bad --type: expected one of ${ClinicalTypes.join(', ')}`);
        }
        const type = opts.type;
        const ctx = cliContext(cmd);
        const patient = await vault.reader.patient(ctx, opts.tenant, opts.id);
        const records = await vault.reader.resourcesOfPatient(ctx, opts.tenant, opts.id, type);
        printJson({ patient, records });
      });
    });
}

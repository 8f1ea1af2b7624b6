#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { VaultError } from '../domain/errors.js';
import { registerAudit } from './commands/audit.js';
import { registerBackup } from './commands/backup.js';
import { registerBench } from './commands/bench.js';
import { registerContainment } from './commands/containment.js';
import { registerIncident } from './commands/incident.js';
import { registerLeak } from './commands/leak.js';
import { registerDrill } from './commands/drill.js';
import { registerIngest } from './commands/ingest.js';
import { registerInit } from './commands/init.js';
import { registerKeys } from './commands/keys.js';
import { registerPatient } from './commands/patient.js';
import { registerPrincipal } from './commands/principal.js';
import { registerServe } from './commands/serve.js';
import { registerQuickstart } from './commands/quickstart.js';
import { registerSynth } from './commands/synth.js';
import { registerTenant } from './commands/tenant.js';

/**
 * The `labvault` binary. Exit codes (CLI.md): 0 success; 1 the work ran but found a problem;
 * 2 usage or configuration error. Errors are one line on stderr; a stack only with --debug.
 */
// Everything labvault writes (SQLite files, WAL, keyring, reports) is for the owner only.
process.umask(0o077);

const program = new Command('labvault')
  .description('breach-resilient vault for clinical laboratory data')
  .option('--data-dir <dir>', 'data directory (env LABVAULT_DATA_DIR, default ./.labvault)')
  .option('--database-url <url>', 'postgres://… for PostgreSQL (env LABVAULT_DATABASE_URL)')
  .option('--key-provider <kind>', 'local | pkcs11 (env LABVAULT_KEY_PROVIDER)')
  .option('--witness-dir <dir>', 'audit checkpoint copies (env LABVAULT_AUDIT_WITNESS_DIR, default <data dir>/witness)')
  .option('--purpose <code>', 'HL7 PurposeOfUse recorded in the audit log (default HOPERAT)')
  .option('--debug', 'print stack traces on errors')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

registerQuickstart(program);
registerInit(program);
registerTenant(program);
registerSynth(program);
registerIngest(program);
registerKeys(program);
registerPatient(program);
registerServe(program);
registerPrincipal(program);
registerAudit(program);
registerContainment(program);
registerIncident(program);
registerLeak(program);
registerBackup(program);
registerBench(program);
registerDrill(program);

const USAGE_CODES: ReadonlySet<string> = new Set(['configuration', 'key-unavailable']);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0 ? 0 : 2;
  } else {
    const debug = process.argv.includes('--debug');
    if (e instanceof VaultError) {
      process.stderr.write(`labvault: ${e.message}\n`);
      process.exitCode = USAGE_CODES.has(e.code) ? 2 : 1;
    } else {
      process.stderr.write('labvault: internal error (run with --debug for details)\n');
      process.exitCode = 1;
    }
    if (debug && e instanceof Error) process.stderr.write(`${e.stack ?? ''}\n`);
  }
}

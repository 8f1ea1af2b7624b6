import type { Command } from 'commander';
import { cliContext, printJson, withVault } from '../cli-context.js';
import { positiveInt } from '../parse-options.js';
import { byteProgressBar } from '../progress.js';

/**
 * `labvault leak scan PATH... [--incident ID] [--details FILE] [--json]` (CLI.md "Leak matching"):
 * which of the vault's patients are in a leaked dump, per controller, at disk speed.
 */
export function registerLeak(program: Command): void {
  const leak = program.command('leak').description('leak matching: find the vault’s patients in leaked files');
  leak
    .command('scan')
    .description('scan files and directories (CSV/TSV, JSON/NDJSON, SQL dumps, XML, HL7 v2, text; gzip and zip) for the vault’s patients')
    .argument('<paths...>', 'files or directories')
    .option('--incident <id>', 'record the matches as this incident’s in-leaked-data cohort')
    .option('--details <file>', 'one JSON line per matched patient and location (pseudonymous ids; a new file, mode 0600)')
    .option('--workers <n>', 'worker threads (default: one per core)', positiveInt)
    .option('--json', 'print JSON')
    .action(async (paths: string[], opts: { incident?: string; details?: string; workers?: number; json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        const bar = byteProgressBar();
        let r;
        try {
          r = await vault.leaks.scan(cliContext(cmd), paths, {
            ...(opts.incident ? { incident: opts.incident } : {}),
            ...(opts.details ? { details: opts.details } : {}),
            ...(opts.workers ? { workers: opts.workers } : {}),
            onProgress: (done, total) => bar.update(done, total),
          });
        } finally {
          bar.stop();
        }
        if (opts.json) printJson(r);
        else {
          const out = process.stdout;
          out.write(`${r.bytes} bytes in ${r.seconds} s (${r.gb_per_s} GB/s), ${r.files} files, ${r.candidates} candidates\n`);
          out.write(
            `matched ${r.matched.patients} patients: ${
              Object.entries(r.matched.by_tenant)
                .map(([t, n]) => `${t} ${n}`)
                .join(', ') || 'none'
            }\n`,
          );
          for (const c of r.canaries)
            out.write(`canary hit: ${c.tenant} set ${c.set} (${c.copy_kind}${c.copy_id ? ` ${c.copy_id}` : ''}): ${c.patients} canaries\n`);
          out.write(`valid BSNs not in the vault: ${r.unmatched_valid_bsn}\n`);
          for (const s of r.skipped) out.write(`skipped: ${s.file}: ${s.reason}\n`);
        }
      });
    });
}

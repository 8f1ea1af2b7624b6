import type { Command } from 'commander';
import { DEFAULT_BATCH_SIZE, type IngestResult } from '../../services/ingest-service.js';
import { positiveInt } from '../parse-options.js';
import { cliContext, printJson, setProblem, withVault } from '../cli-context.js';
import { progressBar } from '../progress.js';

export function registerIngest(program: Command): void {
  program
    .command('ingest')
    .description('ingest FHIR R4 NDJSON files, directories of them, or transaction Bundles')
    .argument('<paths...>', 'files or directories (a tenants.json inside is imported first)')
    .option('--batch-size <n>', 'records per transaction', positiveInt, DEFAULT_BATCH_SIZE)
    .option('--json', 'print JSON')
    .action(async (paths: string[], opts: { json?: boolean; batchSize: number }, cmd: Command) => {
      const result = await withVault(cmd, async (vault) => {
        const bar = progressBar();
        const r = await vault.ingest.ingest(cliContext(cmd), paths, {
          batchSize: opts.batchSize,
          onProgress: (p) => bar.update(p),
        });
        bar.stop();
        return r;
      });
      if (opts.json) printJson(toJson(result));
      else printHuman(result);
      if (result.rejected > 0) setProblem();
    });
}

export function toJson(r: IngestResult): Record<string, unknown> {
  return {
    ingested: r.ingested,
    unchanged: r.unchanged,
    rejected: r.rejected,
    errors: r.errors,
    errors_truncated: r.errorsTruncated,
    tenants_imported: r.tenantsImported,
    seconds: round(r.seconds),
  };
}

function printHuman(r: IngestResult): void {
  const total = Object.values(r.ingested).reduce((a, b) => a + b, 0);
  const parts = Object.entries(r.ingested)
    .filter(([, n]) => n > 0)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  process.stdout.write(
    `ingested ${total} resources (${parts || 'none'}), ${r.unchanged} unchanged, ${r.rejected} rejected in ${round(r.seconds)} s\n`,
  );
  for (const e of r.errors) process.stderr.write(`${e.file}:${e.line}: ${e.reason}\n`);
  if (r.errorsTruncated) process.stderr.write(`… more errors not shown (${r.rejected} rejected in all)\n`);
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

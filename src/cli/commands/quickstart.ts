import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { cliContext, printJson, setProblem, withVault } from '../cli-context.js';
import { positiveInt } from '../parse-options.js';
import { progressBar } from '../progress.js';
import { toJson } from './ingest.js';

/**
 * The README's main job on a fresh machine: create the vault, generate a synthetic lab, ingest it
 * and print a summary. Safe to re-run: init and ingest are idempotent.
 */
export function registerQuickstart(program: Command): void {
  program
    .command('quickstart')
    .description('init a vault, generate a synthetic lab, ingest it and print a summary')
    .option('--patients <n>', 'persons in the synthetic lab', positiveInt, 2000)
    .option('--json', 'print JSON')
    .action(async (opts: { patients: number; json?: boolean }, cmd: Command) => {
      await withVault(
        cmd,
        async (vault) => {
          // The synthetic source files are plaintext: keep them out of the data dir and delete them after ingest.
          const work = await mkdtemp(path.join(os.tmpdir(), 'labvault-synth-'));
          const labDir = path.join(work, 'lab');
          let synth;
          let r;
          try {
            const { generateSyntheticLab } = await import('../../synth/generator.js');
            synth = await generateSyntheticLab({ patients: opts.patients, seed: 1, outDir: labDir });
            const bar = progressBar();
            r = await vault.ingest.ingest(cliContext(cmd), [labDir], { onProgress: (p) => bar.update(p) });
            bar.stop();
          } finally {
            await rm(work, { recursive: true, force: true });
          }
          const counts = await vault.store.countResources();
          const cp = await vault.audit.checkpoint();
          const audit = { events: cp?.size ?? 0, checkpoint_root: cp?.root.toString('hex') ?? null, witness: vault.audit.witness.location };
          if (opts.json) {
            printJson({
              data_dir: vault.config.dataDir,
              backend: vault.store.backend,
              synthetic: synth,
              ingest: toJson(r),
              stored: counts,
              audit,
            });
          } else {
            const out = process.stdout;
            out.write(`labvault quickstart — vault in ${vault.config.dataDir} (${vault.store.backend}, ${vault.provider.kind} keys)\n`);
            out.write(`synthetic lab: ${synth.patients} persons, ${synth.resources} FHIR resources (seed 1; source files deleted)\n`);
            const total = Object.values(r.ingested).reduce((a, b) => a + b, 0);
            out.write(`ingested ${total} new, ${r.unchanged} unchanged, ${r.rejected} rejected in ${r.seconds.toFixed(2)} s\n\n`);
            out.write('stored (encrypted per tenant and patient):\n');
            for (const c of counts) out.write(`  ${c.tenantId.padEnd(16)} ${c.type.padEnd(18)} ${c.count}\n`);
            out.write(`\naudit log: ${audit.events} events, signed checkpoint copied to ${audit.witness}\n`);
            out.write(
              `\nnext: labvault keys status · labvault audit verify · labvault patient show --tenant screening --id <Patient.id>\n`,
            );
          }
          if (r.rejected > 0) setProblem();
        },
        { create: true },
      );
    });
}

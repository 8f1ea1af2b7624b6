import type { Command } from 'commander';
import { printJson } from '../cli-context.js';
import { nonNegativeInt, positiveInt } from '../parse-options.js';

export function registerSynth(program: Command): void {
  program
    .command('synth')
    .description('generate a deterministic synthetic Dutch lab as FHIR R4 NDJSON')
    .requiredOption('--patients <n>', 'number of persons', positiveInt)
    .option('--seed <s>', 'seed', nonNegativeInt, 1)
    .requiredOption('--out <dir>', 'output directory')
    .option('--json', 'print JSON')
    .action(async (opts: { patients: number; seed: number; out: string; json?: boolean }) => {
      // Loaded on use: faker's locale data costs ~0.3 s of start-up every other command should not pay.
      const { generateSyntheticLab } = await import('../../synth/generator.js');
      const summary = await generateSyntheticLab({ patients: opts.patients, seed: opts.seed, outDir: opts.out });
      if (opts.json) printJson(summary);
      else process.stdout.write(`wrote ${summary.resources} resources for ${summary.patients} persons to ${opts.out}\n`);
    });
}

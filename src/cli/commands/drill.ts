import type { Command } from 'commander';
import { printJson, setProblem } from '../cli-context.js';
import { positiveInt } from '../parse-options.js';

export function registerDrill(program: Command): void {
  const drill = program.command('drill').description('attack drills against a temporary vault and a real server on loopback');
  drill
    .command('exfiltration')
    .description('legitimate traffic plus attackers with stolen credentials, against detection in enforce mode')
    .requiredOption('--patients <n>', 'persons in the synthetic lab', positiveInt)
    .option('--window-seconds <s>', 'detection baseline window; the run lasts 3 windows', positiveInt, 300)
    .option('--json', 'print JSON')
    .action(async (opts: { patients: number; windowSeconds: number; json?: boolean }) => {
      const { drillExfiltration } = await import('../../drill/exfiltration/drill.js');
      const r = await drillExfiltration({
        patients: opts.patients,
        windowSeconds: opts.windowSeconds,
        log: (s) => process.stderr.write(`${s}\n`),
      });
      if (opts.json) printJson(r);
      else {
        const out = process.stdout;
        for (const a of r.attacks) {
          const when = a.seconds_to_containment === null ? 'never refused' : `refused after ${a.seconds_to_containment} s`;
          out.write(
            `${a.name.padEnd(18)} ${a.contained ? 'contained' : 'NOT CONTAINED'} (${a.rule ?? 'no rule'}), ${when}, ${a.patients_exposed} patients exposed\n`,
          );
        }
        out.write(
          `legit: ${r.legit.requests} requests, success rate ${r.legit.success_rate}, ${r.legit.false_containments} false containments; audit ${r.audit_verified ? 'verified' : 'NOT verified'}\n`,
        );
        for (const p of r.problems) out.write(`problem: ${p}\n`);
      }
      if (r.problems.length > 0) setProblem();
    });
}

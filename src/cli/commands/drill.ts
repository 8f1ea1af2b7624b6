import type { Command } from 'commander';
import { InvalidInput } from '../../domain/errors.js';
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
  drill
    .command('clinical-diagnostics')
    .description(
      'the seed scenario: a stolen support credential over the real API, containment, incident, scope, obligations, every notice and the letters',
    )
    .requiredOption('--patients <n>', 'persons in the synthetic lab', positiveInt)
    .option('--out <dir>', 'directory for the artifacts (default: a new one under the temp directory)')
    .option('--detection <mode>', 'enforce (contain inline) or off (nobody notices until the attack ends)', 'enforce')
    .option('--attack-seconds <s>', 'how long the thief may copy at most', positiveInt, 60)
    .option('--json', 'print JSON')
    .action(async (opts: { patients: number; out?: string; detection: string; attackSeconds: number; json?: boolean }) => {
      if (opts.detection !== 'enforce' && opts.detection !== 'off') throw new InvalidInput('--detection: enforce or off');
      const { drillClinicalDiagnostics } = await import('../../drill/clinical-diagnostics/drill.js');
      const r = await drillClinicalDiagnostics({
        patients: opts.patients,
        ...(opts.out ? { outDir: opts.out } : {}),
        detection: opts.detection,
        attackSeconds: opts.attackSeconds,
        log: (s) => process.stderr.write(`${s}\n`),
      });
      if (opts.json) printJson(r);
      else {
        const t = r.timings;
        process.stdout.write(
          `${r.patients_exposed} patients exposed (${r.attack.contained ? `contained after ${t.contain_s} s` : 'not contained'}); ` +
            `after awareness: scope ${t.scope_s} s, packages ${t.packages_s} s, letters ${t.letters_s} s (${r.letters.count} letters, ${r.letters.per_s}/s); ` +
            `real case: controller after 31 days, letters after 2–6 weeks\nartifacts: ${r.artifacts_dir}\n`,
        );
        for (const p of r.problems) process.stdout.write(`problem: ${p}\n`);
      }
      if (r.problems.length > 0) setProblem();
    });
  drill
    .command('ransomware')
    .description(
      'scheduled backups and new results over the real API, then the data dir encrypted in place: detection, degraded read-only service, restore, service back',
    )
    .requiredOption('--patients <n>', 'persons in the synthetic lab', positiveInt)
    .option('--backup-interval <s>', 'seconds between the server’s scheduled backups', positiveInt, 30)
    .option('--writes-per-second <n>', 'new results per second while the lab runs', positiveInt, 20)
    .option('--urgent-reads <n>', 'urgent result reads sent to the degraded server', positiveInt, 200)
    .option('--json', 'print JSON')
    .action(async (opts: { patients: number; backupInterval: number; writesPerSecond: number; urgentReads: number; json?: boolean }) => {
      const { drillRansomware } = await import('../../drill/ransomware/drill.js');
      const r = await drillRansomware({
        patients: opts.patients,
        backupIntervalSeconds: opts.backupInterval,
        writesPerSecond: opts.writesPerSecond,
        urgentReads: opts.urgentReads,
        log: (s) => process.stderr.write(`${s}\n`),
      });
      if (opts.json) printJson(r);
      else {
        process.stdout.write(
          `detected after ${r.detect_s} s; degraded service answered ${r.degraded.served} of ${r.degraded.urgent_reads} urgent reads; ` +
            `restore ${r.restore_s} s; service back after ${r.rto_s} s; writes lost ${r.writes_lost}, listed ${r.writes_lost_listed}; audit verifies: ${r.verified}\n`,
        );
        for (const p of r.problems) process.stdout.write(`problem: ${p}\n`);
      }
      if (r.problems.length > 0) setProblem();
    });
}

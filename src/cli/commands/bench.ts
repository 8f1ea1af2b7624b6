import type { Command } from 'commander';
import { DEFAULT_BATCH_SIZE } from '../../services/ingest-service.js';
import { configFrom, printJson } from '../cli-context.js';
import { positiveInt, positiveNumber } from '../parse-options.js';

export function registerBench(program: Command): void {
  const bench = program.command('bench').description('benchmarks with their baseline measured in the same run');
  bench
    .command('ingest')
    .description('ingest a synthetic lab into a fresh vault and, as baseline, as plain JSON rows in the same database')
    .option('--patients <n>', 'persons in the synthetic lab', positiveInt, 100_000)
    .option('--batch-size <n>', 'records per transaction', positiveInt, DEFAULT_BATCH_SIZE)
    .option('--json', 'print JSON')
    .action(async (opts: { patients: number; batchSize: number; json?: boolean }, cmd: Command) => {
      const config = configFrom(cmd);
      const { benchIngest } = await import('../../bench/ingest-bench.js');
      const r = await benchIngest({
        patients: opts.patients,
        batchSize: opts.batchSize,
        databaseUrl: config.database.kind === 'postgres' ? config.database.url : undefined,
        log: (s) => process.stderr.write(`${s}\n`),
      });
      if (opts.json) printJson(r);
      else {
        process.stdout.write(
          `${r.backend}: ${r.resources} resources in ${r.seconds} s = ${r.resources_per_s}/s; baseline ${r.baseline_resources_per_s}/s; overhead ratio ${r.overhead_ratio}; peak RSS ${r.peak_rss_mb} MB\n`,
        );
      }
    });
  bench
    .command('audit')
    .description('audit log: batched append with checkpoints every second vs a plain insert of the same bytes; verify; inclusion proofs')
    .option('--events <n>', 'events to append', positiveInt, 1_000_000)
    .option('--batch <n>', 'events per transaction', positiveInt, 1000)
    .option('--json', 'print JSON')
    .action(async (opts: { events: number; batch: number; json?: boolean }) => {
      const { benchAudit } = await import('../../bench/audit-bench.js');
      const r = await benchAudit({ events: opts.events, batch: opts.batch, log: (s) => process.stderr.write(`${s}\n`) });
      if (opts.json) printJson(r);
      else {
        process.stdout.write(
          `${r.events} events: append ${r.append_per_s}/s (plain insert ${r.baseline_insert_per_s}/s), verify ${r.verify_per_s}/s, inclusion proof ${r.proof_ms} ms, ${r.checkpoints} checkpoints\n`,
        );
      }
    });
  bench
    .command('scope')
    .description(
      'incident scoping over a large audit log with a planted attack: by principal and window, window, origin (a full scan), principal; each checked; raw scans as baseline',
    )
    .option('--events <n>', 'events in the log', positiveInt, 1_000_000)
    .option('--attacker-events <n>', "the stolen account's reads among them, within two hours", positiveInt, 2000)
    .option('--batch <n>', 'events per transaction while building the log', positiveInt, 1000)
    .option('--json', 'print JSON')
    .action(async (opts: { events: number; attackerEvents: number; batch: number; json?: boolean }) => {
      const { benchScope } = await import('../../bench/scope-bench.js');
      const r = await benchScope({
        events: opts.events,
        attackerEvents: opts.attackerEvents,
        batch: opts.batch,
        log: (s) => process.stderr.write(`${s}\n`),
      });
      if (opts.json) printJson(r);
      else {
        const q = r.queries;
        const line = (k: keyof typeof q) =>
          `${k} ${q[k].seconds} s (${q[k].events_read} read, ${q[k].patients} patients, ${q[k].exact ? 'exact' : 'NOT exact'})`;
        process.stdout.write(
          `${r.events} events: scope by ${line('principal')}, ${line('window')}, ${line('origin')}, ${line('principal_all')}; ` +
            `baseline: SQLite scan ${r.baseline.sqlite_scan_s} s, store pages ${r.baseline.pages_s} s, decode all ~${r.baseline.decode_all_s} s\n`,
        );
      }
    });
  bench
    .command('letters')
    .description('patient letters for a whole synthetic lab through `incident letters` (sealed bundles), with pdfkit layout as baseline')
    .option('--patients <n>', 'persons in the synthetic lab', positiveInt, 100_000)
    .option('--json', 'print JSON')
    .action(async (opts: { patients: number; json?: boolean }) => {
      const { benchLetters } = await import('../../bench/letters-bench.js');
      const r = await benchLetters({ patients: opts.patients, log: (s) => process.stderr.write(`${s}\n`) });
      if (opts.json) printJson(r);
      else
        process.stdout.write(
          `${r.letters} letters in ${r.seconds} s = ${r.per_s}/s (sealed, ${r.bytes} bytes); layout alone ${r.render.per_s}/s, pdfkit ${r.baseline.per_s}/s (${r.speedup}×); peak RSS ${r.peak_rss_mb} MB\n`,
        );
    });
  bench
    .command('leak')
    .description(
      'leak scan over a synthetic mixed-format dump with planted patients, with grep -F -f over the same identifiers and files as baseline',
    )
    .option('--gb <n>', 'size of the dump in GB', positiveNumber, 1)
    .option('--patients <n>', 'persons in the synthetic lab', positiveInt, 100_000)
    .option('--json', 'print JSON')
    .action(async (opts: { gb: number; patients: number; json?: boolean }) => {
      const { benchLeak } = await import('../../bench/leak-bench.js');
      const r = await benchLeak({ gb: opts.gb, patients: opts.patients, log: (s) => process.stderr.write(`${s}\n`) });
      if (opts.json) printJson(r);
      else
        process.stdout.write(
          `${r.bytes} bytes in ${r.seconds} s = ${r.gb_per_s} GB/s; grep -F ${r.grep_gb_per_s} GB/s (${r.speedup}x); recall ${r.recall}, precision ${r.precision}; peak RSS ${r.peak_rss_mb} MB\n`,
        );
    });
  bench
    .command('backup')
    .description('backup create, verify and restore of a synthetic lab, with a plain synced copy of the database file as baseline')
    .option('--patients <n>', 'persons in the synthetic lab', positiveInt, 100_000)
    .option('--json', 'print JSON')
    .action(async (opts: { patients: number; json?: boolean }) => {
      const { benchBackup } = await import('../../bench/backup-bench.js');
      const r = await benchBackup({ patients: opts.patients, log: (s) => process.stderr.write(`${s}\n`) });
      if (opts.json) printJson(r);
      else
        process.stdout.write(
          `${r.patients} persons, ${r.db_mb} MB: backup ${r.backup_s} s (${r.backup_mb} MB), verify ${r.verify_s} s, restore ${r.restore_s} s (audit verifies: ${r.restored_verified}); plain copy ${r.baseline_copy_s} s; peak RSS ${r.peak_rss_mb} MB\n`,
        );
    });
  bench
    .command('api')
    .description(
      'authenticated, audited FHIR Patient reads against the real server (child process) over loopback, with GET /healthz as baseline',
    )
    .option('--seconds <s>', 'length of each measured run', positiveInt, 10)
    .option('--patients <n>', 'persons in the synthetic lab', positiveInt, 2000)
    .option('--connections <n>', 'concurrent connections of the maximum-throughput runs', positiveInt, 32)
    .option('--rate <n>', 'requests per second of the fixed-rate latency run', positiveInt, 500)
    .option(
      '--server-node-arg <arg>',
      'extra node argument for the server process, repeatable (profiling: --server-node-arg=--cpu-prof)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--json', 'print JSON')
    .action(
      async (opts: { seconds: number; patients: number; connections: number; rate: number; serverNodeArg: string[]; json?: boolean }) => {
        const { benchApi } = await import('../../bench/api-bench.js');
        const r = await benchApi({
          patients: opts.patients,
          seconds: opts.seconds,
          connections: opts.connections,
          rate: opts.rate,
          serverNodeArgs: opts.serverNodeArg,
          log: (s) => process.stderr.write(`${s}\n`),
        });
        if (opts.json) printJson(r);
        else {
          process.stdout.write(
            `${r.reads_per_s} reads/s (p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, ${r.errors} errors, ${r.connections} connections); ` +
              `at ${opts.rate}/s p50 ${r.rate_500_p50_ms} ms, p99 ${r.rate_500_p99_ms} ms; baseline /healthz ${r.baseline_healthz_per_s}/s; ` +
              `${r.audit_events_written} audit events for ${r.reads_answered} reads; ` +
              `detection (${r.detection_mode}) adds ${r.detection_p50_overhead_pct}% to the p50 at ${opts.rate}/s ` +
              `(${r.detection_off_rate_500_p50_ms} → ${r.rate_500_p50_ms} ms), costs ${r.detection_throughput_cost_pct}% of reads/s\n`,
          );
        }
      },
    );
}

import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { createAlertSinks } from '../../alerts/alert-sinks.js';
import { openKeyProvider, openVault } from '../../compose.js';
import { SqliteVaultStore } from '../../storage/sqlite/sqlite-vault-store.js';
import { newestVerifiedBackup } from '../../backup/backup-list.js';
import { scheduleBackups } from '../../backup/backup-schedule.js';
import { degradedConfig } from '../../backup/degraded-copy.js';
import { DirectoryWitness } from '../../witness/directory-witness.js';
import { ConfigurationError, IntegrityViolation, VaultError } from '../../domain/errors.js';
import { demoTokens, loadDemoLab } from '../../services/demo-lab.js';
import { describeFailure, IntegrityMonitor, type IntegrityResult } from '../../services/integrity-monitor.js';
import { errorCode } from '../../services/integrity-monitor-probe.js';
import { cliContext, configFrom } from '../cli-context.js';
import { positiveInt } from '../parse-options.js';

/**
 * `labvault serve`: the FHIR API on one host and port until SIGINT/SIGTERM, then a clean close
 * (final audit checkpoint, WAL folded). `--demo` creates the vault if needed, loads a synthetic
 * lab into an empty one and prints tokens for one principal per role.
 *
 * The store's integrity is checked in full before serving (a failure refuses to start, exit 1,
 * naming the check) and cheaply every LABVAULT_INTEGRITY_CHECK_MS while serving; after a failure
 * every FHIR and admin request answers 503 until the store is restored and the server restarted.
 * `--read-only` serves reads only (every write answers 503).
 */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the FHIR R4 API (base /fhir), /healthz, /metrics, /openapi.json')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'TCP port (0: any free port)', port, 8080)
    .option('--demo', 'load a synthetic lab into an empty vault and print demo tokens')
    .option('--demo-patients <n>', 'persons in the demo lab', positiveInt, 2000)
    .option('--read-only', 'serve reads only: every write answers 503 (degraded service)')
    .option('--from-backup <path>', 'with --read-only: serve a verified backup copy while the primary is isolated or restored')
    .action(
      async (
        opts: { host: string; port: number; demo?: boolean; demoPatients: number; readOnly?: boolean; fromBackup?: string },
        cmd: Command,
      ) => {
        if (opts.readOnly && opts.demo) throw new ConfigurationError('--read-only and --demo exclude each other: the demo writes a lab');
        if (opts.fromBackup && !opts.readOnly)
          throw new ConfigurationError('--from-backup needs --read-only: a backup copy is never written to');
        let config = configFrom(cmd);
        let readOnlyReason = 'started with --read-only';
        if (opts.fromBackup) {
          const provider = await openKeyProvider(config, false);
          try {
            const degraded = await degradedConfig(config, opts.fromBackup, provider);
            config = degraded.config;
            readOnlyReason = `degraded service from backup ${degraded.id} while the primary store is restored; writes resume after the restore`;
            process.stderr.write(
              `labvault: serving backup ${degraded.id} read-only from ${degraded.dir} (its reads are audited there; ${degraded.shredded} patients erased since the backup shredded in it)\n`,
            );
          } finally {
            await provider.close();
          }
        }
        const onError = (what: string, e: unknown): void => {
          process.stderr.write(`labvault: ${what}: ${e instanceof Error ? e.message : String(e)}\n`);
        };
        const before = await IntegrityMonitor.beforeOpen(config.database);
        if (!before.ok) {
          const sinks = createAlertSinks(config.alerts, { onError });
          await refuse(new IntegrityMonitor({ probes: [], alerts: sinks, onError }), before, () => sinks.close());
        }
        const vault = await openVault(config, { create: opts.demo === true, server: true }).catch((e: unknown) => {
          // Coded errors (no vault, no keyring, a bad setting) keep their message and exit code; an
          // engine error here is a store the checks above passed but that cannot be read.
          if (e instanceof VaultError) throw e;
          throw new IntegrityViolation(`refusing to serve: the store cannot be opened (${errorCode(e)})`, { cause: e });
        });
        // The vault keeps its alert sinks to itself; a second fanout over the same configuration
        // (and the same delivery counters) carries the integrity alert.
        const alerts = createAlertSinks(vault.config.alerts, { counters: vault.alertCounters, onError });
        let serving = false;
        const monitor = IntegrityMonitor.forVault(vault, {
          alerts,
          onError,
          // Named in the alert and /healthz: where the operator restores from.
          newestBackup: () =>
            newestVerifiedBackup(vault.config.backup.dir, {
              provider: vault.provider,
              witnessFor: (o) => new DirectoryWitness(vault.config.audit.witnessDir, o),
            }),
          onFailure: (f) => {
            // No more background WAL folds into a store that failed its check (they would write into
            // the damaged file); what the WAL holds stays for forensics.
            if (vault.store instanceof SqliteVaultStore) vault.store.stopBackgroundCheckpoints();
            if (serving) process.stderr.write(`labvault: ${describeFailure(f)}; answering 503 until it is restored\n`);
          },
        });
        const start = await monitor.fullCheck();
        if (!start.ok) {
          await refuse(monitor, start, async () => {
            await alerts.close();
            // Left as found: nothing is signed or folded into a store that failed its check.
            await vault.abandon().catch(() => undefined);
          });
        }
        let closing = false;
        // The HTTP stack (fastify, metrics) loads with `serve`, not with every other command.
        const { buildApp } = await import('../../api/app.js');
        const app = await buildApp(vault, {
          log: true,
          integrity: monitor,
          ...(opts.readOnly ? { readOnly: { reason: readOnlyReason } } : {}),
        });
        // Notice deadlines are reminded through the alert sinks; a failed pass is reported, retried next minute.
        const reminders = setInterval(() => {
          vault.reminders
            .tick()
            .catch((e: unknown) => process.stderr.write(`labvault: reminders: ${e instanceof Error ? e.message : String(e)}\n`));
        }, 60_000);
        reminders.unref();
        // Scheduled backups: a copy of a store that failed its check would be worthless, so none is taken then.
        const interval = opts.readOnly ? 0 : vault.config.backup.intervalSeconds;
        const backups =
          interval > 0 ? scheduleBackups(vault.backups, cliContext(cmd), interval, onError, () => monitor.failure === null) : null;
        const shutdown = async (): Promise<void> => {
          if (closing) return;
          closing = true;
          clearInterval(reminders);
          await backups?.stop();
          // First: its read-only connection must be gone before the store folds and removes the WAL.
          await monitor.close();
          try {
            await app.close();
          } finally {
            await alerts.close();
            // A store that failed its check is left as found: a final checkpoint would sign what
            // nobody can vouch for, and SQLite's WAL fold would write into the damaged file and
            // destroy frames forensics may need.
            if (monitor.failure === null) await vault.close();
            else await vault.abandon().catch((e: unknown) => onError('stop after the integrity failure', e));
          }
        };
        try {
          const ctx = cliContext(cmd);
          let tokens: Awaited<ReturnType<typeof demoTokens>> = [];
          if (opts.demo) {
            const loaded = await loadDemoLab(vault, ctx, opts.demoPatients);
            if (loaded > 0) process.stderr.write(`demo: loaded a synthetic lab of ${loaded} persons\n`);
            tokens = await demoTokens(vault, ctx, vault.config.api.tokenTtlSeconds);
          }
          monitor.start(vault.config.integrity.checkMs);
          serving = true;
          const address = await app.listen({ host: opts.host, port: opts.port });
          const out = process.stdout;
          out.write(`labvault serving ${vault.store.backend} vault ${vault.config.dataDir}${opts.readOnly ? ' (read-only)' : ''}\n`);
          out.write(`  FHIR base   ${address}/fhir   (CapabilityStatement: ${address}/fhir/metadata)\n`);
          out.write(`  health      ${address}/healthz   metrics ${address}/metrics   OpenAPI ${address}/openapi.json\n`);
          if (tokens.length > 0) {
            out.write('\ndemo tokens (bearer; valid 12 h; shown once):\n');
            for (const t of tokens) out.write(`  ${t.id.padEnd(17)} ${t.role.padEnd(18)} ${t.tenants.join(',').padEnd(14)} ${t.token}\n`);
            // Recent results only: the demo's canaries are dated before the recent-order window, and an
            // example that pages into one would contain the demo controller on its first try.
            const tenant = tokens.find((t) => t.id === 'demo-controller')?.tenants[0];
            const newest = tenant === undefined ? null : await vault.store.newestOrderDate(tenant);
            const since = newest === null ? '' : `&date=ge${new Date(Date.parse(newest) - 30 * 86_400_000).toISOString().slice(0, 10)}`;
            out.write(
              `\ntry (TOKEN = the demo-controller token):\n  curl -H "Authorization: Bearer $TOKEN" '${address}/fhir/DiagnosticReport?status=final${since}&_count=2'\n`,
            );
          }
          out.write('\nCtrl-C to stop\n');
        } catch (e) {
          await shutdown();
          throw e;
        }
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            void shutdown().finally(resolve);
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      },
    );
}

/** Records and alerts the failure (bounded wait), cleans up, and stops start-up with one line (exit 1). */
async function refuse(monitor: IntegrityMonitor, result: IntegrityResult, cleanup: () => Promise<void>): Promise<never> {
  const failure = await monitor.raise(result);
  await monitor.close();
  await cleanup();
  throw new IntegrityViolation(`refusing to serve: ${describeFailure(failure)}`);
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port 0–65535');
  return n;
}

import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { buildApp } from '../../api/app.js';
import { openVault } from '../../compose.js';
import { demoTokens, loadDemoLab } from '../../services/demo-lab.js';
import { cliContext, configFrom } from '../cli-context.js';
import { positiveInt } from '../parse-options.js';

/**
 * `labvault serve`: the FHIR API on one host and port until SIGINT/SIGTERM, then a clean close
 * (final audit checkpoint, WAL folded). `--demo` creates the vault if needed, loads a synthetic
 * lab into an empty one and prints tokens for one principal per role.
 */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the FHIR R4 API (base /fhir), /healthz, /metrics, /openapi.json')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'TCP port (0: any free port)', port, 8080)
    .option('--demo', 'load a synthetic lab into an empty vault and print demo tokens')
    .option('--demo-patients <n>', 'persons in the demo lab', positiveInt, 2000)
    .action(async (opts: { host: string; port: number; demo?: boolean; demoPatients: number }, cmd: Command) => {
      const vault = await openVault(configFrom(cmd), { create: opts.demo === true, server: true });
      let closing = false;
      const app = await buildApp(vault, { log: true });
      // Notice deadlines are reminded through the alert sinks; a failed pass is reported, retried next minute.
      const reminders = setInterval(() => {
        vault.reminders
          .tick()
          .catch((e: unknown) => process.stderr.write(`labvault: reminders: ${e instanceof Error ? e.message : String(e)}\n`));
      }, 60_000);
      reminders.unref();
      const shutdown = async (): Promise<void> => {
        if (closing) return;
        closing = true;
        clearInterval(reminders);
        try {
          await app.close();
        } finally {
          await vault.close();
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
        const address = await app.listen({ host: opts.host, port: opts.port });
        const out = process.stdout;
        out.write(`labvault serving ${vault.store.backend} vault ${vault.config.dataDir}\n`);
        out.write(`  FHIR base   ${address}/fhir   (CapabilityStatement: ${address}/fhir/metadata)\n`);
        out.write(`  health      ${address}/healthz   metrics ${address}/metrics   OpenAPI ${address}/openapi.json\n`);
        if (tokens.length > 0) {
          out.write('\ndemo tokens (bearer; valid 12 h; shown once):\n');
          for (const t of tokens) out.write(`  ${t.id.padEnd(17)} ${t.role.padEnd(18)} ${t.tenants.join(',').padEnd(14)} ${t.token}\n`);
          out.write(
            `\ntry (TOKEN = the demo-controller token):\n  curl -H "Authorization: Bearer $TOKEN" '${address}/fhir/DiagnosticReport?status=final&_count=2'\n`,
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
    });
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port 0–65535');
  return n;
}

import { promises as fs } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { decodeEvent } from '../../audit/event-codec.js';
import { toFhirAuditEvent } from '../../audit/fhir-audit-event.js';
import { exportAuditLog } from '../../audit/audit-export.js';
import { checkAuditIndexes, type IndexCheckResult } from '../../audit/index-check.js';
import { readCheckpointDir, readEventLines } from '../../audit/verifier/standalone.js';
import { verifyLog, type VerifyLogResult } from '../../audit/verifier/verify-log.js';
import { ConfigurationError } from '../../domain/errors.js';
import { cliContext, printJson, setProblem, withVault } from '../cli-context.js';
import { nonNegativeInt, positiveInt } from '../parse-options.js';

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('tamper-evident audit log: verify, prove, checkpoint, tail, export');

  audit
    .command('verify')
    .description('recompute the Merkle tree over every event and check every signed checkpoint (store and witness)')
    .option('--vkey <key>', 'verifier key name+id+key, or @FILE (default: the key provider’s)')
    .option('--from <dir>', 'verify an export made by `audit export` instead of the database')
    .option('--workers <n>', 'worker threads (default: one per core above 100,000 events)', nonNegativeInt)
    .option('--deep', 'also check that the query columns and the patient index match the signed events')
    .option('--json', 'print JSON')
    .action(async (opts: { vkey?: string; from?: string; workers?: number; deep?: boolean; json?: boolean }, cmd: Command) => {
      const vkey = opts.vkey ? await readKeyOption(opts.vkey) : undefined;
      let result: VerifyLogResult & { index?: IndexCheckResult };
      if (opts.from) {
        const dir = opts.from;
        const size = (await fs.stat(path.join(dir, 'events.ndjson'))).size;
        result = await verifyLog({
          workers: opts.workers ?? (size > 50e6 ? Math.min(4, availableParallelism()) : 0),
          events: readEventLines(path.join(dir, 'events.ndjson')),
          checkpoints: await readCheckpointDir(path.join(dir, 'checkpoints')),
          verifierKey: vkey ?? (await fs.readFile(path.join(dir, 'vkey.txt'), 'utf8')).trim(),
        });
      } else {
        result = await withVault(
          cmd,
          async (vault) => {
            const verified = await vault.audit.verify(vkey, { workers: opts.workers });
            if (!opts.deep) return verified;
            const index = await checkAuditIndexes(vault.store);
            const firsts = [verified.first_bad_index, index.first_bad_index].filter((x): x is number => x !== null);
            return {
              ...verified,
              ok: verified.ok && index.ok,
              first_bad_index: firsts.length > 0 ? Math.min(...firsts) : null,
              reason: verified.reason ?? index.reason,
              index,
            };
          },
          { auditReadOnly: true },
        );
      }
      if (opts.json) printJson(result);
      else if (result.ok) {
        process.stdout.write(
          `ok: ${result.events} events, ${result.checkpoints} signed checkpoints, ${result.unsigned_tail} events after the last one\n`,
        );
      } else {
        process.stdout.write(
          `NOT OK: ${result.reason ?? 'unknown'}${result.first_bad_index === null ? '' : ` (first bad index ${result.first_bad_index})`}\n`,
        );
      }
      if (!result.ok) setProblem();
    });

  audit
    .command('prove')
    .description('inclusion proof of one event (and optionally a consistency proof between two sizes)')
    .requiredOption('--index <i>', 'event index (seq)', nonNegativeInt)
    .option('--size <n>', 'tree size to prove against (default: the latest signed checkpoint covering it)', positiveInt)
    .option('--first <m>', 'also prove that the tree of size m is a prefix of the tree of size n', positiveInt)
    .option('--json', 'print JSON')
    .action(async (opts: { index: number; size?: number; first?: number; json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        const ctx = cliContext(cmd);
        await vault.audit.record([vault.audit.event(ctx, { action: 'audit.read', records: 1, detail: { index: opts.index } })]);
        const p = await vault.audit.prove(opts.index, opts.size);
        const consistency = opts.first === undefined ? undefined : await vault.audit.consistency(opts.first, p.size);
        const out = consistency ? { ...p, consistency: { first: opts.first, second: p.size, proof: consistency } } : p;
        if (opts.json) printJson(out);
        else
          process.stdout.write(`event ${p.index} in tree of ${p.size}: ${p.proof.length} hashes, root ${p.root}, verified ${p.verified}\n`);
        if (!p.verified) setProblem();
      });
    });

  audit
    .command('checkpoint')
    .description('sign a checkpoint of the current head now (store + witness) and print it')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        const cp = await vault.audit.checkpoint();
        const out = {
          origin: vault.audit.origin,
          size: cp?.size ?? 0,
          root: cp?.root.toString('hex') ?? null,
          note: cp?.note ?? null,
          witness: vault.audit.witness.location,
          vkey: vault.audit.verifierKey,
        };
        if (opts.json) printJson(out);
        else process.stdout.write(cp ? cp.note : 'the log is empty\n');
      });
    });

  audit
    .command('tail')
    .description('the last events as NDJSON (canonical bytes as hashed)')
    .option('-n, --lines <n>', 'how many', positiveInt, 20)
    .option('--json', 'one JSON document instead of NDJSON')
    .action(async (opts: { lines: number; json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        const ctx = cliContext(cmd);
        const head = await vault.store.auditHead();
        const from = Math.max(0, head.size - opts.lines);
        const lines: Buffer[] = [];
        for await (const page of vault.store.readAuditEvents(from, head.size)) lines.push(...page);
        await vault.audit.record([vault.audit.event(ctx, { action: 'audit.read', records: lines.length })]);
        if (opts.json) printJson({ size: head.size, events: lines.map(canonical) });
        else for (const l of lines) process.stdout.write(`${l.toString('utf8')}\n`);
      });
    });

  audit
    .command('query')
    .description('events by principal, tenant, patient and time window (indexed), as JSON or a FHIR Bundle of AuditEvents')
    .option('--principal <id>', 'principal id')
    .option('--tenant <id>', 'tenant id')
    .option('--patient <id>', 'pseudonymous patient id (needs --tenant)')
    .option('--from <iso>', 'from this time (inclusive)')
    .option('--to <iso>', 'until this time (exclusive)')
    .option('--after <seq>', 'only events after this index (paging)', nonNegativeInt)
    .option('--limit <n>', 'at most this many', positiveInt, 100)
    .option('--fhir', 'print a FHIR R4 searchset Bundle of AuditEvent resources')
    .action(
      async (
        opts: {
          principal?: string;
          tenant?: string;
          patient?: string;
          from?: string;
          to?: string;
          after?: number;
          limit: number;
          fhir?: boolean;
        },
        cmd: Command,
      ) => {
        if (opts.patient !== undefined && opts.tenant === undefined) throw new ConfigurationError('--patient needs --tenant');
        for (const t of [opts.from, opts.to])
          if (t !== undefined && Number.isNaN(Date.parse(t))) throw new ConfigurationError('--from/--to must be ISO times');
        await withVault(cmd, async (vault) => {
          const rows = await vault.store.queryAudit({
            principalId: opts.principal,
            tenantId: opts.tenant,
            patientId: opts.patient,
            from: opts.from && new Date(opts.from).toISOString(),
            to: opts.to && new Date(opts.to).toISOString(),
            afterSeq: opts.after,
            limit: opts.limit,
          });
          const events = rows.map((r) => ({ seq: r.seq, bytes: r.bytes, event: decodeEvent(r.bytes).event }));
          const ctx = cliContext(cmd);
          await vault.audit.record([
            vault.audit.event(ctx, {
              action: 'audit.read',
              tenant: opts.tenant ?? null,
              patients: opts.patient ? [opts.patient] : [],
              records: events.length,
            }),
          ]);
          if (opts.fhir) {
            printJson({
              resourceType: 'Bundle',
              type: 'searchset',
              total: events.length,
              entry: events.map((e) => ({ resource: toFhirAuditEvent(e.seq, e.event) })),
            });
          } else printJson({ events: events.map((e) => canonical(e.bytes)) });
        });
      },
    );

  audit
    .command('export')
    .description('write events.ndjson, checkpoints/ (store and witness copies) and vkey.txt for the standalone verifier')
    .requiredOption('--out <dir>', 'new directory')
    .option('--json', 'print JSON')
    .action(async (opts: { out: string; json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        const ctx = cliContext(cmd);
        await vault.audit.record([vault.audit.event(ctx, { action: 'audit.export' })]);
        await vault.audit.checkpoint();
        const summary = await exportAuditLog(vault.store, vault.audit, opts.out);
        if (opts.json) printJson(summary);
        else process.stdout.write(`exported ${summary.events} events and ${summary.checkpoints} checkpoints to ${summary.out}\n`);
      });
    });
}

/** An event as JSON, exactly its canonical (hashed) form; decodeEvent first refuses a non-canonical row. */
function canonical(bytes: Buffer): unknown {
  decodeEvent(bytes);
  return JSON.parse(bytes.toString('utf8'));
}

async function readKeyOption(v: string): Promise<string> {
  if (!v.startsWith('@')) return v;
  try {
    return (await fs.readFile(v.slice(1), 'utf8')).trim();
  } catch (cause) {
    throw new ConfigurationError(`cannot read --vkey file ${v.slice(1)}`, { cause });
  }
}

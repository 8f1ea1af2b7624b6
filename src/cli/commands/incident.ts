import type { Command } from 'commander';
import { DataCategories, type DataCategory } from '../../domain/audit-event.js';
import { InvalidInput } from '../../domain/errors.js';
import type { SeverityFacts } from '../../incidents/severity.js';
import type { IncidentView } from '../../services/incident-register.js';
import { cliContext, printJson, withVault } from '../cli-context.js';
import { registerIncidentLetters } from './incident-letters.js';
import { nonNegativeInt } from '../parse-options.js';

/**
 * `labvault incident open|list|show|aware|note|scope|assess|obligations|obligation|notify|stix|nis2|report|letters|open-bundle|close` (CLI.md "Incidents"):
 * the register of every breach and the obligations it creates. Containments open incidents
 * themselves; scoping and notices come next.
 */
export function registerIncident(program: Command): void {
  const incident = program.command('incident').description('incident register: every breach, notified or not (GDPR 33(5))');
  const list = (v: string): string[] =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  const show = (i: IncidentView, json: boolean | undefined): void => {
    if (json) printJson(i);
    else process.stdout.write(`${JSON.stringify(i, null, 2)}\n`);
  };

  incident
    .command('open')
    .description('open an incident by hand (containments open their own)')
    .requiredOption('--title <text>', 'what happened, in a line (no identifiers)')
    .requiredOption('--type <t,…>', 'confidentiality, integrity, availability', list)
    .requiredOption('--tenant <t,…>', 'tenants (controllers) concerned', list)
    .option('--aware-at <iso>', 'when the lab became aware (default: now)')
    .option('--principal <id>', 'a principal whose activity is in question')
    .option('--json', 'print JSON')
    .action(
      async (
        opts: { title: string; type: string[]; tenant: string[]; awareAt?: string; principal?: string; json?: boolean },
        cmd: Command,
      ) => {
        await withVault(cmd, async (vault) => {
          const i = await vault.incidents.open(cliContext(cmd), {
            title: opts.title,
            types: opts.type,
            tenants: opts.tenant,
            ...(opts.awareAt ? { labAwareAt: opts.awareAt } : {}),
            principalId: opts.principal ?? null,
          });
          if (opts.json) printJson(i);
          else process.stdout.write(`${i.id} opened (${i.types.join(', ')}; lab aware ${i.awareness.lab ?? '?'})\n`);
        });
      },
    );

  incident
    .command('list')
    .description('incidents, newest first')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        const rows = await vault.incidents.list();
        if (opts.json) printJson({ incidents: rows });
        else
          for (const i of rows)
            process.stdout.write(
              `${i.id} ${i.status} ${i.source} ${i.types.join(',')} trigger=${i.trigger} principal=${i.principalId ?? '-'} opened=${i.openedAt}\n`,
            );
      });
    });

  incident
    .command('show')
    .requiredOption('--id <id>', 'incident id')
    .option('--json', 'print JSON')
    .action(async (opts: { id: string; json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => show(await vault.incidents.get(opts.id), opts.json));
    });

  incident
    .command('aware')
    .description('record when an actor became aware (starts its legal clocks; set once)')
    .requiredOption('--id <id>', 'incident id')
    .requiredOption('--actor <who>', 'lab, significant, or controller:<tenant>')
    .option('--at <iso>', 'when (default: now)')
    .option('--json', 'print JSON')
    .action(async (opts: { id: string; actor: string; at?: string; json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => show(await vault.incidents.aware(cliContext(cmd), opts.id, opts.actor, opts.at), opts.json));
    });

  incident
    .command('note')
    .description('add a timeline entry, with an audit event (by index) as signed evidence')
    .requiredOption('--id <id>', 'incident id')
    .requiredOption('--action <word>', 'contained, notified, restored, …')
    .option('--text <text>', 'what was done (no identifiers)')
    .option('--evidence-index <n>', 'audit event index: its inclusion proof is stored with the entry', nonNegativeInt)
    .option('--json', 'print JSON')
    .action(async (opts: { id: string; action: string; text?: string; evidenceIndex?: number; json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) =>
        show(await vault.incidents.note(cliContext(cmd), opts.id, opts.action, opts.text ?? null, opts.evidenceIndex), opts.json),
      );
    });

  incident
    .command('obligations')
    .description('who must be told what by when: one obligation per (rule, recipient), deadlines in UTC and Europe/Amsterdam')
    .requiredOption('--id <id>', 'incident id')
    .option('--json', 'print JSON')
    .action(async (opts: { id: string; json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        const os = await vault.incidents.obligations(opts.id);
        if (opts.json) printJson({ incident: opts.id, obligations: os });
        else
          for (const o of os)
            process.stdout.write(
              `${o.id} ${o.state}${o.late ? ' LATE' : ''} due ${o.dueLocal ?? (o.anchorAt === null ? 'clock not started' : o.deadline)}` +
                `${o.condition ? ` (if ${o.condition})` : ''} — ${o.regime}\n`,
            );
      });
    });

  incident
    .command('obligation')
    .description("record an obligation's progress: drafted, sent (with its phase) or withdrawn; late or withdrawn needs --reason")
    .requiredOption('--id <id>', 'incident id')
    .requiredOption('--obligation <oid>', 'obligation id, e.g. gdpr-33-2:controller:screening')
    .requiredOption('--state <s>', 'drafted, sent or withdrawn')
    .option('--at <iso>', 'when (default: now)')
    .option('--phase <p>', 'initial, supplementary or final (sent)')
    .option('--reason <text>', 'reason for a delay or a withdrawal')
    .option('--json', 'print JSON')
    .action(
      async (
        opts: { id: string; obligation: string; state: string; at?: string; phase?: string; reason?: string; json?: boolean },
        cmd: Command,
      ) => {
        await withVault(cmd, async (vault) => {
          const o = await vault.incidents.recordObligation(cliContext(cmd), opts.id, opts.obligation, {
            state: opts.state,
            ...(opts.at ? { at: opts.at } : {}),
            phase: opts.phase ?? null,
            reason: opts.reason ?? null,
          });
          if (opts.json) printJson(o);
          else process.stdout.write(`${o.id} ${o.state}${o.record?.phase ? ` (${o.record.phase})` : ''}\n`);
        });
      },
    );

  incident
    .command('assess')
    .description('ENISA severity (SE = DPC × EI + CB) with its reasoning; settles which conditional obligations apply')
    .requiredOption('--id <id>', 'incident id')
    .requiredOption(
      '--categories <c,…>',
      'data categories that left (identity, national-id, contact, demographics, clinical-order, specimen, clinical-result, follow-up-advice)',
      list,
    )
    .requiredOption('--subjects <n>', 'upper bound of affected people', nonNegativeInt)
    .option('--identifiability <level>', 'negligible, limited, significant or full', 'full')
    .option('--confidentiality <loss>', 'none, limited or full', 'full')
    .option('--integrity <loss>', 'none, limited or full', 'none')
    .option('--availability <loss>', 'none, limited or full', 'none')
    .option('--malicious', 'deliberate (theft, ransomware)')
    .option('--ciphertext-only', 'only ciphertext left, and its keys did not')
    .option('--vulnerable', 'vulnerable groups among the people')
    .option('--json', 'print JSON')
    .action(async (opts: SeverityFlags & { id: string; json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        const a = await vault.incidents.assess(cliContext(cmd), opts.id, severityFacts(opts));
        if (opts.json) printJson(a);
        else process.stdout.write(`${a.reasoning.join('\n')}\n`);
      });
    });

  incident
    .command('scope')
    .description('who is affected, per tenant, from the audit log (pseudonymous ids; every one traced to its events)')
    .requiredOption('--id <id>', 'incident id')
    .option('--principal <p,…>', 'compromised principals', list)
    .option('--from <iso>', 'window start (inclusive)')
    .option('--to <iso>', 'window end (exclusive)')
    .option('--origin <ip,…>', 'client addresses', list)
    .option('--export <id,…>', 'export jobs whose copies leaked', list)
    .option('--whole-store', 'the database or a backup itself was taken')
    .option('--keys-taken', 'with --whole-store: its keys were taken too')
    .option('--leaked', 'the patients the incident’s leak scans found (leak scan --incident), alone or with the rest')
    .option('--tenant <t,…>', 'limit to these tenants', list)
    .option('--json', 'print JSON (with the cohorts and evidence)')
    .action(
      async (
        opts: {
          id: string;
          principal?: string[];
          from?: string;
          to?: string;
          origin?: string[];
          export?: string[];
          wholeStore?: boolean;
          keysTaken?: boolean;
          leaked?: boolean;
          tenant?: string[];
          json?: boolean;
        },
        cmd: Command,
      ) => {
        await withVault(cmd, async (vault) => {
          const s = await vault.incidents.scope(cliContext(cmd), opts.id, {
            ...(opts.principal ? { principals: opts.principal } : {}),
            ...(opts.from ? { from: opts.from } : {}),
            ...(opts.to ? { to: opts.to } : {}),
            ...(opts.origin ? { origins: opts.origin } : {}),
            ...(opts.export ? { exports: opts.export } : {}),
            ...(opts.wholeStore ? { wholeStore: { keysTaken: opts.keysTaken ?? false } } : {}),
            ...(opts.leaked ? { leaked: true } : {}),
            ...(opts.tenant ? { tenants: opts.tenant } : {}),
          });
          if (opts.json) printJson(s);
          else
            for (const t of s.tenants)
              process.stdout.write(
                `${t.tenant}: patients [${t.patients.join(', ')}] (confirmed ${t.cohorts.accessedConfirmed.length}, in leaked data ` +
                  `${t.cohorts.inLeakedData.length}, cannot be excluded ${t.cohorts.cannotBeExcluded.length}); records [${t.records.join(', ')}]; ` +
                  `${t.categories.join(', ') || 'no categories'}${t.canaries ? `; ${t.canaries} canaries` : ''}\n`,
              );
        });
      },
    );

  incident
    .command('notify')
    .description("the controller's notification package: summary and affected subjects, encrypted to its public key (JWE)")
    .requiredOption('--id <id>', 'incident id')
    .requiredOption('--tenant <t>', 'the controller')
    .requiredOption('--out <dir>', 'directory for the .jwe file (never overwritten)')
    .requiredOption('--contact-name <name>', "the lab's contact point")
    .requiredOption('--contact-email <email>', "the lab's contact e-mail")
    .option('--json', 'print JSON')
    .action(
      async (
        opts: { id: string; tenant: string; out: string; contactName: string; contactEmail: string; json?: boolean },
        cmd: Command,
      ) => {
        await withVault(cmd, async (vault) => {
          const a = await vault.notices.controllerPackage(cliContext(cmd), opts.id, opts.tenant, opts.out, {
            name: opts.contactName,
            email: opts.contactEmail,
          });
          if (opts.json) printJson(a);
          else process.stdout.write(`${a.file} (${a.bytes} bytes, ${a.subjects} subjects, sha256 ${a.sha256})\n`);
        });
      },
    );

  incident
    .command('stix')
    .description('STIX 2.1 indicators (attacker addresses and user agents of the scope) for the sector CERT, TLP:AMBER')
    .requiredOption('--id <id>', 'incident id')
    .requiredOption('--out <dir>', 'directory for <incident>.stix.json (never overwritten)')
    .requiredOption('--lab-name <name>', 'the producing organisation')
    .option('--json', 'print JSON')
    .action(async (opts: { id: string; out: string; labName: string; json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        const a = await vault.notices.stix(cliContext(cmd), opts.id, opts.out, opts.labName);
        if (opts.json) printJson(a);
        else process.stdout.write(`${a.file} (${a.bytes} bytes, sha256 ${a.sha256})\n`);
      });
    });

  incident
    .command('nis2')
    .description('draft a NIS2 report for the CSIRT (early-warning, notification, final); marks its obligation drafted')
    .requiredOption('--id <id>', 'incident id')
    .requiredOption('--kind <k>', 'early-warning, notification or final')
    .requiredOption('--out <dir>', 'directory for the draft (never overwritten)')
    .requiredOption('--entity <name>', 'the reporting entity (the lab)')
    .option('--json', 'print JSON')
    .action(async (opts: { id: string; kind: string; out: string; entity: string; json?: boolean }, cmd: Command) => {
      if (opts.kind !== 'early-warning' && opts.kind !== 'notification' && opts.kind !== 'final')
        throw new InvalidInput('--kind: early-warning, notification or final');
      const kind = opts.kind;
      await withVault(cmd, async (vault) => {
        const a = await vault.notices.nis2(cliContext(cmd), opts.id, kind, opts.out, opts.entity);
        if (opts.json) printJson(a);
        else process.stdout.write(`${a.file} (${a.bytes} bytes)\n`);
      });
    });

  incident
    .command('report')
    .description('the report to the Dutch DPA (GDPR 33(3)) by form section, as JSON and a readable PDF; each call is the next phase')
    .requiredOption('--id <id>', 'incident id')
    .requiredOption('--out <dir>', 'directory for the report (never overwritten)')
    .requiredOption('--organisation <name>', 'the reporting organisation')
    .requiredOption('--contact-name <name>', 'contact point')
    .requiredOption('--contact-email <email>', 'contact e-mail')
    .option('--json', 'print JSON')
    .action(
      async (
        opts: { id: string; out: string; organisation: string; contactName: string; contactEmail: string; json?: boolean },
        cmd: Command,
      ) => {
        await withVault(cmd, async (vault) => {
          const a = await vault.notices.authorityReport(cliContext(cmd), opts.id, opts.out, {
            organisation: opts.organisation,
            contact: { name: opts.contactName, email: opts.contactEmail },
          });
          if (opts.json) printJson(a);
          else process.stdout.write(`${a.file} (${a.bytes} bytes)\n${a.pdf.file} (${a.pdf.bytes} bytes)\n`);
        });
      },
    );

  registerIncidentLetters(incident);

  incident
    .command('close')
    .requiredOption('--id <id>', 'incident id')
    .requiredOption('--reason <text>', 'why it is closed')
    .option('--json', 'print JSON')
    .action(async (opts: { id: string; reason: string; json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => show(await vault.incidents.close(cliContext(cmd), opts.id, opts.reason), opts.json));
    });
}

const LEVELS = ['negligible', 'limited', 'significant', 'full'] as const;
const LOSSES = ['none', 'limited', 'full'] as const;

/** Flags → facts, each value checked against its closed list (a typo is a usage error, not a score). */
/** The `incident assess` flags as commander parses them. */
interface SeverityFlags {
  categories: string[];
  subjects: number;
  identifiability: string;
  confidentiality: string;
  integrity: string;
  availability: string;
  malicious?: boolean;
  ciphertextOnly?: boolean;
  vulnerable?: boolean;
}

function severityFacts(o: SeverityFlags): SeverityFacts {
  const one = <T extends string>(v: string, allowed: readonly T[], what: string): T => {
    if (!(allowed as readonly string[]).includes(v)) throw new InvalidInput(`${what}: one of ${allowed.join(', ')}`);
    return v as T;
  };
  for (const c of o.categories) one(c, DataCategories, 'categories');
  return {
    categories: o.categories as DataCategory[],
    identifiability: one(o.identifiability, LEVELS, '--identifiability'),
    ciphertextWithoutKeys: o.ciphertextOnly ?? false,
    confidentiality: one(o.confidentiality, LOSSES, '--confidentiality'),
    integrity: one(o.integrity, LOSSES, '--integrity'),
    availability: one(o.availability, LOSSES, '--availability'),
    malicious: o.malicious ?? false,
    subjects: o.subjects,
    vulnerable: o.vulnerable ?? false,
  };
}

import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { compactDecrypt, type JWK } from 'jose';
import { ConfigurationError, IntegrityViolation, InvalidInput } from '../../domain/errors.js';
import { privateKey } from '../../incidents/recipient-key.js';
import { openSealedBundle } from '../../incidents/sealed-bundle.js';
import { cliContext, printJson, withVault } from '../cli-context.js';

/**
 * `labvault incident letters` (patient letters into sealed bundles) and `labvault incident
 * open-bundle` (the one explicit step that turns a bundle or package back into plaintext files,
 * for whoever holds the private key: the controller, its print house, or an operator told to).
 */
export function registerIncidentLetters(incident: Command): void {
  incident
    .command('letters')
    .description(
      'patient letters (Art. 34), Dutch and English per cohort: one PDF per patient and a print file per controller, sealed to its key',
    )
    .requiredOption('--id <id>', 'incident id')
    .requiredOption('--out <dir>', 'directory for the sealed bundles (never overwritten)')
    .requiredOption('--lab <name>', 'the laboratory’s name as patients know it')
    .option('--tenant <t,…>', 'only these controllers (default: every controller in scope)')
    .option('--phone <number>', 'helpline number for patients')
    .option('--recipient-key <file>', 'seal to this public JWK (e.g. the print house) instead of the controller’s key')
    .option('--json', 'print JSON')
    .action(
      async (
        opts: { id: string; out: string; lab: string; tenant?: string; phone?: string; recipientKey?: string; json?: boolean },
        cmd: Command,
      ) => {
        const recipient = opts.recipientKey ? { jwk: await readJwk(opts.recipientKey), name: path.basename(opts.recipientKey) } : null;
        await withVault(cmd, async (vault) => {
          const r = await vault.letters.generate(cliContext(cmd), opts.id, opts.out, {
            lab: opts.lab,
            ...(opts.tenant ? { tenants: opts.tenant.split(',').map((s) => s.trim()) } : {}),
            phone: opts.phone ?? null,
            recipient,
          });
          if (opts.json) printJson(r);
          else {
            for (const t of r.tenants)
              for (const a of t.artifacts) process.stdout.write(`${a.file} (${t.letters} letters, ${a.bytes} bytes, sha256 ${a.sha256})\n`);
            process.stdout.write(`${r.letters} letters in ${r.seconds} s (${r.per_s}/s)\n`);
          }
        });
      },
    );

  incident
    .command('open-bundle')
    .description('decrypt a sealed bundle (.lvb) or notification package (.jwe) into a new directory, with the recipient’s private JWK')
    .argument('<file>', 'the bundle or package')
    .requiredOption('--key <file>', 'the recipient’s private key (JWK file)')
    .requiredOption('--out <dir>', 'a new directory for the plaintext (mode 0700, files 0600)')
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { key: string; out: string; json?: boolean }) => {
      const { key } = await privateKey(await readJwk(opts.key));
      const out = path.resolve(opts.out);
      // A new directory only: plaintext never mixes with (or replaces) other files.
      await mkdir(path.dirname(out), { recursive: true });
      try {
        await mkdir(out, { mode: 0o700 });
      } catch {
        throw new InvalidInput('--out must be a directory that does not exist yet');
      }
      const files: string[] = [];
      try {
        if (file.endsWith('.jwe')) {
          let plaintext: Uint8Array;
          try {
            ({ plaintext } = await compactDecrypt((await readFile(file, 'utf8')).trim(), key));
          } catch (e) {
            throw new IntegrityViolation('package cannot be opened with this key, or it was altered', { cause: e });
          }
          const name = `${path.basename(file, '.jwe')}.json`;
          writeNew(path.join(out, name), [Buffer.from(plaintext)]);
          files.push(name);
        } else {
          let fd: number | null = null;
          await openSealedBundle(file, key, {
            header: () => undefined,
            file: (name) => {
              if (fd !== null) closeSync(fd);
              fd = openSync(path.join(out, name), 'wx', 0o600);
              files.push(name);
            },
            data: (chunk) => {
              let at = 0;
              while (at < chunk.length) at += writeSync(fd as number, chunk, at, chunk.length - at);
            },
          }).finally(() => {
            if (fd !== null) closeSync(fd);
          });
        }
      } catch (e) {
        // Nothing partial stays: a bundle that fails its check half-way leaves no plaintext behind.
        await rm(out, { recursive: true, force: true });
        throw e;
      }
      if (opts.json) printJson({ out, files: files.length });
      else process.stdout.write(`${files.length} files in ${out}\n`);
    });
}

function writeNew(file: string, chunks: Buffer[]): void {
  const fd = openSync(file, 'wx', 0o600);
  try {
    for (const c of chunks) writeSync(fd, c);
  } finally {
    closeSync(fd);
  }
}

async function readJwk(file: string): Promise<JWK> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as JWK;
  } catch {
    throw new ConfigurationError(`${path.basename(file)}: not a readable JWK file`);
  }
}

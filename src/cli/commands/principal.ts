import type { Command } from 'commander';
import { ConfigurationError } from '../../domain/errors.js';
import { cliContext, printJson, withVault } from '../cli-context.js';
import { positiveInt } from '../parse-options.js';

/**
 * `labvault principal …`: API principals (CLI.md "Server and principals"). Tokens and API keys
 * are printed once and never stored in plaintext.
 */
export function registerPrincipal(program: Command): void {
  const principal = program.command('principal').description('API principals: people and systems, their tokens and API keys');
  const list = (v: string): string[] =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');

  principal
    .command('create')
    .description('create a principal and print a bearer token for it (shown once)')
    .requiredOption('--name <name>', 'display name of the person or system')
    .requiredOption('--role <role>', 'admin, security-officer, dpo, auditor, lab-technician, pathologist, support, controller-system')
    .requiredOption('--tenant <t,…>', 'tenants it acts for (* for all)', list)
    .option('--purpose <code>', 'default purpose of use put into its tokens (TREAT, PUBHLTH…)')
    .option('--scope <s,…>', 'SMART v2 scopes (default: everything the role may do)', list)
    .option('--id <id>', 'explicit id (e.g. the sub of an external identity provider)')
    .option('--json', 'print JSON')
    .action(
      async (
        opts: { name: string; role: string; tenant: string[]; purpose?: string; scope?: string[]; id?: string; json?: boolean },
        cmd: Command,
      ) => {
        await withVault(cmd, async (vault) => {
          // The global --purpose is the operator's own purpose for the audit log, not the principal's.
          const c = await vault.principals.create(cliContext(cmd), {
            name: opts.name,
            role: opts.role,
            tenants: opts.tenant,
            purpose: opts.purpose ?? null,
            ...(opts.scope ? { scopes: opts.scope } : {}),
            ...(opts.id ? { id: opts.id } : {}),
          });
          const p = c.principal;
          if (opts.json)
            printJson({
              id: p.id,
              role: p.role,
              tenants: p.tenants,
              purpose: p.purpose,
              scopes: p.scopes,
              token: c.token,
              token_id: c.tokenId,
              expires_at: c.expiresAt,
            });
          else
            process.stdout.write(
              `principal ${p.id} (${p.role}; ${p.tenants.join(',')})\ntoken (shown once, expires ${c.expiresAt}):\n${c.token}\n`,
            );
        });
      },
    );

  principal
    .command('token')
    .description('issue a new bearer token for a principal (shown once)')
    .requiredOption('--id <id>', 'principal id')
    .option('--ttl <seconds>', 'lifetime', positiveInt)
    .option('--json', 'print JSON')
    .action(async (opts: { id: string; ttl?: number; json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        const t = await vault.principals.issueToken(cliContext(cmd), opts.id, opts.ttl);
        if (opts.json) printJson({ id: opts.id, token: t.token, token_id: t.tokenId, expires_at: t.expiresAt });
        else process.stdout.write(`${t.token}\n`);
      });
    });

  principal
    .command('api-key')
    .description('create an API key for a system integration (shown once; stored hashed)')
    .requiredOption('--id <id>', 'principal id')
    .option('--days <n>', 'days until it expires', positiveInt, 90)
    .option('--json', 'print JSON')
    .action(async (opts: { id: string; days: number; json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        const k = await vault.principals.createApiKey(cliContext(cmd), opts.id, opts.days);
        if (opts.json) printJson({ id: opts.id, key_id: k.id, api_key: k.key, expires_at: k.expiresAt });
        else process.stdout.write(`API key ${k.id} (send as X-API-Key or Bearer; shown once, expires ${k.expiresAt}):\n${k.key}\n`);
      });
    });

  principal
    .command('revoke')
    .description('revoke one bearer token (by its jti) or one API key (by its key id)')
    .option('--token-id <jti>', 'token id (jti), as printed when issued')
    .option('--principal <id>', 'principal the token belongs to (with --token-id)')
    .option('--key-id <id>', 'API key id')
    .action(async (opts: { tokenId?: string; principal?: string; keyId?: string }, cmd: Command) => {
      if (!opts.keyId && !opts.tokenId) throw new ConfigurationError('give --token-id or --key-id');
      await withVault(cmd, async (vault) => {
        const ctx = cliContext(cmd);
        if (opts.keyId) await vault.principals.revokeApiKey(ctx, opts.keyId);
        if (opts.tokenId) {
          // Kept until the longest lifetime a token can have: then it has expired anyway.
          const until = new Date(vault.clock.now().getTime() + 31 * 86_400_000);
          await vault.principals.revokeToken(ctx, opts.tokenId, opts.principal ?? 'unknown', until);
        }
        process.stdout.write('revoked\n');
      });
    });

  for (const verb of ['suspend', 'release'] as const) {
    principal
      .command(verb)
      .description(
        verb === 'suspend' ? 'suspend a principal: every token and API key fails from its next request' : 'release a suspended principal',
      )
      .requiredOption('--id <id>', 'principal id')
      .option('--reason <text>', 'why (kept with the principal and in the audit log)')
      .action(async (opts: { id: string; reason?: string }, cmd: Command) => {
        await withVault(cmd, async (vault) => {
          await vault.principals[verb](cliContext(cmd), opts.id, opts.reason ?? null);
          process.stdout.write(`principal ${opts.id} ${verb === 'suspend' ? 'suspended' : 'released'}\n`);
        });
      });
  }

  principal
    .command('list')
    .description('list principals (no secrets)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withVault(cmd, async (vault) => {
        const rows = await vault.principals.list(cliContext(cmd));
        const out = rows.map((p) => ({
          id: p.id,
          name: p.name,
          role: p.role,
          tenants: p.tenants,
          purpose: p.purpose,
          status: p.status,
          created_at: p.createdAt,
        }));
        if (opts.json) printJson({ principals: out });
        else
          for (const p of out)
            process.stdout.write(`${p.id.padEnd(22)} ${p.role.padEnd(18)} ${p.status.padEnd(9)} ${p.tenants.join(',')}  ${p.name}\n`);
      });
    });
}

import type { FastifyInstance } from 'fastify';
import type { Vault } from '../compose.js';
import { InvalidInput } from '../domain/errors.js';
import { Guard } from './fhir/guard.js';
import { contextOf } from './request-context.js';

/**
 * Administrative actions that need a second person or an explicit act, outside the FHIR base:
 * approving an export (security officer, not the requester) and breaking the glass (a clinical
 * person, with a justification and a duration). Principal management stays on the CLI, which
 * runs where the keyring is.
 */
export function registerAdminRoutes(app: FastifyInstance, vault: Vault): void {
  const guard = new Guard(vault);
  const json = { 'content-type': 'application/json; charset=utf-8' };
  // Every POST here changes the vault: refused in read-only mode (app.ts), like FHIR writes.
  const write = { config: { write: true } };

  app.post<{ Params: { id: string } }>('/admin/exports/:id/approve', write, async (req, reply) => {
    await guard.admin(req, 'export.approve');
    const job = await vault.exports.approve(contextOf(req), req.params.id);
    return reply.code(200).headers(json).send({ id: job.id, state: job.state, approver: job.approverId });
  });

  // Containments: officers, the DPO and auditors see them; only a security officer releases one,
  // with a reason, and a canary containment needs a second officer (the service enforces it).
  app.get('/admin/containments', async (req, reply) => {
    await guard.admin(req, 'containment.read');
    const rows = await vault.store.listContainments();
    return reply.code(200).headers(json).send({ containments: rows });
  });

  app.post<{ Params: { id: string }; Body: unknown }>('/admin/containments/:id/release', write, async (req, reply) => {
    await guard.admin(req, 'containment.release');
    const b = req.body as { reason?: unknown } | null;
    if (!b || typeof b.reason !== 'string') throw new InvalidInput('body: {"reason": string}');
    const r = await vault.containment.release(contextOf(req), req.params.id, b.reason);
    return reply
      .code(200)
      .headers(json)
      .send({ id: r.containment.id, state: r.containment.state, approvals: r.approvals, required: r.containment.approvalsRequired });
  });

  app.post<{ Body: unknown }>('/admin/break-glass', write, async (req, reply) => {
    await guard.admin(req, 'break-glass');
    const b = req.body as { tenant?: unknown; justification?: unknown; minutes?: unknown } | null;
    if (!b || typeof b.tenant !== 'string' || typeof b.justification !== 'string' || typeof b.minutes !== 'number') {
      throw new InvalidInput('body: {"tenant": string, "justification": string, "minutes": number}');
    }
    const grant = await vault.breakGlass.open(contextOf(req), b.tenant, b.justification, b.minutes);
    return reply.code(201).headers(json).send({ id: grant.id, tenant: grant.tenantId, expires: grant.expiresAt, purpose: 'ETREAT' });
  });
}

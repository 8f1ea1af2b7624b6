import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Vault } from '../../compose.js';
import { NotFound } from '../../domain/errors.js';
import { isClinicalType, type ClinicalType } from '../../domain/resource-type.js';
import { id as checkId } from '../search-params.js';
import type { Guard } from './guard.js';

/**
 * FHIR read: GET /fhir/{type}/{id}. The record is first located among the tenants the request may
 * use (no audit event, no data: only "which tenant holds this id"), then read under the policy
 * decision for that tenant, which audits what it returns. An id that no permitted tenant holds
 * answers 404 through the same audited read path, so a probe costs the prober an event too.
 */
export function registerReadRoutes(app: FastifyInstance, vault: Vault, guard: Guard, send: Sender): void {
  app.get<{ Params: { id: string } }>('/fhir/Patient/:id', async (req, reply) => {
    await guard.interaction(req, 'Patient', 'r');
    const id = checkId(req.params.id, 'id');
    const tenant = await locate(req, guard, (t) => vault.store.getPatient(t, id).then((r) => r !== null && r.erasedAt === null));
    const g = await guard.forTenant(req, 'Patient', 'r', tenant);
    return send(reply, 200, await vault.reader.patient(g.ctx, tenant, id, g.view));
  });

  app.get<{ Params: { type: string; id: string } }>('/fhir/:type/:id', async (req, reply) => {
    const type = clinicalType(req.params.type);
    await guard.interaction(req, type, 'r');
    const id = checkId(req.params.id, 'id');
    const tenant = await locate(req, guard, (t) => vault.store.getResource(t, type, id).then((r) => r !== null));
    const g = await guard.forTenant(req, type, 'r', tenant);
    return send(reply, 200, await vault.reader.resource(g.ctx, tenant, type, id, g.view));
  });
}

export type Sender = (reply: FastifyReply, status: number, body: unknown) => FastifyReply;

/** An unsupported type in the path is an unknown endpoint. */
export function clinicalType(t: string): ClinicalType {
  if (!isClinicalType(t)) throw new NotFound();
  return t;
}

/** The candidate tenant holding the record, else the first candidate (whose read then answers 404). */
export async function locate(req: FastifyRequest, guard: Guard, holds: (tenant: string) => Promise<boolean>): Promise<string> {
  const candidates = await guard.candidateTenants(req);
  // One candidate: the audited read itself answers 404 if the record is not there.
  if (candidates.length === 1) return candidates[0] as string;
  for (const t of candidates) if (await holds(t)) return t;
  const first = candidates[0];
  if (first === undefined) throw new NotFound();
  return first;
}

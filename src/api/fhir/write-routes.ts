import type { FastifyInstance, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Vault } from '../../compose.js';
import { InvalidInput } from '../../domain/errors.js';
import type { AccessContext } from '../../domain/principal.js';
import { isClinicalType } from '../../domain/resource-type.js';
import { TENANT_TAG_SYSTEM } from '../../domain/tenant.js';
import { bsnFreeId } from '../../domain/validate-resource.js';
import type { IngestResult } from '../../services/ingest-service.js';
import { bundleEntries } from '../../services/bundle-entries.js';
import { outcome } from '../operation-outcome.js';
import { baseUrl } from './bundle.js';
import type { Guard } from './guard.js';
import type { Sender } from './read-routes.js';

/**
 * FHIR create (POST /fhir/{type}) and transaction (POST /fhir with a transaction Bundle). Both go
 * through the same validated, encrypted, all-or-nothing store path as bulk ingest: one invalid
 * entry and nothing is stored. Each entry must be creatable by the caller in its tenant (tag, or
 * the caller's only tenant when untagged); one refusal refuses the whole request.
 */
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function registerWriteRoutes(app: FastifyInstance, vault: Vault, guard: Guard, send: Sender): void {
  app.post<{ Params: { type: string }; Body: unknown }>('/fhir/:type', { config: { write: true } }, async (req, reply) => {
    const type = req.params.type;
    if (type !== 'Patient' && !isClinicalType(type)) return send(reply, 404, outcome('not-supported', 'no such endpoint'));
    const body = req.body;
    if (!isObj(body) || body.resourceType !== type) throw new InvalidInput(`body must be a ${type} resource`);
    const resource = { ...body, id: typeof body.id === 'string' ? body.id : newId(type) };
    const ctx = await authorise(req, guard, [resource]);
    const result = await vault.ingest.submit(ctx, await tagged(req, guard, resource), 'request');
    throwIfRejected(result);
    // Acknowledged only once its event is witnessed and journaled: a restore can then always list it.
    await vault.audit.witnessed();
    const status = result.unchanged > 0 ? 200 : 201;
    void reply.header('location', `${baseUrl(req)}/${type}/${String(resource.id)}`);
    return send(reply, status, await tagged(req, guard, resource));
  });

  app.post<{ Body: unknown }>('/fhir', { config: { write: true } }, async (req, reply) => {
    const body = req.body;
    if (!isObj(body) || body.resourceType !== 'Bundle') throw new InvalidInput('POST /fhir takes a transaction Bundle');
    // Only creates are supported: an update or delete entry silently stored as a create would
    // tell the client something happened that did not.
    for (const e of Array.isArray(body.entry) ? (body.entry as unknown[]) : []) {
      const method = isObj(e) && isObj(e.request) ? e.request.method : undefined;
      if (method !== undefined && method !== 'POST') throw new InvalidInput('transaction entries: only POST (create) is supported');
    }
    const resources = bundleEntries(body).map((r) => {
      if (!isObj(r)) throw new InvalidInput('Bundle entry is not a resource');
      const type = String(r.resourceType);
      return { ...r, id: typeof r.id === 'string' ? r.id : newId(type) };
    });
    const complete: Obj[] = [];
    for (const r of resources) complete.push(await tagged(req, guard, r));
    const ctx = await authorise(req, guard, complete);
    const result = await vault.ingest.submit(
      ctx,
      { resourceType: 'Bundle', type: 'transaction', entry: complete.map((resource) => ({ resource })) },
      'Bundle',
    );
    throwIfRejected(result);
    // Acknowledged only once its event is witnessed and journaled: a restore can then always list it.
    await vault.audit.witnessed();
    const base = baseUrl(req);
    return send(reply, 200, {
      resourceType: 'Bundle',
      type: 'transaction-response',
      entry: complete.map((r) => ({
        response: { status: '201 Created', location: `${base}/${String(r.resourceType)}/${String(r.id)}` },
      })),
    });
  });
}

function newId(type: string): string {
  const prefix: Record<string, string> = {
    Patient: 'pat',
    ServiceRequest: 'sr',
    Specimen: 'spec',
    Observation: 'obs',
    DiagnosticReport: 'dr',
  };
  return bsnFreeId(() => `${prefix[type] ?? 'r'}-${randomUUID()}`);
}

function tenantTag(r: Obj): string | null {
  const tags = isObj(r.meta) && Array.isArray(r.meta.tag) ? (r.meta.tag as unknown[]) : [];
  for (const t of tags) if (isObj(t) && t.system === TENANT_TAG_SYSTEM && typeof t.code === 'string') return t.code;
  return null;
}

/** The resource with its tenant tag: as sent, or the caller's single tenant added. */
async function tagged(req: FastifyRequest, guard: Guard, r: Obj): Promise<Obj> {
  if (tenantTag(r) !== null) return r;
  const tenant = await guard.singleTenant(req);
  const meta = isObj(r.meta) ? r.meta : {};
  const tags: unknown[] = Array.isArray(meta.tag) ? (meta.tag as unknown[]) : [];
  return { ...r, meta: { ...meta, tag: [...tags, { system: TENANT_TAG_SYSTEM, code: tenant }] } };
}

/** Every (type, tenant) of the request must be creatable; the context of the last decision is used (same principal). */
async function authorise(req: FastifyRequest, guard: Guard, resources: Obj[]): Promise<AccessContext> {
  let ctx: AccessContext | null = null;
  const seen = new Set<string>();
  for (const r of resources) {
    const type = String(r.resourceType);
    if (type !== 'Patient' && !isClinicalType(type)) throw new InvalidInput('unsupported resource type in request');
    const tenant = tenantTag(r) ?? (await guard.singleTenant(req));
    const key = `${type}\u0000${tenant}`;
    if (seen.has(key)) continue;
    seen.add(key);
    ctx = (await guard.forTenant(req, type, 'c', tenant)).ctx;
  }
  if (!ctx) throw new InvalidInput('nothing to create');
  return ctx;
}

function throwIfRejected(result: IngestResult): void {
  if (result.rejected === 0) return;
  const reasons = result.errors.map((e) => e.reason).slice(0, 10);
  throw new InvalidInput(`rejected, nothing stored: ${reasons.join('; ')}`);
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import type { Vault } from '../../compose.js';
import { InvalidInput, NotFound } from '../../domain/errors.js';
import type { VaultResourceType } from '../../domain/resource-type.js';
import { EXPORT_TYPES } from '../../services/export-service.js';
import { outcome } from '../operation-outcome.js';
import { contextOf } from '../request-context.js';
import { single, type Query } from '../search-params.js';
import { baseUrl } from './bundle.js';
import type { Guard } from './guard.js';
import type { Sender } from './read-routes.js';

/**
 * FHIR Bulk Data export, system level, one tenant per job: kick-off (202 + Content-Location),
 * status (202 while awaiting the second person's approval, then the manifest), and NDJSON files
 * streamed page by page from the vault. Two people: the requester (a controller system) and a
 * security officer who approves (POST /admin/exports/{id}/approve).
 */
export function registerExportRoutes(app: FastifyInstance, vault: Vault, guard: Guard, send: Sender): void {
  const kickOff = async (req: FastifyRequest<{ Querystring: Query }>, reply: FastifyReply) => {
    const q = req.query;
    for (const k of Object.keys(q))
      if (!['_type', '_since', '_outputFormat'].includes(k)) throw new InvalidInput(`unsupported $export parameter: ${k.slice(0, 40)}`);
    const fmt = single(q, '_outputFormat');
    if (fmt !== undefined && !['application/fhir+ndjson', 'application/ndjson', 'ndjson'].includes(fmt))
      throw new InvalidInput('_outputFormat: NDJSON only');
    const typeParam = single(q, '_type');
    const types = (typeParam === undefined ? [...EXPORT_TYPES] : typeParam.split(',')) as VaultResourceType[];
    for (const t of types)
      if (!EXPORT_TYPES.includes(t)) throw new InvalidInput('_type: Patient, ServiceRequest, Specimen, Observation, DiagnosticReport');
    await guard.admin(req, 'export.request');
    const tenant = await guard.singleTenant(req);
    let ctx = contextOf(req);
    for (const t of types) ctx = (await guard.forTenant(req, t, 'r', tenant)).ctx;
    const job = await vault.exports.request(ctx, tenant, [...new Set(types)], single(q, '_since') ?? null);
    void reply.header('content-location', `${baseUrl(req)}/$export-status/${job.id}`);
    return send(reply, 202, outcome('informational', 'export requested: it starts when a security officer approves it', 'information'));
  };

  // A kick-off stores a job, whatever the method: refused in read-only mode (status and files are reads).
  app.get<{ Querystring: Query }>('/fhir/$export', { config: { write: true } }, kickOff);
  app.post<{ Querystring: Query }>('/fhir/$export', { config: { write: true } }, kickOff);

  app.get<{ Params: { id: string } }>('/fhir/$export-status/:id', async (req, reply) => {
    // Like every request: a purpose of use the role may act under, and a role that uses bulk export.
    await guard.admin(req, 'export.request');
    const job = await vault.exports.status(contextOf(req), req.params.id);
    if (job.state !== 'approved') {
      void reply.header('x-progress', 'awaiting approval by a security officer').header('retry-after', '30');
      return send(reply, 202, outcome('informational', 'awaiting approval by a security officer', 'information'));
    }
    const base = baseUrl(req);
    return send(reply, 200, {
      transactionTime: job.approvedAt,
      request: `${base}/$export?_type=${job.types.join(',')}`,
      requiresAccessToken: true,
      output: job.types.map((type) => ({ type, url: `${base}/$export-file/${job.id}/${type}` })),
      error: [],
    });
  });

  app.get<{ Params: { id: string; type: string } }>('/fhir/$export-file/:id/:type', async (req, reply) => {
    const job = await vault.store.getExportJob(req.params.id);
    const type = req.params.type as VaultResourceType;
    if (!job || !EXPORT_TYPES.includes(type)) throw new NotFound();
    const g = await guard.forTenant(req, type, 'r', job.tenantId);
    const pages = vault.exports.download(g.ctx, job.id, type, g.view)[Symbol.asyncIterator]();
    // The first page is read before the status line, so a refusal is still a clean 403/404.
    const first = await pages.next();
    async function* rest(): AsyncGenerator<string> {
      if (!first.done) yield first.value;
      // A failure after the headers breaks the stream: the client sees a truncated file, never a "complete" one.
      for (let n = await pages.next(); !n.done; n = await pages.next()) yield n.value;
    }
    return reply.code(200).header('content-type', 'application/fhir+ndjson').send(Readable.from(rest()));
  });
}

import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Vault } from '../../compose.js';
import { baseUrl } from './bundle.js';
import { capabilityStatement } from './capability-statement.js';
import { registerExportRoutes } from './export-routes.js';
import { Guard } from './guard.js';
import { registerReadRoutes } from './read-routes.js';
import { registerSearchRoutes } from './search-routes.js';
import { registerWriteRoutes } from './write-routes.js';

/** The FHIR R4 base at /fhir. Specific paths ($export, metadata) before the generic /:type ones. */
export function registerFhirRoutes(app: FastifyInstance, vault: Vault): void {
  const guard = new Guard(vault);
  const send = (reply: FastifyReply, status: number, body: unknown): FastifyReply =>
    reply.code(status).header('content-type', 'application/fhir+json; charset=utf-8').send(body);
  app.get('/fhir/metadata', { config: { public: true } }, async (req, reply) =>
    send(reply, 200, capabilityStatement(baseUrl(req), '0.1.0')),
  );
  registerExportRoutes(app, vault, guard, send);
  registerReadRoutes(app, vault, guard, send);
  registerSearchRoutes(app, vault, guard, send);
  registerWriteRoutes(app, vault, guard, send);
}

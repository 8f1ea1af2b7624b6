import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { randomUUID } from 'node:crypto';
import type { JWTVerifyGetKey } from 'jose';
import { Authenticator } from '../access/authenticator.js';
import type { Vault } from '../compose.js';
import { Unauthenticated, VaultError } from '../domain/errors.js';
import type { Role } from '../domain/principal.js';
import { ApiMetrics } from './api-metrics.js';
import { outcome, toOutcome } from './operation-outcome.js';
import { originOf } from './request-context.js';
import { registerFhirRoutes } from './fhir/fhir-routes.js';
import { registerAdminRoutes } from './admin-routes.js';
import { openApiDocument } from './openapi.js';

/**
 * The HTTP server: FHIR R4 under /fhir, admin actions under /admin, health, metrics and OpenAPI.
 * Request order: security headers and a deadline for everything; authentication for every route
 * not marked public (a failure is audited and answers 401); per-principal rate limit; then the
 * route, which authorises (access/policy.ts) and calls services that audit what they return.
 * Errors leave as OperationOutcome only; stack traces and internals go to the server log.
 */
export interface AppOptions {
  /** Key resolver for the external identity provider (tests); default: its JWKS URL. */
  externalKeys?: JWTVerifyGetKey;
  /** Log errors (pino, to stderr) — off in tests. Request URLs are never logged: they can hold a BSN. */
  log?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** No credential needed (health, metrics, metadata, OpenAPI, JWKS). */
    public?: boolean;
  }
}

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export async function buildApp(vault: Vault, opts: AppOptions = {}): Promise<FastifyInstance> {
  const cfg = vault.config.api;
  const app = Fastify({
    bodyLimit: cfg.bodyLimit,
    requestTimeout: cfg.requestTimeoutMs,
    connectionTimeout: cfg.requestTimeoutMs * 2,
    genReqId: () => randomUUID(),
    logger: opts.log
      ? { level: 'warn', serializers: { req: (r: FastifyRequest) => ({ method: r.method, path: r.url.split('?')[0] }) } }
      : false,
    // Query strings are parsed by Node's URLSearchParams: no nested objects (qs-style a[b]=c) to smuggle.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  });
  app.decorateRequest('auth', null);
  const metrics = new ApiMetrics();
  const authenticator = new Authenticator({
    ownKey: vault.issuer.publicKey,
    config: cfg,
    store: vault.store,
    clock: vault.clock,
    ...(opts.externalKeys ? { externalKeys: opts.externalKeys } : {}),
  });

  for (const type of ['application/fhir+json', 'application/json+fhir']) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => parseJson(body as string, done));
  }
  // Form-encoded POST _search keeps identifiers out of URLs (proxy and access logs).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.addHook('onRequest', async (req, reply) => {
    securityHeaders(reply);
    metrics.start(req);
    const timer = setTimeout(() => {
      if (!reply.sent) void reply.code(503).header('content-type', FHIR_JSON).send(outcome('timeout', 'request took too long'));
    }, cfg.requestTimeoutMs);
    timer.unref();
    reply.raw.once('close', () => clearTimeout(timer));
    if (req.routeOptions.config.public === true) return;
    try {
      req.auth = await authenticator.authenticate(req.headers.authorization, header(req, 'x-api-key'));
    } catch (e) {
      if (!(e instanceof Unauthenticated)) throw e;
      metrics.authFailure(e.why);
      await recordAuthFailure(vault, req, e.why);
      reply.header('www-authenticate', 'Bearer realm="labvault", error="invalid_token"');
      throw e;
    }
  });

  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: cfg.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (req) => (req.auth ? `p:${req.auth.principal.id}` : `ip:${req.ip}`),
    allowList: (req) => req.routeOptions.config.public === true,
    onExceeded: (req) => metrics.rateLimited(req),
  });

  app.addHook('onResponse', async (req, reply) => metrics.finish(req, reply.statusCode));

  app.setErrorHandler(async (err, req, reply) => {
    const { status, body, internal } = toOutcome(err);
    if (internal) req.log.error({ err }, 'request failed');
    if (status === 429 && req.auth) await recordRateLimited(vault, req);
    return reply.code(status).header('content-type', FHIR_JSON).send(body);
  });
  app.setNotFoundHandler({ preHandler: app.rateLimit() }, async (_req, reply) =>
    reply.code(404).header('content-type', FHIR_JSON).send(outcome('not-supported', 'no such endpoint')),
  );

  app.get('/healthz', { config: { public: true } }, async () => ({ status: 'ok', backend: vault.store.backend }));
  app.get('/metrics', { config: { public: true } }, async (_req, reply) =>
    reply.header('content-type', metrics.contentType).send(await metrics.render(vault)),
  );
  app.get('/openapi.json', { config: { public: true } }, async () => openApiDocument());
  app.get('/.well-known/jwks.json', { config: { public: true } }, async () => ({ keys: [vault.issuer.jwk()] }));

  registerFhirRoutes(app, vault);
  registerAdminRoutes(app, vault);
  return app;
}

function parseJson(body: string, done: (err: Error | null, value?: unknown) => void): void {
  try {
    done(null, JSON.parse(body));
  } catch {
    const e = new SyntaxError('malformed JSON') as SyntaxError & { statusCode: number };
    e.statusCode = 400;
    done(e);
  }
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Headers for an API that returns health data: nothing cached, sniffed, framed or referred. */
function securityHeaders(reply: FastifyReply): void {
  reply.header('cache-control', 'no-store');
  reply.header('x-content-type-options', 'nosniff');
  reply.header('x-frame-options', 'DENY');
  reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
  reply.header('referrer-policy', 'no-referrer');
  reply.header('strict-transport-security', 'max-age=63072000; includeSubDomains');
  reply.header('cross-origin-resource-policy', 'same-origin');
}

/** Whoever failed to authenticate is nobody we know: the event says so, with the cause. */
const UNAUTHENTICATED = { id: 'unauthenticated', role: 'unauthenticated' as Role, tenants: [] as string[] };

async function recordAuthFailure(vault: Vault, req: FastifyRequest, why: string): Promise<void> {
  const ctx = { principal: UNAUTHENTICATED, purpose: null, origin: originOf(req) };
  await vault.audit.record([
    vault.audit.event(ctx, { action: 'auth.fail', outcome: 'denied', reason: 'unauthenticated', detail: { cause: why } }),
  ]);
}

async function recordRateLimited(vault: Vault, req: FastifyRequest): Promise<void> {
  const a = req.auth;
  if (!a) return;
  const ctx = {
    principal: { id: a.principal.id, role: a.principal.role, tenants: a.principal.tenants },
    purpose: a.purpose,
    origin: originOf(req),
  };
  try {
    await vault.audit.record([vault.audit.event(ctx, { action: 'access.denied', outcome: 'denied', reason: 'rate-limited' })]);
  } catch (e) {
    if (!(e instanceof VaultError)) throw e;
  }
}

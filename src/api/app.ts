import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { randomUUID } from 'node:crypto';
import type { JWTVerifyGetKey } from 'jose';
import { Authenticator } from '../access/authenticator.js';
import type { Vault } from '../compose.js';
import { AccessDenied, InvalidInput, Unauthenticated, VaultError } from '../domain/errors.js';
import type { Role } from '../domain/principal.js';
import { bsnFreeId } from '../domain/validate-resource.js';
import { ApiMetrics } from './api-metrics.js';
import { AuthThrottle } from './auth-throttle.js';
import { outcome, toOutcome } from './operation-outcome.js';
import { originOf } from './request-context.js';
import { registerFhirRoutes } from './fhir/fhir-routes.js';
import { registerAdminRoutes } from './admin-routes.js';
import { openApiDocument } from './openapi.js';
import type { IntegrityStatus } from '../services/integrity-monitor.js';

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
  /**
   * The live store's integrity (services/integrity-monitor.ts). Once it has failed, every /fhir
   * and /admin request answers 503 before authentication (authenticating reads the store that
   * failed) and /healthz answers 503 naming the failed checks and the newest verified backup.
   */
  integrity?: IntegrityStatus;
  /**
   * Degraded service (e.g. from a backup while the live store is restored): every write answers
   * 503 with this reason, after authentication; reads are served and audited exactly as usual.
   */
  readOnly?: { reason: string };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** No credential needed (health, metrics, metadata, OpenAPI, JWKS). */
    public?: boolean;
    /**
     * The route changes the vault (refused in read-only mode). Default: every method but GET,
     * HEAD and OPTIONS writes, so a write route added later is refused without being listed;
     * POST _search says false, the GET form of an export kick-off says true.
     */
    write?: boolean;
  }
}

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export async function buildApp(vault: Vault, opts: AppOptions = {}): Promise<FastifyInstance> {
  const cfg = vault.config.api;
  const app = Fastify({
    bodyLimit: cfg.bodyLimit,
    requestTimeout: cfg.requestTimeoutMs,
    connectionTimeout: cfg.requestTimeoutMs * 2,
    // The request id is recorded in audit events, where a BSN-like digit run would be masked.
    genReqId: () => bsnFreeId(randomUUID),
    logger: opts.log
      ? {
          level: 'warn',
          serializers: { req: (r: FastifyRequest) => ({ method: r.method, path: r.url.split('?')[0] }) },
          // Fastify's own messages quote request URLs (e.g. "Reply was already sent … /fhir/Patient?identifier=…"):
          // every string logged loses its query string, where a BSN or name can be.
          hooks: {
            logMethod(args: unknown[], method: (...a: unknown[]) => void) {
              method.apply(
                this,
                args.map((a) => (typeof a === 'string' ? redactQueries(a) : a)),
              );
            },
          },
        }
      : false,
    // Query strings are parsed by Node's URLSearchParams: no nested objects (qs-style a[b]=c) to smuggle.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // URLs the router refuses (bad percent-encoding, a path segment over maxParamLength) answer an
    // OperationOutcome too: fastify's default body echoes the path, which may hold an identifier.
    frameworkErrors: (err, _req, res) => {
      const reply = res as FastifyReply;
      securityHeaders(reply);
      const { status, body } = toOutcome(err);
      void reply.code(status).header('content-type', FHIR_JSON).send(body);
    },
  });
  app.decorateRequest('auth', null);
  const metrics = new ApiMetrics(vault);
  const throttle = new AuthThrottle(cfg.authFailuresPerMinute);
  const deadlines = new WeakMap<FastifyRequest, NodeJS.Timeout>();
  const authenticator = new Authenticator({
    ownKey: vault.issuer.publicKey,
    config: cfg,
    store: vault.store,
    clock: vault.clock,
    ...(opts.externalKeys ? { externalKeys: opts.externalKeys } : {}),
  });

  // application/json too: the framework's own parser bounds neither nesting nor the FHIR variants' rules.
  for (const type of ['application/fhir+json', 'application/json+fhir', 'application/json']) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => parseJson(body as string, done));
  }
  // Form-encoded POST _search keeps identifiers out of URLs (proxy and access logs).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    // Repeated keys stay repeated (date=ge…&date=le…): dropping one would widen the search.
    // No prototype: a `__proto__` key stays an own key, which the search then refuses as unknown.
    const out = Object.create(null) as Record<string, string | string[]>;
    for (const [k, v] of new URLSearchParams(body as string)) {
      const prev = out[k];
      out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    done(null, out);
  });

  app.addHook('onRequest', async (req, reply): Promise<FastifyReply | void> => {
    securityHeaders(reply);
    // The id the audit events of this request carry: lets a client or operator find them.
    reply.header('x-request-id', req.id);
    metrics.start(req);
    const failure = opts.integrity?.failure ?? null;
    if (failure !== null && STORE_ROUTES.test(req.url)) {
      // Nothing read from a store that failed its check can be trusted, credentials included.
      return reply
        .code(503)
        .header('content-type', FHIR_JSON)
        .send(
          outcome(
            'no-store',
            `the store failed its integrity check (${failure.checks.join(', ')}); nothing is served until it is restored`,
            'fatal',
          ),
        );
    }
    // The deadline covers the work before a response starts; a response already streaming (an
    // export download) is not cut off by it, and a late 503 is never sent after headers.
    const timer = setTimeout(() => {
      if (!reply.sent && !reply.raw.headersSent)
        void reply.code(503).header('content-type', FHIR_JSON).send(outcome('timeout', 'request took too long'));
    }, cfg.requestTimeoutMs);
    timer.unref();
    deadlines.set(req, timer);
    reply.raw.once('close', () => clearTimeout(timer));
    // A client that accepts only XML must not get JSON it cannot read and act on wrongly.
    const accept = req.headers.accept;
    if (accept !== undefined && /xml/i.test(accept) && !/json|\*\/\*/i.test(accept)) {
      throw Object.assign(new Error('not acceptable'), { statusCode: 406 });
    }
    if (req.routeOptions.config.public === true) return;
    // A contained thief's address is refused before its credential is even looked at.
    await vault.containment.refresh();
    const blockedBy = vault.containment.originBlocked(req.ip);
    if (blockedBy !== null) {
      metrics.originBlocked();
      await recordOriginBlocked(vault, req, blockedBy);
      throw new AccessDenied('requests from this address are blocked by a containment');
    }
    const wait = throttle.retryAfter(req.ip);
    if (wait > 0) {
      metrics.authFailure('throttled');
      // One event per address per minute: a flood of refused guesses must not grow the log at line rate.
      if (throttle.firstRefusal(req.ip)) await recordAuthFailure(vault, req, 'throttled');
      reply.header('retry-after', String(wait));
      throw Object.assign(new Error('too many failed authentications'), { statusCode: 429 });
    }
    try {
      req.auth = await authenticator.authenticate(req.headers.authorization, header(req, 'x-api-key'));
    } catch (e) {
      if (!(e instanceof Unauthenticated)) throw e;
      throttle.failed(req.ip);
      metrics.authFailure(e.why);
      await recordAuthFailure(vault, req, e.why);
      reply.header('www-authenticate', 'Bearer realm="labvault", error="invalid_token"');
      throw e;
    }
    // After authentication, so a refusal tells only a known caller that the vault is read-only;
    // before the body is parsed, so nothing of a refused write is even read.
    if (opts.readOnly && isWrite(req)) {
      return reply
        .code(503)
        .header('content-type', FHIR_JSON)
        .send(outcome('no-store', `the vault is read-only: ${opts.readOnly.reason}`));
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

  app.addHook('onSend', async (req) => clearTimeout(deadlines.get(req)));
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

  app.get('/healthz', { config: { public: true } }, async (_req, reply) => {
    const failure = opts.integrity?.failure ?? null;
    // The backup's id only: its path would tell anyone who can reach /healthz where the copies are.
    if (failure !== null)
      return reply.code(503).send({ status: 'integrity-failed', reason: failure.reason, newest_backup: failure.newestBackup?.id ?? null });
    if (opts.readOnly) return { status: 'read-only', reason: opts.readOnly.reason, backend: vault.store.backend };
    return { status: 'ok', backend: vault.store.backend };
  });
  app.get('/metrics', { config: { public: true } }, async (_req, reply) =>
    reply.header('content-type', metrics.contentType).send(await metrics.render(vault)),
  );
  app.get('/openapi.json', { config: { public: true } }, async () => openApiDocument());
  app.get('/.well-known/jwks.json', { config: { public: true } }, async () => ({ keys: [vault.issuer.jwk()] }));

  registerFhirRoutes(app, vault);
  registerAdminRoutes(app, vault);
  return app;
}

/** What a failed integrity check closes: everything that reads or writes the store. */
const STORE_ROUTES = /^\/(?:fhir|admin)(?:[/?]|$)/;

const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

function isWrite(req: FastifyRequest): boolean {
  return req.routeOptions.config.write ?? !READ_METHODS.has(req.method);
}

/**
 * FHIR resources nest a dozen levels or so; much deeper JSON (cheap to send: `[[[[…`) would parse
 * but then overflow the stack of whatever walks or serialises it, a 500.
 */
const MAX_JSON_DEPTH = 100;
/** Only a body that could spell `__proto__` or `prototype` (maybe \u-escaped) pays for the reviver. */
const MAY_POISON = /proto|\\u/i;

/** `…/Patient?identifier=…` → `…/Patient?<redacted>`: query strings can hold identifiers. */
export function redactQueries(text: string): string {
  return text.replace(/\?[^\s"'`)]*/g, '?<redacted>');
}

function parseJson(body: string, done: (err: Error | null, value?: unknown) => void): void {
  if (nestingDepth(body) > MAX_JSON_DEPTH) return done(new InvalidInput(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`));
  let value: unknown;
  try {
    value = JSON.parse(body, MAY_POISON.test(body) ? refusePoison : undefined);
  } catch (cause) {
    if (cause instanceof InvalidInput) return done(cause);
    const e = new SyntaxError('malformed JSON') as SyntaxError & { statusCode: number };
    e.statusCode = 400;
    return done(e);
  }
  done(null, value);
}

/** As fastify's own JSON parser does: a `__proto__` or `constructor.prototype` key is refused, not carried along. */
function refusePoison(key: string, value: unknown): unknown {
  if (key === '__proto__' || (key === 'constructor' && typeof value === 'object' && value !== null && Object.hasOwn(value, 'prototype')))
    throw new InvalidInput('JSON with a __proto__ or constructor.prototype key');
  return value;
}

/** Deepest `{`/`[` nesting outside strings (stops counting past the limit). */
function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > deepest) deepest = depth;
      if (deepest > MAX_JSON_DEPTH) return deepest;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
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

/** One event per refused request from a blocked address: the containment's effect is evidence too. */
async function recordOriginBlocked(vault: Vault, req: FastifyRequest, containmentId: string): Promise<void> {
  const ctx = { principal: UNAUTHENTICATED, purpose: null, origin: originOf(req) };
  await vault.audit.record([
    vault.audit.event(ctx, {
      action: 'access.denied',
      outcome: 'denied',
      reason: 'origin-blocked',
      detail: { containment: containmentId },
    }),
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

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Vault } from '../../compose.js';
import { InvalidInput } from '../../domain/errors.js';
import type { ClinicalType } from '../../domain/resource-type.js';
import type { FhirResource } from '../../domain/resource-view.js';
import type { ResourceSearch } from '../../ports/access-store.js';
import type { ReadShape } from '../../services/vault-reader.js';
import { common, dateRange, patientRef, rejectUnknown, single, token, type Query } from '../search-params.js';
import { baseUrl, searchset } from './bundle.js';
import type { Guard } from './guard.js';
import { clinicalType, locate, type Sender } from './read-routes.js';

/**
 * FHIR search, GET /fhir/{type}?… or POST /fhir/{type}/_search with a form body (keeps the BSN
 * out of URLs and access logs). Patient: by identifier (BSN, through the keyed blind index) or by
 * family + birthdate; nothing broader. Clinical types: patient/subject, date, status, code, with
 * `_include=<Type>:subject|patient` for the patients, `_count` capped, keyset paging by `_after`.
 * Totals and links are computed within the one tenant being searched.
 */
const CLINICAL_PARAMS = ['patient', 'subject', 'date', 'status', 'code'];

export function registerSearchRoutes(app: FastifyInstance, vault: Vault, guard: Guard, send: Sender): void {
  const patientSearch = async (req: FastifyRequest, q: Query): Promise<Record<string, unknown>> => {
    await guard.interaction(req, 'Patient', 's');
    rejectUnknown(q, ['identifier', 'family', 'birthdate']);
    const { count } = common(q, vault.config.api.maxCount, []);
    const identifier = single(q, 'identifier');
    const family = single(q, 'family');
    const birthdate = single(q, 'birthdate');
    let params: [string, string][];
    let run: (tenant: string, shape: ReadShape) => Promise<FhirResource[]>;
    if (identifier !== undefined && family === undefined && birthdate === undefined) {
      const value = identifier.includes('|') ? bsnValue(identifier) : identifier;
      // The BSN is not echoed into the Bundle's links: a client that kept it out of the URL
      // (POST _search) should not find it in a link it logs. The links say a BSN search was made.
      params = [['identifier', 'http://fhir.nl/fhir/NamingSystem/bsn|(redacted)']];
      run = async (t, shape) => {
        const g = await guard.forTenant(req, 'Patient', 's', t);
        return vault.reader.patientsByBsn(g.ctx, t, value, g.view, shape);
      };
    } else if (identifier === undefined && family !== undefined && birthdate !== undefined) {
      if (family.length > 100 || !/^\d{4}-\d{2}-\d{2}$/.test(birthdate))
        throw new InvalidInput('family (≤ 100 characters) and birthdate (yyyy-mm-dd)');
      // Name and birth date are identifying together: not echoed into links either.
      params = [
        ['family', '(redacted)'],
        ['birthdate', '(redacted)'],
      ];
      run = async (t, shape) => {
        const g = await guard.forTenant(req, 'Patient', 's', t);
        return vault.reader.patientsByNameAndBirthDate(g.ctx, t, family, birthdate, g.view, shape);
      };
    } else throw new InvalidInput('Patient search needs identifier, or family and birthdate');
    const found: FhirResource[] = [];
    // One lookup is one miss at most, however many tenants it runs in (detection counts misses).
    const tenants = await guard.candidateTenants(req);
    for (const [i, t] of tenants.entries()) {
      const last = i === tenants.length - 1;
      found.push(...(await run(t, { kind: 'identifier-search', missCounts: last && found.length === 0 })));
    }
    // A BSN or name matches a handful of patients; more than a page is cut, not paged.
    return searchset({ base: baseUrl(req), path: 'Patient', params, matches: found.slice(0, count), total: found.length, next: null });
  };

  const clinicalSearch = async (req: FastifyRequest, type: ClinicalType, q: Query): Promise<Record<string, unknown>> => {
    await guard.interaction(req, type, 's');
    rejectUnknown(q, CLINICAL_PARAMS);
    const c = common(q, vault.config.api.maxCount, [`${type}:subject`, `${type}:patient`]);
    if (c.include) await guard.interaction(req, 'Patient', 'r');
    const patientRaw = single(q, 'patient') ?? single(q, 'subject');
    if (single(q, 'patient') !== undefined && single(q, 'subject') !== undefined) throw new InvalidInput('patient and subject: give one');
    const status = single(q, 'status');
    if (status !== undefined && !/^[a-z-]{1,32}$/.test(status)) throw new InvalidInput('status: not a status code');
    const codeRaw = single(q, 'code');
    const search: ResourceSearch = {
      type,
      ...(patientRaw !== undefined ? { patientId: patientRef(patientRaw) } : {}),
      ...(status !== undefined ? { status } : {}),
      ...(codeRaw !== undefined ? { code: token(codeRaw, 'code') } : {}),
      ...dateRange(q),
      ...(c.after !== undefined ? { afterId: c.after } : {}),
      limit: c.count,
    };
    const patientId = search.patientId;
    const tenant =
      patientId !== undefined
        ? await locate(req, guard, (t) => vault.store.getPatient(t, patientId).then((r) => r !== null))
        : await guard.singleTenant(req);
    const g = await guard.forTenant(req, type, 's', tenant);
    const shape = {
      kind: 'search' as const,
      broad: isBroad(search, vault.config.detection.enumeration.broadSearchDays, vault.clock.now()),
    };
    const page = await vault.reader.search(g.ctx, tenant, search, g.view, { includePatients: c.include, shape });
    const params: [string, string][] = [];
    if (patientRaw !== undefined) params.push(['patient', search.patientId as string]);
    for (const k of ['status', 'code'] as const) {
      const v = single(q, k);
      if (v !== undefined) params.push([k, v]);
    }
    const d = q.date;
    for (const v of d === undefined ? [] : Array.isArray(d) ? d : [d]) params.push(['date', v]);
    if (c.include) params.push(['_include', single(q, '_include') as string]);
    params.push(['_count', String(c.count)]);
    if (c.after !== undefined) params.push(['_after', c.after]);
    return searchset({
      base: baseUrl(req),
      path: type,
      params,
      matches: page.matches,
      included: page.included,
      total: page.total,
      next: page.next,
    });
  };

  const dispatch = async (req: FastifyRequest, typeName: string, q: Query): Promise<Record<string, unknown>> =>
    typeName === 'Patient' ? patientSearch(req, q) : clinicalSearch(req, clinicalType(typeName), q);

  app.get<{ Params: { type: string }; Querystring: Query }>('/fhir/:type', async (req, reply) =>
    send(reply, 200, await dispatch(req, req.params.type, req.query)),
  );
  // A read sent as POST (identifiers stay out of URLs): served in read-only mode.
  const read = { config: { write: false } };
  app.post<{ Params: { type: string }; Querystring: Query; Body: unknown }>('/fhir/:type/_search', read, async (req, reply) => {
    // FHIR's POST _search takes a form body; a JSON body would bring numbers and objects.
    const type = req.headers['content-type'];
    if (req.body !== undefined && !(typeof type === 'string' && type.startsWith('application/x-www-form-urlencoded'))) {
      throw Object.assign(new Error('unsupported media type'), { statusCode: 415 });
    }
    const body = req.body;
    const form = typeof body === 'object' && body !== null ? (body as Query) : {};
    if (Object.keys(req.query).length > 0 && Object.keys(form).length > 0)
      throw new InvalidInput('_search: parameters in the body or the URL, not both');
    return send(reply, 200, await dispatch(req, req.params.type, Object.keys(form).length > 0 ? form : req.query));
  });
}

/** `http://fhir.nl/fhir/NamingSystem/bsn|123456782`: only the BSN system is searchable. */
function bsnValue(identifier: string): string {
  const bar = identifier.lastIndexOf('|');
  const system = identifier.slice(0, bar);
  if (system !== '' && system !== 'http://fhir.nl/fhir/NamingSystem/bsn')
    throw new InvalidInput('identifier: only the BSN system is searchable');
  return identifier.slice(bar + 1);
}

/**
 * A search about nobody in particular over an open or wide date range: what paging through a
 * tenant looks like. A poll of new results (a day, a week) is not broad; an open upper bound runs
 * to today.
 */
export function isBroad(q: ResourceSearch, maxDays: number, now: Date): boolean {
  if (q.patientId !== undefined) return false;
  if (q.dateFrom === undefined) return true;
  const to = q.dateTo === undefined ? now.getTime() : Date.parse(q.dateTo);
  return (to - Date.parse(q.dateFrom)) / 86_400_000 > maxDays;
}

import type { FastifyRequest } from 'fastify';
import type { FhirResource } from '../../domain/resource-view.js';

/**
 * FHIR searchset Bundles. Links are rebuilt from the validated parameters only (never the raw
 * query string), so nothing a client sent unvalidated is reflected, and a `next` link carries only
 * the last id of this page — of this tenant, which the caller may read.
 */
export function baseUrl(req: FastifyRequest): string {
  const host = typeof req.headers.host === 'string' && /^[A-Za-z0-9.:[\]-]{1,255}$/.test(req.headers.host) ? req.headers.host : 'localhost';
  return `${req.protocol}://${host}/fhir`;
}

export interface SearchsetInput {
  base: string;
  path: string;
  params: [string, string][];
  matches: FhirResource[];
  included?: FhirResource[];
  total: number | null;
  next: string | null;
}

export function searchset(s: SearchsetInput): Record<string, unknown> {
  const link = [{ relation: 'self', url: url(s.base, s.path, s.params) }];
  if (s.next !== null)
    link.push({ relation: 'next', url: url(s.base, s.path, [...s.params.filter(([k]) => k !== '_after'), ['_after', s.next]]) });
  const entry = [
    ...s.matches.map((r) => ({ fullUrl: `${s.base}/${r.resourceType}/${r.id}`, resource: r, search: { mode: 'match' } })),
    ...(s.included ?? []).map((r) => ({ fullUrl: `${s.base}/${r.resourceType}/${r.id}`, resource: r, search: { mode: 'include' } })),
  ];
  return { resourceType: 'Bundle', type: 'searchset', ...(s.total !== null ? { total: s.total } : {}), link, entry };
}

function url(base: string, path: string, params: [string, string][]): string {
  const q = new URLSearchParams(params).toString();
  return `${base}/${path}${q ? `?${q}` : ''}`;
}

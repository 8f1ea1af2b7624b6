import { InvalidInput } from '../domain/errors.js';

/**
 * Unpacks a FHIR transaction Bundle into plain resources. Entries may carry their own id or only a
 * `urn:uuid:` fullUrl (the usual shape from an LIS); the uuid then becomes the id, and references
 * to it inside the Bundle are rewritten to `Type/id`, so re-sending the same Bundle is idempotent.
 */
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function bundleEntries(bundle: Obj): unknown[] {
  if (bundle.type !== 'transaction') throw new InvalidInput('Bundle.type must be "transaction"');
  const entries = bundle.entry;
  if (!Array.isArray(entries) || entries.length === 0) throw new InvalidInput('Bundle.entry is empty');
  const rewrite = new Map<string, string>();
  const resources: Obj[] = [];
  entries.forEach((e, i) => {
    if (!isObj(e) || !isObj(e.resource)) throw new InvalidInput(`Bundle.entry[${i}].resource is required`);
    const r = { ...e.resource };
    const fullUrl = typeof e.fullUrl === 'string' ? e.fullUrl : undefined;
    if (r.id === undefined && fullUrl?.startsWith('urn:uuid:')) r.id = fullUrl.slice('urn:uuid:'.length);
    if (fullUrl && typeof r.resourceType === 'string' && typeof r.id === 'string') {
      rewrite.set(fullUrl, `${r.resourceType}/${r.id}`);
    }
    resources.push(r);
  });
  if (rewrite.size === 0) return resources;
  return resources.map((r) => rewriteRefs(r, rewrite));
}

function rewriteRefs(v: unknown, map: Map<string, string>): unknown {
  if (Array.isArray(v)) return v.map((x) => rewriteRefs(x, map));
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    out[k] = k === 'reference' && typeof x === 'string' ? (map.get(x) ?? x) : rewriteRefs(x, map);
  }
  return out;
}

import { createHash } from 'node:crypto';
import { InvalidInput } from '../domain/errors.js';
import { containsBsnLike } from '../domain/validate-resource.js';

/**
 * Unpacks a FHIR transaction Bundle into plain resources. Entries may carry their own id or only a
 * `urn:uuid:` fullUrl (the usual shape from an LIS); the uuid then becomes the id, and references
 * to it inside the Bundle are rewritten to `Type/id`, so re-sending the same Bundle is idempotent.
 * About one random UUID in 180 holds a digit run that passes the 11-proof, which validation refuses
 * as a BSN-like id: such a uuid gets a stand-in id instead (see `idForUuid`).
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
    if (r.id === undefined && fullUrl?.startsWith('urn:uuid:')) r.id = idForUuid(fullUrl.slice('urn:uuid:'.length));
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

/**
 * The id an entry known only by `urn:uuid:<uuid>` gets: the uuid itself, or, when the uuid looks
 * like a BSN (the client drew it at random; it carries no identifier, but validation cannot tell),
 * a stand-in derived from it. Derived, not drawn, so the same Bundle sent again gets the same ids
 * and stays idempotent; shaped like a UUID, re-hashed with a round number until BSN-free.
 */
export function idForUuid(uuid: string): string {
  if (!containsBsnLike(uuid)) return uuid;
  for (let round = 0; ; round++) {
    const h = createHash('sha256').update(`labvault urn:uuid stand-in\n${uuid}\n${round}`).digest('hex');
    const id = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
    if (!containsBsnLike(id)) return id;
  }
}

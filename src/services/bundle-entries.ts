import { InvalidInput } from '../domain/errors.js';
import { containsBsnLike } from '../domain/validate-resource.js';

/**
 * Unpacks a FHIR transaction Bundle into plain resources. Entries may carry their own id or only a
 * `urn:uuid:` fullUrl (the usual shape from an LIS); the uuid then becomes the id, and references
 * to it inside the Bundle are rewritten to `Type/id`, so re-sending the same Bundle is idempotent.
 * About one random UUID in 180 holds a digit run that passes the 11-proof, which validation refuses
 * as a BSN-like id: such a UUID gets its digit run masked instead (see `idForUuid`).
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
 * The id an entry known only by `urn:uuid:<uuid>` gets: the uuid itself, or, when a well-formed
 * UUID holds a digit run that passes the 11-proof (about one random UUID in 180; validation refuses
 * such ids as BSN-like), the UUID with the digits of every run of eight or more replaced by `x`.
 * Not a hash: a hash of a value with a BSN in it could be reversed by trying the 10^9 numbers; the
 * masked run says nothing of its digits. The same UUID always gives the same id, so a Bundle sent
 * again stays idempotent, and an id with `x` in it can be no other UUID's own. Anything that is not
 * a UUID is kept as it is, for validation to refuse.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function idForUuid(uuid: string): string {
  if (!UUID.test(uuid) || !containsBsnLike(uuid)) return uuid;
  // In a UUID's 8-4-4-4-12 groups only an 8- or 12-character group can hold a run long enough.
  return uuid.replace(/\d{8,}/g, (run) => 'x'.repeat(run.length));
}

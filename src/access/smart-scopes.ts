/**
 * SMART App Launch v2 scopes (`system/DiagnosticReport.rs`, `user/*.cruds`) with the v1 forms
 * (`.read`, `.write`, `.*`) read as their v2 equivalents. A scope can only narrow what a role may
 * do (policy.ts intersects both): a token that asks for `system/*.cruds` still gets no more than
 * its principal's role allows.
 */
export type Interaction = 'c' | 'r' | 'u' | 'd' | 's';

export interface SmartScope {
  context: 'system' | 'user' | 'patient';
  /** A resource type or `*`. */
  type: string;
  ops: ReadonlySet<Interaction>;
}

const V1: Record<string, string> = { read: 'rs', write: 'cud', '*': 'cruds' };
const SCOPE = /^(system|user|patient)\/([A-Za-z]+|\*)\.(\*|read|write|c?r?u?d?s?)(\?.*)?$/;

/** Parses one scope; null for anything that is not a resource scope (openid, launch, fhirUser…). */
export function parseScope(text: string): SmartScope | null {
  const m = SCOPE.exec(text);
  const letters = m?.[3];
  if (!m || letters === undefined || letters === '') return null;
  // Scopes with search-parameter restrictions (`?category=…`) would need per-parameter
  // enforcement; refusing them (no grant) is the fail-closed choice until that exists.
  if (m[4] !== undefined) return null;
  const ops = V1[letters] ?? letters;
  return { context: m[1] as SmartScope['context'], type: m[2] as string, ops: new Set(ops.split('') as Interaction[]) };
}

/**
 * Parses a space-separated `scope` claim, dropping what is not a resource scope. Every request
 * parses its token's and its principal's scopes; the few distinct scope sets are remembered.
 */
export function parseScopes(claim: string | readonly string[]): readonly SmartScope[] {
  const key = typeof claim === 'string' ? claim : claim.join(' ');
  let parsed = PARSED.get(key);
  if (!parsed) {
    parsed = key.split(/\s+/).flatMap((p) => {
      const s = parseScope(p);
      return s ? [s] : [];
    });
    if (PARSED.size >= 1000) PARSED.clear();
    PARSED.set(key, parsed);
  }
  return parsed;
}

const PARSED = new Map<string, readonly SmartScope[]>();

/** Whether any scope grants `op` on `type`. Only `system/` and `user/` contexts are honoured (no patient launch context). */
export function scopesAllow(scopes: readonly SmartScope[], type: string, op: Interaction): boolean {
  return scopes.some((s) => s.context !== 'patient' && (s.type === '*' || s.type === type) && s.ops.has(op));
}

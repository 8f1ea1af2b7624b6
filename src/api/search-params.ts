import { InvalidInput } from '../domain/errors.js';

/**
 * FHIR search parameters labvault supports, parsed strictly: an unknown parameter is an error
 * (FHIR's `handling=strict`), not silently ignored, because a client that believes it filtered
 * by a parameter we ignore would receive (and we would disclose) far more than it asked for.
 * Values are bounded in length and shape before they reach a query (always as bound parameters).
 */
export type Query = Record<string, string | string[] | undefined>;

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const TOKEN = /^[\x21-\x7e]{1,128}$/;
const DATE = /^(eq|ge|le|gt|lt)?(\d{4}-\d{2}-\d{2})$/;
const COMMON = new Set(['_count', '_after', '_format', '_include', '_total']);

export interface CommonParams {
  count: number;
  after: string | undefined;
  include: boolean;
}

export function single(q: Query, name: string): string | undefined {
  const v: unknown = q[name];
  if (Array.isArray(v)) throw new InvalidInput(`search parameter ${name} given more than once`);
  // Defence in depth: only strings reach the parsers, whatever a body parser produced.
  if (v !== undefined && typeof v !== 'string') throw new InvalidInput(`search parameter ${name} must be text`);
  return v;
}

export function rejectUnknown(q: Query, allowed: readonly string[]): void {
  for (const k of Object.keys(q)) {
    if (!COMMON.has(k) && !allowed.includes(k))
      throw new InvalidInput(`unsupported search parameter: ${k.slice(0, 40).replace(/[^\w.:-]/g, '?')}`);
  }
}

/** `_count` defaults to 20 and is capped at `max` (FHIR: the server may return fewer). */
export function common(q: Query, max: number, includeTargets: readonly string[]): CommonParams {
  const rawCount = single(q, '_count');
  // The default is capped too: a server configured for at most 10 must not return 20 unasked.
  let count = Math.min(20, max);
  if (rawCount !== undefined) {
    if (!/^\d+$/.test(rawCount)) throw new InvalidInput('_count must be a non-negative integer');
    // Any number of digits: a huge value (even one beyond Number's range, read as Infinity) is capped.
    count = Math.min(Number(rawCount), max);
  }
  const after = single(q, '_after');
  if (after !== undefined && !ID.test(after)) throw new InvalidInput('_after: not a resource id');
  const inc = single(q, '_include');
  if (inc !== undefined && !includeTargets.includes(inc))
    throw new InvalidInput(`_include: supported ${includeTargets.join(', ') || 'none'}`);
  const fmt = single(q, '_format');
  if (fmt !== undefined && !['json', 'application/json', 'application/fhir+json'].includes(fmt))
    throw new InvalidInput('_format: only JSON');
  return { count, after, include: inc !== undefined };
}

export function id(value: string, what: string): string {
  if (!ID.test(value)) throw new InvalidInput(`${what}: not a resource id`);
  return value;
}

/** `patient=Patient/abc`, `patient=abc` or `subject=Patient/abc`. */
export function patientRef(value: string): string {
  return id(value.replace(/^Patient\//, ''), 'patient');
}

/** `code=system|code` or `code=code`: the stored code column holds the code alone. */
export function token(value: string, what: string): string {
  if (!TOKEN.test(value)) throw new InvalidInput(`${what}: not a token`);
  const bar = value.lastIndexOf('|');
  const code = bar >= 0 ? value.slice(bar + 1) : value;
  if (code === '') throw new InvalidInput(`${what}: empty code`);
  return code;
}

/** `date` (repeatable): eq/ge/le/gt/lt on a day; returns inclusive bounds. */
export function dateRange(q: Query): { dateFrom?: string; dateTo?: string } {
  const raw = q.date;
  const given: unknown[] = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const values = given.filter((v): v is string => typeof v === 'string');
  if (values.length !== given.length) throw new InvalidInput('date must be text');
  if (values.length > 2) throw new InvalidInput('date: at most two bounds');
  const out: { dateFrom?: string; dateTo?: string } = {};
  for (const v of values) {
    const m = DATE.exec(v);
    // Date.parse takes 2024-02-31 for 2 March: only a day that reads back the same is one.
    if (!m || !isDay(m[2] as string)) throw new InvalidInput('date: expected [eq|ge|le|gt|lt]yyyy-mm-dd');
    const day = m[2] as string;
    switch (m[1] ?? 'eq') {
      case 'eq':
        out.dateFrom = max(out.dateFrom, day);
        out.dateTo = min(out.dateTo, day);
        break;
      case 'ge':
        out.dateFrom = max(out.dateFrom, day);
        break;
      case 'gt':
        out.dateFrom = max(out.dateFrom, shift(day, 1));
        break;
      case 'le':
        out.dateTo = min(out.dateTo, day);
        break;
      case 'lt':
        out.dateTo = min(out.dateTo, shift(day, -1));
        break;
    }
  }
  return out;
}

function isDay(day: string): boolean {
  const t = Date.parse(`${day}T00:00:00Z`);
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === day;
}

function shift(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}
const max = (a: string | undefined, b: string): string => (a === undefined || b > a ? b : a);
const min = (a: string | undefined, b: string): string => (a === undefined || b < a ? b : a);

import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidInput } from '../domain/errors.js';
import type { Matcher, MatcherModule, MatcherSpec } from './scan-types.js';

/**
 * Imports a matcher module and creates its matcher. A module named ".js" that exists only as ".ts"
 * (the sources, run by vitest) is loaded as ".ts", so the same spec works from src and from dist.
 */
export async function loadMatcher(spec: MatcherSpec): Promise<Matcher> {
  let url = spec.module.startsWith('file:') ? new URL(spec.module) : pathToFileURL(spec.module);
  if (url.pathname.endsWith('.js') && !existsSync(fileURLToPath(url))) {
    const ts = new URL(url.href.replace(/\.js$/, '.ts'));
    if (existsSync(fileURLToPath(ts))) url = ts;
  }
  const mod = (await import(url.href)) as Partial<MatcherModule>;
  if (typeof mod.createMatcher !== 'function') throw new InvalidInput('leak scan: the matcher module exports no createMatcher(data)');
  const m = await mod.createMatcher(spec.data);
  if (typeof m?.matchBsns !== 'function' || typeof m.matchNameDates !== 'function')
    throw new InvalidInput('leak scan: createMatcher(data) returned no matcher');
  return m;
}

import type { Hit, Matcher } from './scan-types.js';

/**
 * A matcher for tests and benchmarks: plain maps from BSN and from "family|yyyy-mm-dd" key to hits.
 * It holds identifiers in plaintext, so it is never what a real scan loads (that is
 * leak-matcher.ts, which holds keyed indexes only).
 *
 * Data: pairs of candidate and hits, or (compact, for large benchmark vaults) newline-separated
 * lists whose i-th line is patient i of tenant 0.
 */
export type TestMatcherData = { bsns: [string, Hit[]][]; keys: [string, Hit[]][] } | { bsnLines: string; keyLines: string };

/** Line i → patient i of tenant 0; hits are made on demand (a benchmark vault has 10^5–10^6 lines). */
function fromLines(lines: string): (v: string) => Hit[] {
  const m = new Map<string, number>();
  let patient = 0;
  for (let at = 0; at <= lines.length; patient++) {
    let end = lines.indexOf('\n', at);
    if (end < 0) end = lines.length;
    const v = lines.slice(at, end);
    // A value shared by two patients keeps the first: enough for benchmarks.
    if (v !== '' && !m.has(v)) m.set(v, patient);
    at = end + 1;
  }
  return (v) => {
    const p = m.get(v);
    return p === undefined ? [] : [{ tenant: 0, patient: p }];
  };
}

function fromPairs(pairs: [string, Hit[]][]): (v: string) => Hit[] {
  const m = new Map(pairs);
  return (v) => m.get(v) ?? [];
}

export function createMatcher(data: TestMatcherData): Matcher {
  const bsn = 'bsnLines' in data ? fromLines(data.bsnLines) : fromPairs(data.bsns);
  const key = 'keyLines' in data ? fromLines(data.keyLines) : fromPairs(data.keys);
  return {
    matchBsns: (values) => values.map(bsn),
    matchNameDates: (values) => values.map(key),
  };
}

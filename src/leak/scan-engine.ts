import { InvalidInput } from '../domain/errors.js';
import type { ByteEvents } from './byte-events.js';
import { CachedMatcher } from './cached-matcher.js';
import { CandidateCollector } from './candidate-collector.js';
import { createScanner } from './create-scanner.js';
import type { LeakFormat } from './format-sniff.js';
import type { FormatScanner } from './format-scanner.js';
import { loadMatcher } from './load-matcher.js';
import { matchChunk } from './match-chunk.js';
import { createNativeScanner, loadLeakExtract } from './native-extract.js';
import { createNativeMatcher } from './native-match.js';
import { packHits, type PackedHits } from './packed-hits.js';
import type { Matcher, MatcherSpec } from './scan-types.js';
import { DistinctValues, UnitHits, type UnitHit } from './unit-hits.js';

/**
 * What a worker scans with: the format scanners that find candidates and the matching that books
 * them. `js` is the TypeScript reference; `native` the same work in the C addons (faster; tests
 * hold it to the reference's output). A scan's result does not depend on the engine.
 */
export type EngineName = 'js' | 'native';

/** The hits and unmatched BSNs of one unit (or tar member), chunk by chunk. */
export interface UnitBook {
  /** Matches the collector's chunk (see match-chunk.ts); returns its candidate count and empties the collector. */
  matchChunk(c: CandidateCollector, buf: Buffer, unitId: number): number;
  hits(): UnitHit[];
  /** hits() packed for the main thread (packed-hits.ts), without an object per hit where the engine can. */
  packed(): PackedHits;
  /** Distinct unmatched valid BSNs, sorted. */
  unmatched(): Uint32Array;
}

export interface ScanEngine {
  readonly name: EngineName;
  /**
   * The collector for the next unit (or tar member): it takes over the previous one's column
   * arrays (CandidateCollector.successor), as an engine scans one unit at a time.
   */
  collector(): CandidateCollector;
  scanner(format: LeakFormat, delimiter: number, c: CandidateCollector, events: ByteEvents, midFile: boolean): FormatScanner;
  book(): UnitBook;
}

/**
 * The engine `name`, or native where both addons load and the TypeScript reference otherwise (the
 * addons are built by `npm ci`; a machine without a compiler still scans, more slowly).
 */
export async function createEngine(spec: MatcherSpec, name?: EngineName): Promise<ScanEngine> {
  const matcher = await loadMatcher(spec);
  if (name !== 'js') {
    const native = nativeEngine(matcher);
    if (native) return native;
    if (name === 'native') throw new InvalidInput('leak scan: the native scan engine is not built (npm run build:native)');
  }
  return jsEngine(new CachedMatcher(matcher));
}

function successors(): () => CandidateCollector {
  let last: CandidateCollector | null = null;
  return () => (last = last ? last.successor() : new CandidateCollector());
}

function nativeEngine(matcher: Matcher): ScanEngine | null {
  const m = createNativeMatcher(matcher);
  if (!m || !loadLeakExtract()) return null;
  return {
    name: 'native',
    collector: successors(),
    scanner: (format, delimiter, c, _events, midFile) => {
      const s = createNativeScanner(format, delimiter, c, midFile);
      if (!s) throw new Error(`native ${format} scanner unavailable after its addon loaded`);
      return s;
    },
    book: () => {
      const u = m.newUnit();
      return {
        matchChunk: (c, buf, unitId) => m.matchChunk(c, buf, unitId, u),
        hits: () => u.list(),
        packed: () => u.packed(),
        unmatched: () => u.unmatched(),
      };
    },
  };
}

function jsEngine(m: CachedMatcher): ScanEngine {
  return {
    name: 'js',
    collector: successors(),
    scanner: (format, delimiter, c, events, midFile) => createScanner(format, delimiter, c, events, midFile),
    book: () => {
      const hits = new UnitHits(m.ordinals);
      const unmatched = new DistinctValues();
      return {
        matchChunk: (c, buf, unitId) => matchChunk(c, buf, m, unitId, hits, unmatched),
        hits: () => hits.list(),
        packed: () => packHits([{ hits: hits.list() }]),
        unmatched: () => unmatched.values(),
      };
    },
  };
}

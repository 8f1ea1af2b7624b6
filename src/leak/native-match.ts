import { timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { blindIndexMessages, blindIndexUnderPrfKey } from '../crypto/blind-index.js';
import { IntegrityViolation } from '../domain/errors.js';
import { bsnString } from './bsn-digits.js';
import { BATCH, checkResults } from './cached-matcher.js';
import { isoDate } from './calendar-date.js';
import type { CandidateCollector } from './candidate-collector.js';
import { familyOf } from './key-occurrences.js';
import { PatientOrdinals } from './patient-ordinals.js';
import type { Hit, KeyedTables, Matcher } from './scan-types.js';
import type { UnitHit } from './unit-hits.js';
import { HIT_FIELDS, type PackedHits } from './packed-hits.js';

/**
 * The matching and booking of a scanned chunk (match-chunk.ts with cached-matcher.ts, bsn-table.ts,
 * key-table.ts, unit-hits.ts and record-categories.ts) in the C addon native/leak-match, with the
 * same results: the per-occurrence loop is most of a scan's matching time when the leak is the
 * lab's own data (every record a hit). The addon says which candidates are new; a Matcher that
 * hands over its keyed tables (the LeakMatcher) is then computed in the addon as well
 * (keyed_index.c), any other gets them in batches of BATCH as CachedMatcher sends them. Results
 * come back as patient ordinals (numbered here, by PatientOrdinals, in the same order as the
 * JavaScript path numbers them). A chunk costs two or three calls, none per occurrence.
 */

/**
 * A worker's native matcher (tables + ordinals) in front of a Matcher; null when the addon cannot
 * load. A Matcher that hands over its keyed tables (leak-matcher.ts) is computed in the addon too,
 * once its PRF is seen to give node:crypto's answers.
 */
export function createNativeMatcher(matcher: Matcher): NativeMatcher | null {
  const addon = loadLeakMatch();
  if (!addon) return null;
  const tables = matcher.keyedTables?.();
  return new NativeChunkMatcher(addon, matcher, tables ? keyedIndex(addon, tables) : null);
}

/**
 * The addon's index of `tables`, checked: under each tenant's key its PRF must give node:crypto's
 * indexes. The tables' keys are zeroed after (the addon keeps only its key schedules).
 */
export function keyedIndex(addon: Pick<LeakMatchAddon, 'createIndex' | 'indexesOf'>, tables: KeyedTables): Handle {
  try {
    return checkedIndex(addon, tables);
  } finally {
    for (const t of tables.tenants) t.key.fill(0);
  }
}

function checkedIndex(addon: Pick<LeakMatchAddon, 'createIndex' | 'indexesOf'>, tables: KeyedTables): Handle {
  const index = addon.createIndex(tables.tenants);
  const probes = {
    bsn: blindIndexMessages('bsn', ['123456782', '000000000']),
    'name-birthdate': blindIndexMessages('name-birthdate', ['jansen|1960-01-02', `${'x'.repeat(70)}|2000-12-31`]),
  } as const;
  tables.tenants.forEach((t, ti) => {
    for (const domain of ['bsn', 'name-birthdate'] as const) {
      const msg = probes[domain];
      const native = addon.indexesOf(index, ti, domain === 'bsn' ? 1 : 4, msg);
      const reference = blindIndexUnderPrfKey(Buffer.from(t.key.buffer, t.key.byteOffset, t.key.byteLength), domain, msg, 2);
      if (!timingSafeEqual(Buffer.from(native.buffer, native.byteOffset, native.byteLength), reference))
        throw new IntegrityViolation('leak scan: the native blind-index PRF disagrees with node:crypto');
    }
  });
  return index;
}

/** record-categories.ts recordCategories in the addon (for tests: booking calls it in C); null when the addon cannot load. */
export function nativeRecordCategories(buf: Uint8Array, s: number, e: number): number | null {
  const addon = loadLeakMatch();
  return addon ? addon.recordCategories(buf, s, e) : null;
}

export interface NativeMatcher {
  /** A fresh per-unit hit table (UnitHits equivalent) and unmatched-BSN set (DistinctValues equivalent). */
  newUnit(): NativeUnit;
  /** Same contract as matchChunk(c, buf, m, unit, hits, unmatched): books the chunk's candidates, returns their count, clears the collector. */
  matchChunk(c: CandidateCollector, buf: Buffer, unit: number, u: NativeUnit): number;
}

export interface NativeUnit {
  list(): UnitHit[];
  /** list() packed for the main thread, straight from the addon's numbers (no object per hit). */
  packed(): PackedHits;
  unmatched(): Uint32Array;
}

/** Opaque C state (type-tagged externals, freed by their finalizers). */
type Handle = object;

export interface LeakMatchAddon {
  createMatcher(): Handle;
  createHits(): Handle;
  createValues(): Handle;
  /**
   * null: no new candidates; else [new BSNs nb, new keys nk, nb BSN numbers, nk occurrence indices].
   * Counts the BSNs known to match nobody in `unmatched` (the slot is at hand); book follows with the same unit.
   */
  lookup(
    m: Handle,
    unmatched: Handle,
    unit: number,
    bsnValue: Int32Array,
    nb: number,
    h1: Int32Array,
    h2: Int32Array,
    date: Int32Array,
    nk: number,
  ): Int32Array | null;
  settle(m: Handle, kind: 0 | 1, from: number, counts: Int32Array, n: number, ords: Int32Array, nords: number): void;
  book(
    m: Handle,
    hits: Handle,
    unmatched: Handle,
    unit: number,
    buf: Uint8Array,
    bsnLine: Int32Array,
    bsnRecord: Int32Array,
    nb: number,
    keyLine: Int32Array,
    keyRecord: Int32Array,
    nk: number,
    recordStart: Int32Array,
    recordEnd: Int32Array,
    recordHint: Int32Array,
    records: number,
  ): void;
  /** 5 words per entry in first-seen order: ordinal, kind (0 BSN, 1 name + birth date), line, categories, count. */
  list(hits: Handle): Int32Array;
  values(unmatched: Handle): Uint32Array;
  recordCategories(buf: Uint8Array, s: number, e: number): number;
  createIndex(tenants: KeyedTables['tenants']): Handle;
  /** n counts, then a (tenant, patient) pair per hit, candidate by candidate (the Matcher's answers, in its order). */
  matchBsns(index: Handle, values: Int32Array, n: number): Int32Array;
  /** The same for the key occurrences at[0 .. n), their family names read from buf[from, to). */
  matchKeys(index: Handle, buf: Uint8Array, from: Int32Array, to: Int32Array, date: Int32Array, at: Int32Array, n: number): Int32Array;
  /** The PRF of each message (blocks × 16 bytes) under tenant `tenant`'s key. */
  indexesOf(index: Handle, tenant: number, blocks: number, messages: Uint8Array): Uint8Array;
}

const ADDON = fileURLToPath(new URL('../../native/leak-match/build/Release/leak_match.node', import.meta.url));

let loaded: LeakMatchAddon | null | undefined;

/** The addon, or null when it is not built. */
export function loadLeakMatch(): LeakMatchAddon | null {
  if (loaded !== undefined) return loaded;
  try {
    loaded = createRequire(import.meta.url)(ADDON) as LeakMatchAddon;
  } catch (cause) {
    // Not built (npm ci --ignore-scripts, no compiler): the JavaScript path does the same work.
    if ((cause as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw cause;
    loaded = null;
  }
  return loaded;
}

class NativeChunkMatcher implements NativeMatcher {
  /** The patients found, numbered as CachedMatcher numbers them; the C tables and unit hits hold these numbers. */
  readonly ordinals = new PatientOrdinals();
  /** Distinct candidates sent to the matcher (CachedMatcher.matched). */
  matched = 0;
  private readonly state: Handle;
  private counts = new Int32Array(BATCH);
  private ords = new Int32Array(BATCH);

  constructor(
    private readonly addon: LeakMatchAddon,
    private readonly matcher: Matcher,
    /** The Matcher's keyed tables in the addon (keyedIndex), or null: new candidates go to the Matcher. */
    private readonly index: Handle | null,
  ) {
    this.state = addon.createMatcher();
  }

  newUnit(): NativeUnit {
    return new NativeUnitHits(this.addon, this.ordinals);
  }

  matchChunk(c: CandidateCollector, buf: Buffer, unit: number, u: NativeUnit): number {
    if (!(u instanceof NativeUnitHits) || u.ordinals !== this.ordinals) throw new TypeError('not a unit of this matcher');
    // The tables mark BSNs counted unmatched with the unit in 32 bits, as BsnTable does.
    if (!Number.isInteger(unit) || unit < -0x80000000 || unit > 0x7fffffff) throw new RangeError('unit id out of range');
    c.settleColumns();
    const nb = c.bsnValue.length;
    const k = c.keys;
    const nk = k.length;
    const pending = this.addon.lookup(this.state, u.values, unit, c.bsnValue.data, nb, k.h1.data, k.h2.data, k.date.data, nk);
    if (pending !== null) this.resolve(pending, c, buf);
    const r = c.recordStart;
    this.addon.book(
      this.state,
      u.hits,
      u.values,
      unit,
      buf,
      c.bsnLine.data,
      c.bsnRecord.data,
      nb,
      k.line.data,
      k.record.data,
      nk,
      r.data,
      c.recordEnd.data,
      c.recordHint.data,
      r.length,
    );
    c.clearChunk();
    return nb + nk;
  }

  /** CachedMatcher.resolve: the chunk's new BSNs, then its new keys, to the matcher in batches, settled as ordinals. */
  private resolve(pending: Int32Array, c: CandidateCollector, buf: Buffer): void {
    const nb = pending[0] as number;
    const nk = pending[1] as number;
    if (this.index !== null) {
      const k = c.keys;
      if (nb > 0) this.settlePairs(0, this.addon.matchBsns(this.index, pending.subarray(2, 2 + nb), nb), nb);
      if (nk > 0)
        this.settlePairs(1, this.addon.matchKeys(this.index, buf, k.from.data, k.to.data, k.date.data, pending.subarray(2 + nb), nk), nk);
      this.matched += nb + nk;
      return;
    }
    for (let i = 0; i < nb; i += BATCH) {
      const n = Math.min(BATCH, nb - i);
      const values: string[] = [];
      for (let j = 0; j < n; j++) values.push(bsnString(pending[2 + i + j] as number));
      this.settle(0, i, this.matcher.matchBsns(values), n);
    }
    const k = c.keys;
    for (let i = 0; i < nk; i += BATCH) {
      const n = Math.min(BATCH, nk - i);
      const values: string[] = [];
      for (let j = 0; j < n; j++) {
        // The family name is read from the occurrence that entered the key, as KeyTable.lookup reads it.
        const at = pending[2 + nb + i + j] as number;
        values.push(`${familyOf(buf, k.from.get(at), k.to.get(at))}|${isoDate(k.date.get(at))}`);
      }
      this.settle(1, i, this.matcher.matchNameDates(values), n);
    }
    this.matched += nb + nk;
  }

  /** Results of all n pending candidates of a kind as the addon's index gives them: n counts, then (tenant, patient) pairs. */
  private settlePairs(kind: 0 | 1, r: Int32Array, n: number): void {
    const pairs = (r.length - n) / 2;
    if (this.ords.length < pairs) this.ords = new Int32Array(pairs);
    for (let j = 0, at = n; j < pairs; j++, at += 2) this.ords[j] = this.ordinals.ofPair(r[at] as number, r[at + 1] as number);
    this.addon.settle(this.state, kind, 0, r.subarray(0, n), n, this.ords, pairs);
  }

  /** Results of pending candidates from..from+n as ordinal lists, in one call. */
  private settle(kind: 0 | 1, from: number, hits: readonly (readonly Hit[])[], n: number): void {
    checkResults(hits, n);
    if (this.counts.length < n) this.counts = new Int32Array(n);
    let nords = 0;
    for (let j = 0; j < n; j++) {
      const list = hits[j] as readonly Hit[];
      this.counts[j] = list.length;
      for (const h of list) {
        if (nords === this.ords.length) {
          const next = new Int32Array(nords * 2);
          next.set(this.ords);
          this.ords = next;
        }
        this.ords[nords++] = this.ordinals.of(h);
      }
    }
    this.addon.settle(this.state, kind, from, this.counts, n, this.ords, nords);
  }
}

class NativeUnitHits implements NativeUnit {
  readonly hits: Handle;
  readonly values: Handle;

  constructor(
    private readonly addon: LeakMatchAddon,
    readonly ordinals: PatientOrdinals,
  ) {
    this.hits = addon.createHits();
    this.values = addon.createValues();
  }

  list(): UnitHit[] {
    const w = this.addon.list(this.hits);
    const out: UnitHit[] = [];
    for (let at = 0; at < w.length; at += 5) {
      const ord = w[at] as number;
      out.push({
        tenant: this.ordinals.tenant(ord),
        patient: this.ordinals.patient(ord),
        kind: w[at + 1] === 0 ? 'bsn' : 'name-date',
        line: w[at + 2] as number,
        categories: w[at + 3] as number,
        count: w[at + 4] as number,
      });
    }
    return out;
  }

  packed(): PackedHits {
    const w = this.addon.list(this.hits);
    const values = new Float64Array((w.length / 5) * HIT_FIELDS);
    for (let at = 0, o = 0; at < w.length; at += 5, o += HIT_FIELDS) {
      const ord = w[at] as number;
      values[o] = this.ordinals.tenant(ord);
      values[o + 1] = this.ordinals.patient(ord);
      values[o + 2] = w[at + 1] === 0 ? 0 : 1;
      values[o + 3] = w[at + 2] as number;
      values[o + 4] = w[at + 3] as number;
      values[o + 5] = w[at + 4] as number;
      values[o + 6] = -1;
    }
    return { values, members: [] };
  }

  unmatched(): Uint32Array {
    return this.addon.values(this.values);
  }
}

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { CandidateCollector } from './candidate-collector.js';
import { headerNames } from './delimited-scanner.js';
import { fieldRole } from './field-role.js';
import type { LeakFormat } from './format-sniff.js';
import type { FormatScanner, ScanMode } from './format-scanner.js';
import type { IntList } from './int-list.js';
import { statementColumns } from './sql-statement.js';

/**
 * The candidate extraction in C (native/leak-extract): the format scanners, the candidate
 * collector and the name + birth date keys, producing exactly what the JavaScript scanners write
 * into a CandidateCollector (native-extract.test.ts drives both over the same chunks and compares
 * every column). One N-API call per chunk: the C scanner fills its own columns, settles the
 * column verdicts of 8-digit values (per-file statistics stay in C), and the columns are appended
 * to the collector in bulk, so the collector's own settleColumns() finds nothing pending.
 * Field names are still given their roles by field-role.ts: the C side asks through the
 * callbacks below, once per distinct name (it remembers the answers).
 */
interface LeakExtractAddon {
  create(format: number, delimiter: number, midFile: boolean): object;
  scan(
    handle: object,
    buf: Uint8Array,
    from: number,
    to: number,
    mode: number,
    recordBase: number,
    out: Int32Array[],
    counts: Int32Array,
    nameRole: (s: number, e: number) => number,
    listRoles: (kind: number, s: number, e: number) => Uint8Array,
  ): number;
  useHeader(
    handle: object,
    buf: Uint8Array,
    s: number,
    e: number,
    nameRole: (s: number, e: number) => number,
    listRoles: (kind: number, s: number, e: number) => Uint8Array,
  ): void;
  release(handle: object): void;
}

const ADDON = fileURLToPath(new URL('../../native/leak-extract/build/Release/leak_extract.node', import.meta.url));

let addon: LeakExtractAddon | null | undefined;

/** The addon, or null when it is not built. */
export function loadLeakExtract(): LeakExtractAddon | null {
  if (addon !== undefined) return addon;
  try {
    addon = createRequire(import.meta.url)(ADDON) as LeakExtractAddon;
  } catch (cause) {
    // Not built (npm ci --ignore-scripts): the JavaScript scanners do the same work. A build that
    // exists but does not load is a broken install, not a choice, so that is not hidden.
    if ((cause as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw cause;
    addon = null;
  }
  return addon;
}

const FORMAT = { delimited: 0, json: 1, sql: 2, xml: 3, hl7: 4 } as const;
/** What the C side asks listRoles for (field_roles.h). */
const LIST_CSV_HEADER = 1;
/** Columns the C side reads from scan()'s `out`, in this order (collector.h COL_*). */
const COLUMNS = 13;
const MAX_COLUMNS = 256;

/** The native scanner of a format, writing into `c` exactly what the JS scanner would; null when the addon is not built/loadable. */
export function createNativeScanner(format: LeakFormat, delimiter: number, c: CandidateCollector, midFile: boolean): FormatScanner | null {
  const a = loadLeakExtract();
  if (!a) return null;
  switch (format) {
    case 'csv':
      return new NativeScanner(a, c, FORMAT.delimited, delimiter, midFile, true);
    case 'text':
      // As createScanner: plain text is never mid-file for the header rule.
      return new NativeScanner(a, c, FORMAT.delimited, -1, false, true);
    case 'json':
      return new NativeScanner(a, c, FORMAT.json, 0, false, false);
    case 'ndjson':
      return new NativeScanner(a, c, FORMAT.json, 1, false, false);
    case 'xml':
      return new NativeScanner(a, c, FORMAT.xml, 0, false, false);
    case 'sql':
      return new NativeScanner(a, c, FORMAT.sql, -1, midFile, true);
    case 'hl7':
      return new NativeScanner(a, c, FORMAT.hl7, 0, false, false);
  }
}

class NativeScanner implements FormatScanner {
  lines = 0;
  endsInsideRecord = false;
  readonly useHeader?: (buf: Buffer, s: number, e: number) => void;
  private readonly handle: object;
  /** The buffer the C side is reading (its callbacks give offsets into it). */
  private current: Buffer = Buffer.alloc(0);
  /** The collector's arrays, passed to the C side, which may replace them by larger ones. */
  private readonly out: Int32Array[] = [];
  private readonly counts = new Int32Array(COLUMNS + 2);
  private readonly targets: readonly IntList[];
  private closed = false;

  constructor(
    private readonly addon: LeakExtractAddon,
    private readonly c: CandidateCollector,
    format: number,
    private readonly delimiter: number,
    midFile: boolean,
    hasHeader: boolean,
  ) {
    this.handle = addon.create(format, delimiter, midFile);
    this.targets = c.outputColumns();
    if (hasHeader)
      this.useHeader = (buf, s, e) => {
        this.current = buf;
        this.addon.useHeader(this.handle, buf, s, e, this.nameRole, this.listRoles);
      };
  }

  scan(buf: Buffer, from: number, to: number, mode: ScanMode): number {
    this.current = buf;
    const counts = this.counts;
    const out = this.out;
    // The C side appends to the collector's own arrays (replacing one that is too small).
    for (let i = 0; i < COLUMNS; i++) {
      const t = this.targets[i] as IntList;
      out[i] = t.data;
      counts[i] = t.length;
    }
    // The line count goes in as well as out: scanUnit restarts it past 2^30 lines (rebasing-book.ts).
    counts[COLUMNS] = this.lines;
    const consumed = this.addon.scan(
      this.handle,
      buf,
      from,
      to,
      mode,
      this.c.recordStart.length,
      out,
      counts,
      this.nameRole,
      this.listRoles,
    );
    for (let i = 0; i < COLUMNS; i++) {
      const t = this.targets[i] as IntList;
      t.data = out[i] as Int32Array;
      t.length = counts[i] as number;
    }
    this.lines = counts[COLUMNS];
    this.endsInsideRecord = counts[COLUMNS + 1] === 1;
    return consumed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.addon.release(this.handle);
  }

  private readonly nameRole = (s: number, e: number): number => fieldRole(this.current.toString('utf8', s, e));

  /** Roles of a CSV header's names (as DelimitedScanner.readHeader splits them) or of an SQL statement's column list. */
  private readonly listRoles = (kind: number, s: number, e: number): Uint8Array => {
    const names = kind === LIST_CSV_HEADER ? headerNames(this.current, s, e, this.delimiter) : statementColumns(this.current, s, e);
    const roles = new Uint8Array(Math.min(names.length, MAX_COLUMNS));
    for (let i = 0; i < roles.length; i++) roles[i] = fieldRole(names[i] as string);
    return roles;
  };
}

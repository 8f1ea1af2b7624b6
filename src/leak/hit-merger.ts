import { HitColumns } from './hit-columns.js';
import { HitTable } from './hit-table.js';
import { HIT_FIELDS } from './packed-hits.js';
import type { UnitResult, WorkUnit } from './work-unit.js';

/**
 * Merges the hits of a scan's units into one record per file, patient and kind, while the workers
 * are still scanning (the main thread is idle then; merging everything after the last unit made
 * the scan wait a quarter of a second for it on the bench dump). A byte range's lines count from
 * its own start, so a range is merged once every range before it in its file has reported its line
 * count; the others wait here as their packed numbers.
 */
export class HitMerger {
  private readonly files = new Map<string, FileOrder>();
  /** Per file (tar members: archive!member). */
  private readonly merged = new Map<string, HitTable>();

  constructor(units: readonly WorkUnit[]) {
    for (const u of units) {
      let f = this.files.get(u.file);
      if (!f) this.files.set(u.file, (f = { units: [], results: new Map(), next: 0, offset: 0 }));
      f.units.push(u);
    }
    for (const f of this.files.values()) f.units.sort((a, b) => start(a) - start(b));
  }

  /** A unit's result (each unit once). */
  add(u: WorkUnit, r: UnitResult): void {
    const f = this.files.get(u.file);
    if (!f) throw new Error(`hit merger: unit ${u.id} is not one of the scan's units`);
    f.results.set(u.id, r);
    for (let next = f.units[f.next]; next && f.results.has(next.id); next = f.units[f.next]) {
      const done = f.results.get(next.id) as UnitResult;
      this.merge(next.file, done, f.offset);
      f.offset += done.lines;
      f.results.delete(next.id);
      f.next++;
    }
  }

  /** Every hit, by file, then line, tenant, patient and kind; all units must have been added. */
  hits(): HitColumns {
    for (const [file, f] of this.files) if (f.next < f.units.length) throw new Error(`hit merger: ${file} has ranges without a result`);
    const files = [...this.merged.keys()].sort(cmp);
    const tables = files.map((f) => this.merged.get(f) as HitTable);
    const n = tables.reduce((sum, t) => sum + t.length, 0);
    const out = HitColumns.ofLength(files, n);
    let at = 0;
    tables.forEach((t, i) => (at = t.copySorted(out, at, i)));
    if (at !== n) throw new Error(`hit merger: ${at} hits written of ${n}`);
    return out;
  }

  private merge(unitFile: string, r: UnitResult, offset: number): void {
    const v = r.hits.values;
    if (v.length === 0) return;
    const own = this.hitsOf(unitFile);
    // A tar member is named like a zip member: archive!member.
    const memberFiles = r.hits.members.map((m) => `${unitFile}!${m}`);
    for (let at = 0; at < v.length; at += HIT_FIELDS) {
      const member = v[at + 6] as number;
      const merged = member < 0 ? own : this.hitsOf(memberFiles[member] as string);
      const tenant = v[at] as number;
      if (!(tenant >= 0 && tenant < TENANTS)) throw new RangeError(`hit merger: tenant ordinal ${tenant} out of range`);
      merged.add(
        tenant,
        v[at + 1] as number,
        v[at + 2] === 0 ? 0 : 1,
        (v[at + 3] as number) + offset,
        v[at + 4] as number,
        v[at + 5] as number,
      );
    }
  }

  private hitsOf(file: string): HitTable {
    let m = this.merged.get(file);
    if (!m) this.merged.set(file, (m = new HitTable()));
    return m;
  }
}

interface FileOrder {
  /** The file's units by start. */
  units: WorkUnit[];
  /** Results that wait for a range before them. */
  results: Map<number, UnitResult>;
  /** units[next] is the first not merged yet; offset is the lines before it. */
  next: number;
  offset: number;
}

/** Tenant ordinals below 2^20 (patient-ordinals.ts): tenant * 2 + kind stays an exact 32-bit number. */
const TENANTS = 1 << 20;

function start(u: WorkUnit): number {
  return u.source.kind === 'range' ? u.source.start : 0;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

import { HIT_FIELDS } from './packed-hits.js';
import type { HitKind, HitRecord } from './scan-types.js';
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
  /** Per file (tar members: archive!member), keyed by hitKey. */
  private readonly merged = new Map<string, Map<number, HitRecord>>();

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
  hits(): HitRecord[] {
    for (const [file, f] of this.files) if (f.next < f.units.length) throw new Error(`hit merger: ${file} has ranges without a result`);
    const out: HitRecord[] = [];
    for (const file of [...this.merged.keys()].sort(cmp)) {
      const own = [...(this.merged.get(file) as Map<number, HitRecord>).values()];
      // A file's hits are unique per tenant, patient and kind.
      own.sort((a, b) => a.line - b.line || a.tenant - b.tenant || a.patient - b.patient || cmp(a.kind, b.kind));
      for (const h of own) out.push(h);
    }
    return out;
  }

  private merge(unitFile: string, r: UnitResult, offset: number): void {
    const own = this.hitsOf(unitFile);
    const v = r.hits.values;
    // A tar member is named like a zip member: archive!member.
    const memberFiles = r.hits.members.map((m) => `${unitFile}!${m}`);
    for (let at = 0; at < v.length; at += HIT_FIELDS) {
      const tenant = v[at] as number;
      const patient = v[at + 1] as number;
      const kind: HitKind = v[at + 2] === 0 ? 'bsn' : 'name-date';
      const categories = v[at + 4] as number;
      const count = v[at + 5] as number;
      const member = v[at + 6] as number;
      const file = member < 0 ? unitFile : (memberFiles[member] as string);
      const merged = member < 0 ? own : this.hitsOf(file);
      const key = hitKey(tenant, patient, kind);
      const line = (v[at + 3] as number) + offset;
      const m = merged.get(key);
      if (!m) merged.set(key, { tenant, patient, kind, file, line, categories, count });
      else {
        m.line = Math.min(m.line, line);
        m.categories |= categories;
        m.count += count;
      }
    }
  }

  private hitsOf(file: string): Map<number, HitRecord> {
    let m = this.merged.get(file);
    if (!m) this.merged.set(file, (m = new Map<number, HitRecord>()));
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

/** One exact number per (tenant < 2^20, patient < 2^32, kind): patient · 2^21 + tenant · 2 + kind < 2^53. */
function hitKey(tenant: number, patient: number, kind: HitKind): number {
  return patient * 2 ** 21 + tenant * 2 + (kind === 'bsn' ? 0 : 1);
}

function start(u: WorkUnit): number {
  return u.source.kind === 'range' ? u.source.start : 0;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

import type { UnitResult, WorkUnit } from './work-unit.js';

/**
 * A large file is split into byte ranges at line breaks (plan-units.ts), and each range after the
 * first is scanned as if it started at a record boundary. That is a guess: a line break can sit
 * inside a quoted CSV field or an SQL tuple that spans lines, and a range starting there reads its
 * first records with shifted columns (a name in the date column: a silent miss). The range before
 * it knows: it ended inside a record (UnitResult.endsInsideRecord). Such a pair is joined into one
 * range and scanned again, until no range ends inside a record.
 *
 * Why that is exact: the first range of a file starts at a boundary, so what it reports about its
 * end is true; when that says "boundary", the next range started at one too, and so on. A range
 * whose start was wrong is always joined to the one before it, so its own (untrustworthy) answer
 * is dropped with its result. Every round joins at least one pair, so it ends, at worst with the
 * whole file as one range; a range joined once that again ends inside a record is joined with the
 * rest of its file, so no byte is rescanned more than twice. In the common case nothing is rescanned.
 */
export interface Rejoined {
  /** The units that now cover every file: kept ones and joined ones. */
  units: WorkUnit[];
  /** The joined ones, to be scanned. */
  rescan: WorkUnit[];
}

/**
 * `nextId`: the id for the first new unit; `firstJoinedId`: ids from there on are units joined in
 * an earlier round (the planner's units come before).
 */
export function rejoinRanges(
  units: readonly WorkUnit[],
  results: ReadonlyMap<number, UnitResult>,
  nextId: number,
  firstJoinedId: number,
): Rejoined {
  const out: WorkUnit[] = [];
  const rescan: WorkUnit[] = [];
  const ranges = new Map<string, WorkUnit[]>();
  for (const u of units) {
    if (u.source.kind !== 'range') {
      out.push(u);
      continue;
    }
    const list = ranges.get(u.file);
    if (list) list.push(u);
    else ranges.set(u.file, [u]);
  }
  let id = nextId;
  for (const list of ranges.values()) {
    list.sort((a, b) => rangeOf(a).start - rangeOf(b).start);
    for (let i = 0; i < list.length; i++) {
      const u = list[i] as WorkUnit;
      const next = list[i + 1];
      const r = results.get(u.id);
      if (!next || !r || r.skipped !== null || !r.endsInsideRecord) {
        out.push(u);
        continue;
      }
      // A range joined before that still ends inside a record (an unclosed quote, say) takes the
      // rest of the file at once: joining one range per round would rescan a growing prefix.
      const last = u.id >= firstJoinedId ? (list[list.length - 1] as WorkUnit) : next;
      const a = rangeOf(u);
      const b = rangeOf(last);
      const joined: WorkUnit = { ...u, id: id++, source: { ...a, end: b.end }, size: b.end - a.start };
      out.push(joined);
      rescan.push(joined);
      i = last === next ? i + 1 : list.length;
    }
  }
  return { units: out, rescan };
}

function rangeOf(u: WorkUnit): Extract<WorkUnit['source'], { kind: 'range' }> {
  if (u.source.kind !== 'range') throw new TypeError('not a byte range');
  return u.source;
}

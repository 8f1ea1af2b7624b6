/**
 * What the name + birth date keys of a record are made from: its byte span, its name fields (when
 * the format names them) and its dates — and which of those dates to pair with the names.
 */
export interface RecordDates {
  start: number;
  end: number;
  /** [start, end) pairs of name field values; count = familyCount; `fullName[i]`: a whole name, not a family name. */
  family: Int32Array;
  fullName: Uint8Array;
  familyCount: number;
  /** Packed dates (calendar-date.ts), their offsets and lines, whether each sat in a birth-date field. */
  dates: Int32Array;
  datePos: Int32Array;
  dateLine: Int32Array;
  dateBirth: Uint8Array;
  dateCount: number;
}

/** Two years, in packed yyyymmdd. */
const RECENT = 20000;

/**
 * Indexes of the distinct dates to pair: those in birth-date fields if any; else all but those
 * within two years of the newest when an older one exists (a record's recent dates are mostly
 * events: a collection, a log stamp); at most max.
 */
export function chooseDates(r: RecordDates, chosen: Int32Array, max: number): number {
  let birth = false;
  let newest = 0;
  let oldest = Number.MAX_SAFE_INTEGER;
  for (let d = 0; d < r.dateCount; d++) {
    if (r.dateBirth[d] === 1) birth = true;
    newest = Math.max(newest, r.dates[d] as number);
    oldest = Math.min(oldest, r.dates[d] as number);
  }
  const recent = !birth && newest - oldest >= RECENT ? newest - RECENT : Number.MAX_SAFE_INTEGER;
  let n = 0;
  for (let d = 0; d < r.dateCount && n < max; d++) {
    if (birth && r.dateBirth[d] === 0) continue;
    if ((r.dates[d] as number) > recent) continue;
    let dup = false;
    for (let p = 0; p < n; p++) if (r.dates[chosen[p] as number] === r.dates[d]) dup = true;
    if (!dup) chosen[n++] = d;
  }
  return n;
}

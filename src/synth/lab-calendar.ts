/**
 * Dates and local (Europe/Amsterdam) timestamps as plain day numbers, formatted through lookup
 * tables: formatting millions of timestamps with `Date`/`Intl` would dominate the generator's run
 * time. Nothing here reads the clock — output must depend only on the seed.
 */

const MS_PER_DAY = 86_400_000;
const MINUTES_PER_DAY = 1440;

/** Days since 1970-01-01 (UTC) of a calendar date. */
export function dayOf(year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day) / MS_PER_DAY;
}

/** The fixed "today" of the synthetic world (ages, last possible sample date). */
export const REFERENCE_DAY = dayOf(2025, 7, 1);
/** First and last day on which synthetic samples are taken. */
export const FIRST_CLINICAL_DAY = dayOf(2022, 1, 3);
export const LAST_CLINICAL_DAY = REFERENCE_DAY - 1;

const FIRST_TABLE_DAY = dayOf(1920, 1, 1);
const LAST_TABLE_DAY = dayOf(2026, 12, 31);

/** Last Sunday of a month (EU summer time starts/ends on the last Sunday of March/October). */
function lastSunday(year: number, month: number): number {
  const last = dayOf(year, month + 1, 0);
  return last - ((last + 4) % 7);
}

/** Precomputed per-day strings; built once per process (about 39 000 days). */
class CalendarTable {
  readonly iso: string[] = [];
  readonly offset: string[] = [];
  readonly year = new Int16Array(LAST_TABLE_DAY - FIRST_TABLE_DAY + 1);
  readonly hhmm: string[] = [];

  constructor() {
    for (let d = FIRST_TABLE_DAY; d <= LAST_TABLE_DAY; d++) {
      const iso = new Date(d * MS_PER_DAY).toISOString().slice(0, 10);
      const y = Number(iso.slice(0, 4));
      this.iso.push(iso);
      this.year[d - FIRST_TABLE_DAY] = y;
      // Samples are stamped during working hours, far from the 02:00/03:00 switch-over, so a
      // per-day offset is exact for everything this generator emits.
      const summer = d >= lastSunday(y, 3) && d < lastSunday(y, 10);
      this.offset.push(summer ? '+02:00' : '+01:00');
    }
    for (let m = 0; m < MINUTES_PER_DAY; m++) {
      const hh = String(Math.floor(m / 60)).padStart(2, '0');
      const mm = String(m % 60).padStart(2, '0');
      this.hhmm.push(`${hh}:${mm}`);
    }
  }
}

let table: CalendarTable | undefined;
function tables(): CalendarTable {
  table ??= new CalendarTable();
  return table;
}

function checkDay(day: number): number {
  if (!Number.isInteger(day) || day < FIRST_TABLE_DAY || day > LAST_TABLE_DAY) {
    throw new RangeError('day outside the synthetic calendar (1920–2026)');
  }
  return day - FIRST_TABLE_DAY;
}

/** `yyyy-mm-dd` of a day number. */
export function isoDate(day: number): string {
  return tables().iso[checkDay(day)] as string;
}

/** Calendar year of a day number. */
export function yearOf(day: number): number {
  return tables().year[checkDay(day)] as number;
}

/** Day of the week, 0 = Sunday … 6 = Saturday. */
export function weekdayOf(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

/** Moves weekend days forward to the next Monday (labs and GP practices sample on weekdays). */
export function nextWeekday(day: number): number {
  const wd = weekdayOf(day);
  return wd === 6 ? day + 2 : wd === 0 ? day + 1 : day;
}

/** A local moment: day number plus minutes after local midnight. */
export interface LocalTime {
  day: number;
  minute: number;
}

/** Adds minutes, rolling over into following days. */
export function addMinutes(t: LocalTime, minutes: number): LocalTime {
  const total = t.minute + minutes;
  return { day: t.day + Math.floor(total / MINUTES_PER_DAY), minute: ((total % MINUTES_PER_DAY) + MINUTES_PER_DAY) % MINUTES_PER_DAY };
}

/** FHIR dateTime with seconds and the Amsterdam UTC offset, e.g. `2024-03-12T09:41:00+01:00`. */
export function isoDateTime(t: LocalTime): string {
  const tb = tables();
  const i = checkDay(t.day);
  return `${tb.iso[i] as string}T${tb.hhmm[t.minute] as string}:00${tb.offset[i] as string}`;
}

/** Whole years between a birth day and another day (birthday on 29 February counts from 1 March). */
export function ageOn(birthDay: number, day: number): number {
  const b = isoDate(birthDay);
  const d = isoDate(day);
  let age = Number(d.slice(0, 4)) - Number(b.slice(0, 4));
  if (d.slice(5) < b.slice(5)) age--;
  return age;
}

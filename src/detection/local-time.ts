/**
 * Local hour, weekday and hour of the week in a time zone, for off-hours and baselines. Intl is
 * slow per call, so answers are cached per UTC hour (every zone labvault serves has whole-hour
 * offsets; a half-hour zone would only shift a baseline's bucket by half an hour).
 */
export interface LocalTime {
  hour: number;
  weekend: boolean;
  /** 0 = Monday 00:00–01:00 … 167 = Sunday 23:00–24:00. */
  hourOfWeek: number;
}

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export class LocalClock {
  private readonly fmt: Intl.DateTimeFormat;
  private readonly cache = new Map<number, LocalTime>();

  constructor(timeZone: string) {
    this.fmt = new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', hour: 'numeric', hourCycle: 'h23' });
  }

  at(ms: number): LocalTime {
    const key = Math.floor(ms / 3_600_000);
    let t = this.cache.get(key);
    if (!t) {
      let hour = 0;
      let day = 0;
      for (const p of this.fmt.formatToParts(new Date(key * 3_600_000))) {
        if (p.type === 'hour') hour = Number(p.value) % 24;
        if (p.type === 'weekday') day = Math.max(0, DAYS.indexOf(p.value));
      }
      t = { hour, weekend: day >= 5, hourOfWeek: day * 24 + hour };
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(key, t);
    }
    return t;
  }
}

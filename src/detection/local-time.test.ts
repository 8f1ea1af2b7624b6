import { describe, expect, it } from 'vitest';
import { LocalClock } from './local-time.js';

describe('LocalClock', () => {
  const ams = new LocalClock('Europe/Amsterdam');

  it('gives the local hour, weekend and hour of the week', () => {
    // Wednesday 2025-03-12 10:15 in Amsterdam (UTC+1).
    expect(ams.at(Date.parse('2025-03-12T09:15:00Z'))).toEqual({ hour: 10, weekend: false, hourOfWeek: 2 * 24 + 10 });
  });

  it('starts the week on Monday 00:00 local time and ends it on Sunday 23:00', () => {
    expect(ams.at(Date.parse('2025-03-09T23:30:00Z'))).toEqual({ hour: 0, weekend: false, hourOfWeek: 0 }); // Monday 00:30
    expect(ams.at(Date.parse('2025-03-16T22:59:59Z'))).toEqual({ hour: 23, weekend: true, hourOfWeek: 167 }); // Sunday 23:59
  });

  it('marks Saturday and Sunday as the weekend, local time', () => {
    expect(ams.at(Date.parse('2025-03-14T22:59:00Z')).weekend).toBe(false); // Friday 23:59
    expect(ams.at(Date.parse('2025-03-14T23:00:00Z')).weekend).toBe(true); // Saturday 00:00
    expect(ams.at(Date.parse('2025-03-15T12:00:00Z')).hourOfWeek).toBe(5 * 24 + 13);
  });

  it('follows daylight saving time', () => {
    expect(ams.at(Date.parse('2025-03-30T00:30:00Z')).hour).toBe(1); // CET
    expect(ams.at(Date.parse('2025-03-30T01:30:00Z')).hour).toBe(3); // CEST
    expect(ams.at(Date.parse('2025-07-01T09:00:00Z')).hour).toBe(11);
  });

  it('works in other zones', () => {
    expect(new LocalClock('UTC').at(Date.parse('2025-03-12T09:15:00Z'))).toEqual({ hour: 9, weekend: false, hourOfWeek: 57 });
    expect(new LocalClock('America/New_York').at(Date.parse('2025-03-12T03:00:00Z')).hourOfWeek).toBe(1 * 24 + 23);
  });

  it('answers the same within an hour and differently across hours', () => {
    const c = new LocalClock('Europe/Amsterdam');
    const t = Date.parse('2025-03-12T09:00:00Z');
    expect(c.at(t + 59 * 60_000)).toEqual(c.at(t));
    expect(c.at(t + 60 * 60_000).hour).toBe(11);
    for (let h = 0; h < 24 * 7; h++) expect(c.at(Date.parse('2025-03-09T23:00:00Z') + h * 3_600_000).hourOfWeek).toBe(h);
  });
});

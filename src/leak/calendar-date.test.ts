import { describe, expect, it } from 'vitest';
import { compactDateAt, dateAt, dateEnd, isCalendarDate, isoDate } from './calendar-date.js';

const parse = (text: string): string | null => {
  const b = Buffer.from(text, 'latin1');
  const first = /^\d+/.exec(text)?.[0].length ?? 0;
  const d = dateAt(b, 0, first, b.length);
  return d < 0 ? null : `${isoDate(d)}@${dateEnd}`;
};

describe('dates', () => {
  it.each([
    ['12-03-1980', '1980-03-12@10'],
    ['2-3-1980', '1980-03-02@8'],
    ['12/03/1980', '1980-03-12@10'],
    ['1980-03-12', '1980-03-12@10'],
    ['1980-03-12T10:00', '1980-03-12@10'],
    ['29-02-2000', '2000-02-29@10'],
    ['1980/3/2', '1980-03-02@8'],
  ])('reads %s', (text, expected) => expect(parse(text)).toBe(expected));

  it.each(['31-02-1980', '29-02-1900', '12-13-1980', '00-01-1980', '12-03-80', '12-03-19801', '12-03/1980', '1980-03-123', '12-03-1700'])(
    'rejects %s',
    (text) => expect(parse(text)).toBeNull(),
  );

  it('knows leap years and month lengths', () => {
    expect(isCalendarDate(2024, 2, 29)).toBe(true);
    expect(isCalendarDate(2023, 2, 29)).toBe(false);
    expect(isCalendarDate(2000, 2, 29)).toBe(true);
    expect(isCalendarDate(2100, 2, 29)).toBe(false);
    expect(isCalendarDate(2024, 4, 31)).toBe(false);
    expect(isCalendarDate(2024, 12, 31)).toBe(true);
  });

  it('reads compact yyyymmdd', () => {
    expect(isoDate(compactDateAt(Buffer.from('19800312'), 0))).toBe('1980-03-12');
    expect(compactDateAt(Buffer.from('19801312'), 0)).toBe(-1);
  });
});

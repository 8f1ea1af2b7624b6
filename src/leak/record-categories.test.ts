import { describe, expect, it } from 'vitest';
import { recordCategories } from './record-categories.js';
import { categoryNames } from './scan-types.js';

const cats = (text: string): string[] => {
  const b = Buffer.from(text, 'utf8');
  return categoryNames(recordCategories(b, 0, b.length));
};

describe('data categories of a record', () => {
  it.each([
    ['Jansen', ['names']],
    ['Kerkstraat 12', ['names', 'addresses']],
    ['postcode 1234 AB', ['addresses']],
    ['1234AB', ['addresses']],
    ['mail jan.devries@mail.example', ['contact']],
    ['tel 06-12345678', ['contact']],
    ['tel 020 123 4567', ['contact']],
    ['tel +31 612345678', ['contact']],
    ['hrHPV positief', ['results']],
    ['OBX|1|ST', ['results']],
    ['bsn 123456782', ['national-id']],
    ['bsn 1234.56.782', ['national-id']],
  ])('%s → %j', (text, expected) => expect(cats(text)).toEqual(expected));

  it.each(['bsn 123456783', 'order 12345678', 'tel 12345678901', 'ab@c', 'INFO GET /x status=200', '1234 ABC'])('%s → nothing', (text) =>
    expect(cats(text)).toEqual([]),
  );
});

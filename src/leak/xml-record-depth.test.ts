import { describe, expect, it } from 'vitest';
import { learnXmlRecordDepth } from './xml-record-depth.js';

const depth = (xml: string, whole = true): number => learnXmlRecordDepth(Buffer.from(xml), 0, Buffer.byteLength(xml), whole);
const patients = (n: number): string => Array.from({ length: n }, (_, i) => `<patient><naam>P${i}</naam></patient>`).join('');

describe('learnXmlRecordDepth', () => {
  it('takes the repeated element of a plain list', () => {
    expect(depth(`<patients>${patients(3)}</patients>`)).toBe(2);
  });

  it('takes a long deeper list over a short header list before it', () => {
    const header = '<bron><s>LIS</s></bron><bron><s>HIS</s></bron>';
    expect(depth(`<export>${header}<gegevens>${patients(50)}</gegevens></export>`)).toBe(3);
    // A deeper list not far longer than the header's does not win: the shallower stays.
    expect(depth(`<export>${header}<gegevens>${patients(5)}</gegevens></export>`)).toBe(2);
  });

  it("keeps a small Bundle's entries over its resources' repeated identifiers", () => {
    const ids = '<identifier><value value="1"/></identifier>'.repeat(6);
    const entry = `<entry><resource><Patient>${ids}<birthDate value="1980-03-12"/></Patient></resource></entry>`;
    expect(depth(`<Bundle>${entry}${entry}</Bundle>`)).toBe(2);
    // However many: a report with twenty results in the first of two entries.
    const results = '<result><reference value="Observation/1"/></result>'.repeat(20);
    const report = `<entry><resource><DiagnosticReport>${results}</DiagnosticReport></resource></entry>`;
    expect(depth(`<Bundle>${report}${entry}</Bundle>`)).toBe(2);
    expect(depth(`<Bundle>${entry}${report}</Bundle>`)).toBe(2);
  });

  it('without a repetition: the document when whole, else the root’s children', () => {
    expect(depth('<a><b><c>1</c></b></a>')).toBe(1);
    expect(depth('<a><b><c>1</c></b></a>', false)).toBe(2);
  });
});

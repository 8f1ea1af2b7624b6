import { describe, expect, it } from 'vitest';
import { nameBirthDateKey } from '../crypto/blind-index.js';
import { extractCandidates, type ExtractOptions } from './candidate-extractor.js';
import { MAX_KEYS_PER_RECORD } from './name-date-keys.js';

/** "bsn@line" and "key@line", sorted, so a test reads as a list of what must be found where. */
async function found(text: string, opts: ExtractOptions): Promise<{ bsns: string[]; keys: string[] }> {
  const r = await extractCandidates(Buffer.from(text, 'utf8'), opts);
  return { bsns: r.bsns.map((b) => `${b.bsn}@${b.line}`).sort(), keys: r.keys.map((k) => `${k.key}@${k.line}`).sort() };
}
const lineOf = (text: string, needle: string): number => text.slice(0, text.indexOf(needle)).split('\n').length;
const bsnsOf = async (text: string, opts: ExtractOptions): Promise<string[]> => (await found(text, opts)).bsns;
const keysOf = async (text: string, opts: ExtractOptions): Promise<string[]> => (await found(text, opts)).keys;

// Valid BSNs; LOST are 8-digit writings of valid ones that start with 0.
const A = '123456782';
const B = '111222333';
const C = '987654329';
const LOST = '12345672'; // 012345672
const LOST2 = '76543213'; // 076543213

describe('BSN candidates', () => {
  it('finds every spelling in plain text, each on its line', async () => {
    const text = [`plain ${A}`, 'dots 1234.56.782', 'spaces 123 456 782', 'three dots 123.456.782', 'mixed 1234 56 782', `NL${B}B01`].join(
      '\n',
    );
    expect(await bsnsOf(text, { name: 'x.log' })).toEqual([`${A}@1`, `${A}@2`, `${A}@3`, `${A}@4`, `${A}@5`, `${B}@6`].sort());
  });

  it('skips runs that are part of longer numbers, and numbers failing the 11-proof', async () => {
    const text = `${A}0 0${A} 123456783 1234.56.7829 0612 345 678 21 ${A.slice(0, 3)} ${A.slice(3)}`;
    expect(await bsnsOf(text, { name: 'x.log' })).toEqual([]);
  });

  it('restores a lost leading zero in a column named for BSNs only', async () => {
    const csv = `bsn;ordernummer;naam\n${LOST};${LOST2};Jansen\n"${LOST2}";${LOST};de Vries\n`;
    expect(await bsnsOf(csv, { name: 'x.csv' })).toEqual([`0${LOST}@2`, `0${LOST2}@3`]);
  });

  it('restores it in an unnamed column where most values are valid BSNs, not in other columns', async () => {
    const rows = [A, B, C, LOST, A, B].map((bsn, i) => `${bsn},${LOST2},row ${i}`);
    expect(await bsnsOf(rows.join('\n'), { name: 'x.csv' })).toEqual(
      [`${A}@1`, `${B}@2`, `${C}@3`, `0${LOST}@4`, `${A}@5`, `${B}@6`].sort(),
    );
  });

  it('never restores it in text, or in a key not named for BSNs', async () => {
    expect(await bsnsOf(`patient ${LOST} seen`, { name: 'x.log' })).toEqual([]);
    expect(await bsnsOf(JSON.stringify([{ bsn: LOST, order: LOST2 }, { bsn: Number(LOST2) }]), { name: 'x.json' })).toEqual([
      `0${LOST}@1`,
      `0${LOST2}@1`,
    ]);
  });

  it('restores it in XML elements, SQL columns and HL7 PID-3', async () => {
    expect(
      await bsnsOf(`<rows><row><bsn>${LOST}</bsn><nr>${LOST2}</nr></row>\n<row><bsn>${A}</bsn></row></rows>`, { name: 'x.xml' }),
    ).toEqual([`0${LOST}@1`, `${A}@2`]);
    const sql = `INSERT INTO p (nr, bsn) VALUES (${LOST2}, '${LOST}');\nCOPY p (bsn, nr) FROM stdin;\n${LOST2}\t${LOST}\n\\.\n`;
    expect(await bsnsOf(sql, { name: 'x.sql' })).toEqual([`0${LOST}@1`, `0${LOST2}@3`]);
    expect(await bsnsOf(`MSH|^~\\&|LAB\rPID|1||${LOST}^^^NLMINBIZA^NNNLD||Jansen^Jan||19800312|F|||${LOST2}\r`, { name: 'x.hl7' })).toEqual(
      [`0${LOST}@2`],
    );
  });
});

describe('line numbers', () => {
  it('counts \\n, \\r\\n and lone \\r, and line breaks inside quoted CSV fields', async () => {
    const csv = `bsn,opmerking\r\n${A},"een\r\ntwee, drie"\r\n${B},x\r${C},"""quoted"" and\nmore"\n${A},end`;
    expect(await bsnsOf(csv, { name: 'x.csv' })).toEqual([`${A}@2`, `${B}@4`, `${C}@5`, `${A}@7`].sort());
  });

  it('counts lines of pretty-printed JSON and of HL7 segments', async () => {
    expect(await bsnsOf(JSON.stringify([{ a: 1 }, { b: { bsn: A } }], null, 2), { name: 'x.json' })).toEqual([`${A}@7`]);
    expect(await bsnsOf(`MSH|^~\\&|LAB\rPID|1||${A}\rOBX|1\r\nMSH|^~\\&\nPID|1||${B}\r`, { name: 'x.hl7' })).toEqual(
      [`${A}@2`, `${B}@5`].sort(),
    );
  });
});

describe('name + birth date candidates', () => {
  const key = (family: string, date: string): string => nameBirthDateKey(family, date);

  it('pairs the family-name column with the birth-date column, with and without its particles', async () => {
    const csv =
      'bsn;achternaam;voornaam;geboortedatum;afnamedatum\n;van der Berg;Jan;12-03-1980;2024-05-01\n;Öztürk;Ayşe;1/2/1975;2024-05-02\n';
    expect(await keysOf(csv, { name: 'x.csv' })).toEqual(
      [`${key('van der Berg', '1980-03-12')}@2`, `${key('Berg', '1980-03-12')}@2`, `${key('Öztürk', '1975-02-01')}@3`].sort(),
    );
  });

  it('joins a particle column with the family column', async () => {
    const csv = 'tussenvoegsel,achternaam,geboortedatum\nde,Vries,1980-03-12\n';
    const keys = await keysOf(csv, { name: 'x.csv' });
    expect(keys).toContain(`${key('de Vries', '1980-03-12')}@2`);
    expect(keys).toContain(`${key('Vries', '1980-03-12')}@2`);
  });

  it('reads FHIR JSON, XML and HL7 v2 (compact birth date)', async () => {
    const fhir = JSON.stringify(
      { resourceType: 'Patient', identifier: [{ value: A }], name: [{ family: 'de Vries', given: ['Jan'] }], birthDate: '1980-03-12' },
      null,
      1,
    );
    expect(await keysOf(fhir, { name: 'x.json' })).toContain(`${key('de Vries', '1980-03-12')}@${lineOf(fhir, 'birthDate')}`);
    const xml =
      '<Bundle>\n<entry><Patient><name><family value="de Vries"/></name><birthDate value="1980-03-12"/></Patient></entry>\n<entry/></Bundle>';
    expect(await keysOf(xml, { name: 'x.xml' })).toContain(`${key('de Vries', '1980-03-12')}@2`);
    const hl7 = 'MSH|^~\\&|LAB\rPID|1||123456782||de Vries&de&Vries^Jan||198003121200|F\rOBX|1|ST|HPV||20240501\r';
    expect(await keysOf(hl7, { name: 'x.hl7' })).toContain(`${key('de Vries', '1980-03-12')}@2`);
  });

  it('in unnamed text, pairs capitalised words near the date; not log vocabulary or the log stamp', async () => {
    const log = '2024-05-01T10:00:00Z INFO lookup patient Jan de Vries (geb. 12-03-1980) result positief\n';
    const keys = await keysOf(log, { name: 'x.log' });
    expect(keys).toContain(`${key('de Vries', '1980-03-12')}@1`);
    expect(keys).toContain(`${key('Jan de Vries', '1980-03-12')}@1`);
    expect(keys.some((k) => k.startsWith('info|') || k.startsWith('positief|') || k.includes('2024-05-01'))).toBe(false);
  });

  it('emits at most MAX_KEYS_PER_RECORD keys for a record full of words', async () => {
    const words = Array.from(
      { length: 200 },
      (_, i) => `Naam${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + ((i / 26) | 0))}`,
    );
    const text = `${words.join(' ')} 12-03-1980 01-01-1950\n`;
    expect((await keysOf(text, { name: 'x.log' })).length).toBeLessThanOrEqual(MAX_KEYS_PER_RECORD);
  });

  it('makes no keys for records without a valid date', async () => {
    expect(await keysOf('bsn;achternaam;geboortedatum\n;Jansen;31-02-1980\n;Bakker;\n', { name: 'x.csv' })).toEqual([]);
  });
});

describe('formats', () => {
  it('reads SQL INSERT tuples over several lines, with escaped quotes and backticks', async () => {
    const sql = `INSERT INTO \`p\` (\`bsn\`, \`achternaam\`, \`geboortedatum\`) VALUES\n('${A}', 'O''Brien', '1980-03-12'),\n('${B}', 'd\\'Ancona', '1975-01-31');\n-- ${C}\n`;
    const r = await found(sql, { name: 'x.sql' });
    expect(r.bsns).toEqual([`${A}@2`, `${B}@3`, `${C}@4`].sort());
    expect(r.keys).toContain(`${nameBirthDateKey("O'Brien", '1980-03-12')}@2`);
    expect(r.keys).toContain(`${nameBirthDateKey("d'Ancona", '1975-01-31')}@3`);
  });

  it('reads XML comments and CDATA as text, and attributes', async () => {
    const xml = `<r>\n<!-- ${A} -->\n<p id="${B}"><![CDATA[${C}]]></p>\n</r>`;
    expect(await bsnsOf(xml, { name: 'x.xml' })).toEqual([`${A}@2`, `${B}@3`, `${C}@3`].sort());
  });

  it('reads NDJSON and a JSON array on one line', async () => {
    expect(await bsnsOf(`{"bsn":"${A}"}\n{"bsn":"${B}"}\n`, { name: 'x.ndjson' })).toEqual([`${A}@1`, `${B}@2`].sort());
    expect(await bsnsOf(`[{"bsn":"${A}"},{"x":"\\"${B}\\""}]`, { name: 'x.json' })).toEqual([`${A}@1`, `${B}@1`].sort());
  });

  it('sniffs the format when the name does not tell', async () => {
    expect(await bsnsOf(`bsn;naam\n${LOST};X\n${A};Y\n`, { name: 'export.dat' })).toEqual([`0${LOST}@2`, `${A}@3`]);
  });
});

describe('chunks', () => {
  const samples: [string, string][] = [
    [
      'x.csv',
      `bsn;achternaam;geboortedatum;opmerking\n${Array.from({ length: 40 }, (_, i) => `${[A, B, C][i % 3]};de Vries;${1 + (i % 28)}-03-1980;"a\nb"`).join('\n')}\n`,
    ],
    [
      'x.json',
      JSON.stringify(
        Array.from({ length: 30 }, (_, i) => ({ bsn: [A, B, C][i % 3], family: 'Jansen', birthDate: `1980-03-${10 + (i % 9)}` })),
        null,
        2,
      ),
    ],
    [
      'x.xml',
      `<r>\n${Array.from({ length: 30 }, (_, i) => `<p><bsn>${[A, B, C][i % 3]}</bsn><achternaam>Smit</achternaam><geboortedatum>0${1 + (i % 9)}-01-1990</geboortedatum></p>`).join('\n')}\n</r>`,
    ],
    [
      'x.sql',
      `COPY t (bsn, achternaam, geboortedatum) FROM stdin;\n${Array.from({ length: 30 }, (_, i) => `${[A, B, C][i % 3]}\tBos\t1970-01-${10 + (i % 9)}`).join('\n')}\n\\.\nINSERT INTO t VALUES ${Array.from({ length: 20 }, (_, i) => `('${[A, B, C][i % 3]}', 'x')`).join(',\n')};\n`,
    ],
    [
      'x.hl7',
      Array.from({ length: 20 }, (_, i) => `MSH|^~\\&|L\rPID|1||${[A, B, C][i % 3]}||Bakker^Jan||1960010${1 + (i % 9)}\r`).join(''),
    ],
  ];
  it.each(samples)('%s: the same candidates whatever the chunk size (records cut across chunks are read again)', async (name, text) => {
    const whole = await found(text, { name });
    expect(whole.bsns.length).toBeGreaterThan(15);
    for (const chunk of [200, 257, 300, 512, 1000]) expect(await found(text, { name, chunk }), `chunk ${chunk}`).toEqual(whole);
  });
});

describe('CandidateCollector.successor', () => {
  it('starts empty on the arrays of the collector before it, and collects the same', async () => {
    const { CandidateCollector } = await import('./candidate-collector.js');
    const { createScanner } = await import('./create-scanner.js');
    const { ByteEvents } = await import('./byte-events.js');
    const { ScanMode } = await import('./format-scanner.js');
    const csv = Buffer.from(`bsn;achternaam;geboortedatum\n${`${A};Jansen;31-01-1975\n${LOST};Bakker;04-07-2001\n`.repeat(2000)}`);
    const columns = (c: InstanceType<typeof CandidateCollector>): number[][] =>
      [c.bsnValue, c.bsnLine, c.keys.h1, c.keys.date, c.keys.line, c.recordStart, c.recordHint].map((l) => [
        ...l.data.subarray(0, l.length),
      ]);
    const collect = (c: InstanceType<typeof CandidateCollector>): number[][] => {
      // The scanners read the bytes from the first pass's own buffer.
      const events = new ByteEvents(1 << 20);
      csv.copy(events.buf);
      createScanner('csv', 0x3b, c, events, false).scan(events.buf, 0, csv.length, ScanMode.End);
      c.settleColumns();
      return columns(c);
    };
    const first = new CandidateCollector();
    const want = collect(first);
    expect(want[0]?.length).toBe(4000);
    const next = first.successor();
    expect(next.bsnValue.length).toBe(0);
    expect(next.bsnValue.data).toBe(first.bsnValue.data);
    expect(next.keys.h1.data).toBe(first.keys.h1.data);
    expect(collect(next)).toEqual(want);
  });
});

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prng } from '../synth/prng.js';
import { writeLeakDump, type DumpPerson } from './leak-dump.js';

// Values as the synthetic lab has them: Dutch cities and names with apostrophes, an ampersand.
const people: DumpPerson[] = [
  {
    bsn: '111222333',
    given: "D'Arcy",
    family: "d'Ancona",
    birthDate: '1970-01-02',
    street: 'Markt & Zn 1',
    postcode: '1234 AB',
    city: "'s-Gravenhage",
    phone: '0612345678',
  },
  {
    bsn: '123456782',
    given: 'Jan',
    family: 'Jansen',
    birthDate: '1981-12-31',
    street: "Hof 't Zand 4",
    postcode: '5211 AA',
    city: "'s-Hertogenbosch",
    phone: '0687654321',
  },
];

describe('writeLeakDump', () => {
  let dir: string;
  let files: string[];
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lv-leak-dump-'));
    ({ files } = await writeLeakDump(dir, people, 140_000, new Prng(7)));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes valid SQL: every text value quoted, apostrophes doubled', async () => {
    const text = await readFile(files.find((f) => f.endsWith('dump.sql')) ?? '', 'utf8');
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^INSERT INTO patienten \(.*\) VALUES$/);
    // One statement: tuples separated by commas, the last one followed by the semicolon.
    expect(text.endsWith(')\n;\n')).toBe(true);
    const tuples = lines.slice(1, -2);
    expect(tuples.length).toBeGreaterThan(10);
    const tuple = "\\(\\d+(, '(?:[^']|'')*')+\\)";
    for (const t of tuples.slice(0, -1)) expect(t).toMatch(new RegExp(`^${tuple},$`));
    expect(tuples.at(-1)).toMatch(new RegExp(`^${tuple}$`));
    expect(tuples.join('\n')).toContain("'''s-Gravenhage'");
  });

  it('writes well-formed XML text: no bare ampersand or angle bracket in a value', async () => {
    const xml = await readFile(files.find((f) => f.endsWith('records.xml')) ?? '', 'utf8');
    expect(xml).toContain('Markt &amp; Zn 1');
    expect(xml).not.toMatch(/&(?!amp;|lt;|gt;)/);
  });
});

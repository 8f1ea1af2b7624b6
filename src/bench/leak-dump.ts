import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { isValidBsn } from '../domain/bsn.js';
import type { Prng } from '../synth/prng.js';

/**
 * A synthetic leaked dump for `bench leak`: the same people written the ways stolen lab data
 * turns up — a CSV export (semicolons, quoted fields, dd-mm-yyyy), FHIR NDJSON, an SQL dump
 * (INSERT … VALUES lists and a PostgreSQL COPY block), HL7 v2 messages, XML and application logs
 * (BSNs with dots or spaces, a lost leading zero in the CSV's BSN column) — mixing planted vault
 * patients with decoys: valid BSNs and name + birth date pairs that are nobody's in the vault.
 * Plaintext exists only here, for synthetic data, in the benchmark's temporary directory.
 */
export interface DumpPerson {
  bsn: string;
  given: string;
  family: string;
  birthDate: string;
  street: string;
  postcode: string;
  city: string;
  phone: string;
}

const RESULTS = ['hrHPV negatief', 'hrHPV positief, genotype 16', 'hrHPV positief, overig; cytologie PAP1', 'uitslag: geen afwijkingen'];

export async function writeLeakDump(
  dir: string,
  people: readonly DumpPerson[],
  targetBytes: number,
  prng: Prng,
): Promise<{ files: string[]; bytes: number }> {
  let sqlTuples = 0;
  const formats: [string, (p: DumpPerson, i: number) => string, string, string][] = [
    ['export.csv', csvRow, 'id;bsn;voornaam;achternaam;geboortedatum;straat;postcode;woonplaats;telefoon;uitslag\n', ''],
    ['patients.ndjson', ndjsonRow, '', ''],
    ['dump.sql', sqlRow, 'INSERT INTO patienten (id, bsn, voornaam, achternaam, geboortedatum, adres, postcode, plaats) VALUES\n', '\n;\n'],
    ['copy.sql', copyRow, 'COPY public.patient (id, bsn, naam, geboren, postcode) FROM stdin;\n', '\\.\n'],
    ['berichten.hl7', hl7Message, '', ''],
    ['records.xml', xmlRow, '<?xml version="1.0" encoding="UTF-8"?>\n<patienten>\n', '</patienten>\n'],
    ['app.log', logRow, '', ''],
  ];
  const per = Math.ceil(targetBytes / formats.length);
  let total = 0;
  const files: string[] = [];
  let k = 0;
  for (const [name, row, head, tail] of formats) {
    const file = path.join(dir, name);
    files.push(file);
    const out = createWriteStream(file, { mode: 0o600 });
    let size = 0;
    let chunk = head;
    while (size + chunk.length < per) {
      const p = people[prng.int(people.length)] as DumpPerson;
      chunk += row(p, k++);
      if (chunk.length > 1 << 22) {
        size += chunk.length;
        if (!out.write(chunk)) await once(out, 'drain');
        chunk = '';
      }
    }
    chunk += tail;
    size += chunk.length;
    out.end(chunk);
    await once(out, 'finish');
    total += size;
  }
  return { files, bytes: total };

  function dmy(iso: string): string {
    const [y, m, d] = iso.split('-');
    return `${d}-${m}-${y}`;
  }
  function csvRow(p: DumpPerson, i: number): string {
    // A lost leading zero, as a spreadsheet makes of a BSN column.
    const bsn = p.bsn.startsWith('0') && prng.chance(0.5) ? p.bsn.slice(1) : p.bsn;
    return `${i};${bsn};${p.given};"${p.family}";${dmy(p.birthDate)};"${p.street}";${p.postcode};${p.city};${p.phone};${prng.pick(RESULTS)}\n`;
  }
  function ndjsonRow(p: DumpPerson, i: number): string {
    return `${JSON.stringify({ resourceType: 'Patient', id: `x${i}`, identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: p.bsn }], name: [{ family: p.family, given: [p.given] }], birthDate: p.birthDate, address: [{ line: [p.street], postalCode: p.postcode, city: p.city }], telecom: [{ system: 'phone', value: p.phone }] })}\n`;
  }
  function sqlRow(p: DumpPerson, i: number): string {
    // Every text value quoted as SQL does: a city like 's-Gravenhage left unescaped made the dump
    // invalid SQL, and the scanner (rightly) took the rest of the file as one string.
    const q = (v: string): string => `'${v.replace(/'/g, "''")}'`;
    // The separator goes before a tuple, so the list ends without a dangling comma.
    const sep = sqlTuples++ === 0 ? '' : ',\n';
    return `${sep}(${i}, ${q(p.bsn)}, ${q(p.given)}, ${q(p.family)}, ${q(p.birthDate)}, ${q(p.street)}, ${q(p.postcode)}, ${q(p.city)})`;
  }
  function copyRow(p: DumpPerson, i: number): string {
    return `${i}\t${p.bsn}\t${p.given} ${p.family}\t${p.birthDate}\t${p.postcode}\n`;
  }
  function hl7Message(p: DumpPerson, i: number): string {
    const dob = p.birthDate.replace(/-/g, '');
    return (
      `MSH|^~\\&|LIS|LAB|EPD|ZKH|20250701120000||ORU^R01|M${i}|P|2.5\r` +
      `PID|1||${p.bsn}^^^NLMINBIZA^NNNLD||${p.family}^${p.given}||${dob}|F|||${p.street}^^${p.city}^^${p.postcode}^NL\r` +
      `OBX|1|ST|HPV^hrHPV||${prng.pick(RESULTS)}||||||F\r\n`
    );
  }
  function xmlRow(p: DumpPerson, i: number): string {
    const x = (v: string): string => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    return `  <patient id="${i}"><bsn>${p.bsn}</bsn><naam>${x(p.given)} ${x(p.family)}</naam><geboortedatum>${p.birthDate}</geboortedatum><adres>${x(p.street)}, ${x(p.postcode)} ${x(p.city)}</adres></patient>\n`;
  }
  function logRow(p: DumpPerson, i: number): string {
    const b = p.bsn;
    const spelled = [b, `${b.slice(0, 4)}.${b.slice(4, 6)}.${b.slice(6)}`, `${b.slice(0, 3)} ${b.slice(3, 6)} ${b.slice(6)}`][i % 3];
    return `2025-07-0${1 + (i % 9)}T12:00:${String(i % 60).padStart(2, '0')}Z INFO lookup ok bsn=${spelled} req=${i}\n`;
  }
}

/** Decoys: valid BSNs and family names that are nobody's in the vault. */
export function decoyPeople(n: number, taken: ReadonlySet<string>, prng: Prng): DumpPerson[] {
  const out: DumpPerson[] = [];
  while (out.length < n) {
    const bsn = String(100_000_000 + prng.int(899_999_999));
    if (!isValidBsn(bsn) || taken.has(bsn)) continue;
    const family = `Qz${String.fromCharCode(97 + prng.int(26), 97 + prng.int(26), 97 + prng.int(26), 97 + prng.int(26))}er`;
    const y = 1940 + prng.int(60);
    const birthDate = `${y}-${String(1 + prng.int(12)).padStart(2, '0')}-${String(1 + prng.int(28)).padStart(2, '0')}`;
    out.push({
      bsn,
      given: 'Anna',
      family,
      birthDate,
      street: `Proefweg ${1 + prng.int(200)}`,
      postcode: `${1000 + prng.int(8999)} QZ`,
      city: 'Nergenshuizen',
      phone: `06${String(prng.int(1e8)).padStart(8, '0')}`,
    });
  }
  return out;
}

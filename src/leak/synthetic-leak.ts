import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { DUTCH_PLACES, POSTCODE_SUFFIXES } from '../synth/dutch-places.js';
import {
  DE_BASES,
  LANDSCAPE_NOUNS,
  MAIL_DOMAINS,
  OLDER_FEMALE_GIVEN,
  PLAIN_SURNAMES,
  STREET_STEMS,
  TOP_SURNAMES,
} from '../synth/dutch-names.js';
import { Prng } from '../synth/prng.js';

/**
 * Synthetic leaked dumps for the scanner's tests and throughput runs: lab rows (BSN, name, birth
 * date, address, phone, e-mail, collection date, test, result) written as CSV, TSV, NDJSON, a
 * pretty JSON document, XML, SQL INSERT and COPY, HL7 v2 and application logs. Planted persons
 * (the ones a test expects to find) are mixed in among random ones.
 */
export interface SyntheticPerson {
  bsn: string;
  family: string;
  given: string;
  /** yyyy-mm-dd */
  birthDate: string;
  street: string;
  postcode: string;
  city: string;
  phone: string;
  email: string;
}

export const SYNTHETIC_FORMATS = ['csv', 'tsv', 'ndjson', 'json', 'xml', 'sql-insert', 'sql-copy', 'hl7', 'log'] as const;
export type SyntheticFormat = (typeof SYNTHETIC_FORMATS)[number];

export const EXTENSION: Readonly<Record<SyntheticFormat, string>> = {
  csv: 'csv',
  tsv: 'tsv',
  ndjson: 'ndjson',
  json: 'json',
  xml: 'xml',
  'sql-insert': 'sql',
  'sql-copy': 'sql',
  hl7: 'hl7',
  log: 'log',
};

/** A random 11-proof-valid BSN. */
export function randomBsn(prng: Prng): string {
  for (;;) {
    const prefix = String(prng.int(100_000_000)).padStart(8, '0');
    let sum = 0;
    for (let i = 0; i < 8; i++) sum += (prefix.charCodeAt(i) - 48) * (9 - i);
    const check = sum % 11;
    if (check === 10 || (prefix === '00000000' && check === 0)) continue;
    return prefix + String(check);
  }
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

export function randomPerson(prng: Prng): SyntheticPerson {
  const r = prng.next();
  const family =
    r < 0.4
      ? prng.pick(TOP_SURNAMES)
      : r < 0.6
        ? `van der ${prng.pick(LANDSCAPE_NOUNS)}`
        : r < 0.75
          ? `de ${prng.pick(DE_BASES)}`
          : prng.pick(PLAIN_SURNAMES);
  const place = prng.pick(DUTCH_PLACES);
  const y = 1935 + prng.int(60);
  const m = 1 + prng.int(12);
  const d = 1 + prng.int(28);
  const given = prng.pick(OLDER_FEMALE_GIVEN);
  return {
    bsn: randomBsn(prng),
    family,
    given,
    birthDate: `${y}-${pad(m)}-${pad(d)}`,
    street: `${prng.pick(STREET_STEMS)}straat ${1 + prng.int(200)}`,
    postcode: `${place.postcodeFrom + prng.int(Math.max(1, place.postcodeTo - place.postcodeFrom))} ${prng.pick(POSTCODE_SUFFIXES)}`,
    city: place.city,
    phone: `06${String(prng.int(100_000_000)).padStart(8, '0')}`,
    email: `${given.toLowerCase()}.${family.replace(/ /g, '').toLowerCase()}@${prng.pick(MAIL_DOMAINS)}`,
  };
}

const TESTS = ['hrHPV', 'cytologie', 'HPV-16', 'PAP'];
const RESULTS = ['negatief', 'positief', 'PAP1', 'PAP2'];

function dmy(iso: string): string {
  return `${iso.slice(8, 10)}-${iso.slice(5, 7)}-${iso.slice(0, 4)}`;
}

/** One record of `format` for person p (the n-th record of the file). */
export function renderRecord(format: SyntheticFormat, p: SyntheticPerson, n: number, prng: Prng): string {
  const collected = `2024-${pad(1 + prng.int(12))}-${pad(1 + prng.int(28))}`;
  const test = prng.pick(TESTS);
  const result = prng.pick(RESULTS);
  switch (format) {
    case 'csv':
      return `${p.bsn};${p.family};${p.given};${dmy(p.birthDate)};${p.street};${p.postcode};${p.city};${p.phone};${p.email};${collected};${test};${result}\n`;
    case 'tsv':
      return `${p.bsn}\t${p.family}\t${p.given}\t${p.birthDate}\t${p.street}\t${p.postcode}\t${p.city}\t${p.phone}\t${collected}\t${test}\t${result}\n`;
    case 'ndjson':
      return `${JSON.stringify({ bsn: p.bsn, achternaam: p.family, voornaam: p.given, geboortedatum: p.birthDate, adres: p.street, postcode: p.postcode, woonplaats: p.city, telefoon: p.phone, afname: collected, test, uitslag: result })}\n`;
    case 'json':
      return `${n > 0 ? ',\n' : ''}  {\n    "bsn": "${p.bsn}",\n    "name": {"family": "${p.family}", "given": "${p.given}"},\n    "birthDate": "${p.birthDate}",\n    "address": "${p.street}, ${p.postcode} ${p.city}",\n    "email": "${p.email}",\n    "collected": "${collected}",\n    "observation": {"code": "${test}", "value": "${result}"}\n  }`;
    case 'xml':
      return `  <patient>\n    <bsn>${p.bsn}</bsn>\n    <achternaam>${p.family}</achternaam>\n    <voornaam>${p.given}</voornaam>\n    <geboortedatum>${dmy(p.birthDate)}</geboortedatum>\n    <adres>${p.street}</adres><postcode>${p.postcode}</postcode>\n    <uitslag test="${test}">${result}</uitslag>\n  </patient>\n`;
    case 'sql-insert':
      return `INSERT INTO uitslagen (bsn, achternaam, voornaam, geboortedatum, postcode, afname, test, uitslag) VALUES ('${p.bsn}', '${p.family}', '${p.given}', '${p.birthDate}', '${p.postcode}', '${collected}', '${test}', '${result}');\n`;
    case 'sql-copy':
      return `${p.bsn}\t${p.family}\t${p.given}\t${p.birthDate}\t${p.street}\t${p.postcode}\t${p.city}\t${collected}\t${test}\t${result}\n`;
    case 'hl7':
      return `MSH|^~\\&|LAB|LAB|HIS|HIS|20240101120000||ORU^R01|${n}|P|2.5\rPID|1||${p.bsn}^^^NLMINBIZA^NNNLD||${p.family}^${p.given}||${p.birthDate.replace(/-/g, '')}|F|||${p.street}^^${p.city}^^${p.postcode.replace(' ', '')}||${p.phone}\rOBR|1|||${test}\rOBX|1|ST|${test}||${result}||||||F\n`;
    case 'log':
      return `2024-03-0${1 + (n % 9)}T12:${pad(n % 60)}:00Z INFO request=${n} user=lab${n % 17} GET /Patient?identifier=${p.bsn} status=200 bytes=${1000 + (n % 5000)}\n`;
  }
}

function header(format: SyntheticFormat): string {
  switch (format) {
    case 'csv':
      return 'bsn;achternaam;voornaam;geboortedatum;straat;postcode;woonplaats;telefoon;email;afnamedatum;test;uitslag\n';
    case 'tsv':
      return 'bsn\tachternaam\tvoornaam\tgeboortedatum\tadres\tpostcode\twoonplaats\ttelefoon\tafname\ttest\tuitslag\n';
    case 'json':
      return '[\n';
    case 'xml':
      return '<?xml version="1.0" encoding="UTF-8"?>\n<export>\n';
    case 'sql-insert':
      return '-- PostgreSQL database dump\n\nCREATE TABLE uitslagen (bsn text, achternaam text);\n';
    case 'sql-copy':
      return '-- PostgreSQL database dump\n\nCOPY public.uitslagen (bsn, achternaam, voornaam, geboortedatum, adres, postcode, woonplaats, afname, test, uitslag) FROM stdin;\n';
    case 'ndjson':
    case 'hl7':
    case 'log':
      return '';
  }
}

function footer(format: SyntheticFormat): string {
  return format === 'json' ? '\n]\n' : format === 'xml' ? '</export>\n' : format === 'sql-copy' ? '\\.\n' : '';
}

export interface SyntheticLeakOptions {
  dir: string;
  /** Approximate bytes in all, split evenly over the formats. */
  bytes: number;
  seed?: number;
  formats?: readonly SyntheticFormat[];
  /** Persons to plant: each appears in at least one file. */
  planted?: readonly SyntheticPerson[];
  /** Random persons to draw rows from (a dump repeats persons: several results each). */
  population?: number;
}

/** Writes one file per format; returns the paths. */
export async function writeSyntheticLeak(opts: SyntheticLeakOptions): Promise<string[]> {
  const prng = new Prng(opts.seed ?? 1);
  const formats = opts.formats ?? SYNTHETIC_FORMATS;
  const population = Array.from({ length: opts.population ?? 20_000 }, () => randomPerson(prng));
  const planted = opts.planted ?? [];
  await mkdir(opts.dir, { recursive: true });
  const files: string[] = [];
  const perFile = opts.bytes / formats.length;
  for (const [fi, format] of formats.entries()) {
    const file = path.join(opts.dir, `dump-${fi}-${format}.${EXTENSION[format]}`);
    files.push(file);
    const out = createWriteStream(file);
    let written = 0;
    let n = 0;
    let pending = header(format);
    // Planted persons go to every file, spread over it.
    const plantEvery = planted.length > 0 ? Math.max(1, Math.floor(perFile / 300 / (planted.length + 1))) : 0;
    let nextPlant = 0;
    while (written + pending.length < perFile || nextPlant < planted.length) {
      const plant = plantEvery > 0 && n % plantEvery === plantEvery - 1 && nextPlant < planted.length;
      const p = plant ? (planted[nextPlant++] as SyntheticPerson) : prng.pick(population);
      pending += renderRecord(format, p, n++, prng);
      if (pending.length > 1 << 20) {
        written += pending.length;
        if (!out.write(pending)) await once(out, 'drain');
        pending = '';
      }
    }
    pending += footer(format);
    out.end(pending);
    await once(out, 'finish');
  }
  return files;
}

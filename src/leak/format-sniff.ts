import { isTarHeader } from './tar-reader.js';

/**
 * Which scanner reads a file: by name where the extension is telling, else (and to catch
 * compressed or binary data behind any name) by its first bytes.
 */
export type LeakFormat = 'csv' | 'text' | 'json' | 'ndjson' | 'xml' | 'sql' | 'hl7';

export type Sniffed =
  | { kind: 'text'; format: LeakFormat; delimiter: number }
  | { kind: 'gzip' }
  | { kind: 'zip' }
  | { kind: 'tar' }
  | { kind: 'utf16'; littleEndian: boolean }
  | { kind: 'binary'; reason: string };

/** Bytes looked at. */
export const SNIFF_BYTES = 65536;

const BY_EXTENSION: Readonly<Record<string, LeakFormat>> = {
  csv: 'csv',
  tsv: 'csv',
  tab: 'csv',
  psv: 'csv',
  json: 'json',
  ndjson: 'ndjson',
  jsonl: 'ndjson',
  xml: 'xml',
  sql: 'sql',
  psql: 'sql',
  pgsql: 'sql',
  hl7: 'hl7',
  er7: 'hl7',
  txt: 'text',
  log: 'text',
};

const DELIMITERS = [0x2c, 0x3b, 0x09, 0x7c];

/** The extension of a (member) name without compression suffixes: "a.CSV.gz" → "csv". */
export function extensionOf(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1).toLowerCase();
  const parts = base.split('.');
  while (parts.length > 1 && (parts[parts.length - 1] === 'gz' || parts[parts.length - 1] === 'gzip')) parts.pop();
  return parts.length > 1 ? (parts[parts.length - 1] as string) : '';
}

export function sniffFormat(name: string, head: Uint8Array): Sniffed {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return { kind: 'gzip' };
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5) && head[3] === head[2] + 1)
    return { kind: 'zip' };
  if (isTarHeader(head)) return { kind: 'tar' };
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return { kind: 'utf16', littleEndian: true };
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return { kind: 'utf16', littleEndian: false };
  const binary = binaryReason(head);
  if (binary) return { kind: 'binary', reason: binary };
  const ext = extensionOf(name);
  const byName = BY_EXTENSION[ext];
  if (byName === 'csv') return { kind: 'text', format: 'csv', delimiter: ext === 'tsv' || ext === 'tab' ? 0x09 : sniffDelimiter(head) };
  if (byName && byName !== 'text') return { kind: 'text', format: byName, delimiter: -1 };
  return { kind: 'text', ...byContent(head) };
}

/** NUL bytes or many control characters: not text (an image, a database file, encrypted data). */
function binaryReason(head: Uint8Array): string | null {
  let control = 0;
  for (let i = 0; i < head.length; i++) {
    const b = head[i] as number;
    if (b === 0) return 'binary content (NUL bytes), not scanned';
    // Tab, line breaks, form feed, escape and the HL7 MLLP frame bytes occur in text.
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x1b && b !== 0x0b && b !== 0x1c) control++;
  }
  return control * 100 > head.length ? 'binary content (control bytes), not scanned' : null;
}

function byContent(head: Uint8Array): { format: LeakFormat; delimiter: number } {
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x0b)) i++;
  const first = head[i];
  if (first === 0x7b || first === 0x5b) return { format: 'json', delimiter: -1 };
  if (first === 0x3c) return { format: 'xml', delimiter: -1 };
  const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('latin1');
  if (text.startsWith('MSH|', i)) return { format: 'hl7', delimiter: -1 };
  if (/^(--.*(PostgreSQL|MySQL|MariaDB) (database )?dump|\s*(INSERT INTO|COPY \S+.*FROM stdin|CREATE TABLE|SET [a-z_]+ = ))/im.test(text))
    return { format: 'sql', delimiter: -1 };
  const delimiter = sniffDelimiter(head);
  return consistentColumns(text, delimiter) ? { format: 'csv', delimiter } : { format: 'text', delimiter: -1 };
}

/** The delimiter that occurs most in the first line (outside quotes); "," when none does. */
function sniffDelimiter(head: Uint8Array): number {
  const counts = delimiterCounts(head, 0);
  let best = 0x2c;
  let most = 0;
  DELIMITERS.forEach((d, k) => {
    if ((counts[k] as number) > most) {
      most = counts[k] as number;
      best = d;
    }
  });
  return best;
}

function delimiterCounts(head: Uint8Array, from: number): number[] {
  const counts = [0, 0, 0, 0];
  let quoted = false;
  for (let i = from; i < head.length; i++) {
    const b = head[i] as number;
    if (b === 0x22) quoted = !quoted;
    if (quoted) continue;
    if (b === 0x0a || b === 0x0d) break;
    const k = DELIMITERS.indexOf(b);
    if (k >= 0) counts[k] = (counts[k] as number) + 1;
  }
  return counts;
}

/** The first lines all have the same (non-zero) number of the delimiter: a table, not prose. */
function consistentColumns(text: string, delimiter: number): boolean {
  const lines = text.split(/\r?\n/).slice(0, 20);
  if (lines.length > 1 && lines[lines.length - 1] !== '') lines.pop();
  const rows = lines.filter((l) => l !== '');
  if (rows.length < 2) return false;
  const d = String.fromCharCode(delimiter);
  const n = (l: string): number => l.split(d).length - 1;
  const first = n(rows[0] as string);
  return first >= 1 && rows.every((l) => n(l) === first);
}

/**
 * The statement heads the SQL scanner needs to read: where an INSERT's VALUES list starts, whether
 * a line is a `COPY … FROM stdin;` header, and the column list of either.
 */
const HEADER_LIMIT = 65536;

function wordAt(buf: Uint8Array, i: number, to: number, word: string): boolean {
  if (i + word.length > to) return false;
  for (let k = 0; k < word.length; k++) if (((buf[i + k] as number) | 0x20) !== word.charCodeAt(k)) return false;
  const after = buf[i + word.length];
  return after === undefined || !(((after | 0x20) >= 0x61 && (after | 0x20) <= 0x7a) || after === 0x5f);
}

/**
 * For an INSERT (or REPLACE) at i: the offset just past its VALUES keyword; 0 when i starts no
 * INSERT … VALUES; -1 when the chunk ends before the statement's VALUES or ";".
 */
export function insertValues(buf: Buffer, i: number, to: number): number {
  if (!wordAt(buf, i, to, 'insert') && !wordAt(buf, i, to, 'replace')) return 0;
  const limit = Math.min(to, i + HEADER_LIMIT);
  let quoted = 0;
  for (let k = i; k < limit; k++) {
    const b = buf[k] as number;
    if (quoted !== 0) {
      if (b === quoted) quoted = 0;
      continue;
    }
    if (b === 0x27 || b === 0x22 || b === 0x60) quoted = b;
    else if (b === 0x3b) return 0;
    else if ((b | 0x20) === 0x76 && (k === 0 || !isWordByte(buf[k - 1] as number)) && wordAt(buf, k, limit, 'values')) return k + 6;
  }
  return limit === to ? -1 : 0;
}

function isWordByte(b: number): boolean {
  return ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x5f;
}

/** Whether the line at i is a COPY header reading rows from stdin; null when the chunk ends before the line does. */
export function isCopyFromStdin(buf: Buffer, i: number, to: number): boolean | null {
  if (!wordAt(buf, i, to, 'copy')) return i + 4 > to ? null : false;
  const lf = buf.indexOf(0x0a, i);
  const end = lf < 0 || lf >= to ? to : lf;
  if (end === to && lf < 0) return null;
  return /\bfrom\s+stdin\b/i.test(buf.toString('latin1', i, Math.min(end, i + HEADER_LIMIT)));
}

/** Column names of the statement head buf[s..e) ("INSERT INTO t (a, b) VALUES", "COPY t (a, b) FROM stdin"); [] without a list. */
export function statementColumns(buf: Buffer, s: number, e: number): string[] {
  const head = buf.toString('utf8', s, Math.min(e, s + HEADER_LIMIT));
  const m = /^[^(]*?\(([^)]*)\)/.exec(head);
  if (!m?.[1]) return [];
  return m[1].split(',').map((n) => n.trim().replace(/^[`"[]|[`"\]]$/g, ''));
}

/**
 * Text for the PDF standard fonts, which read strings as WinAnsiEncoding (Windows-1252): every
 * character of that code page maps to its byte; any other character loses its accents (NFD, marks
 * dropped: "ł" has none to drop and becomes "?"), so a name is never silently cut short.
 */
// 0x80–0x9F differ from Latin-1 (Node's TextDecoder reads them as C1 controls, so they are listed).
const HIGH: Record<number, number> = {
  0x80: 0x20ac,
  0x82: 0x201a,
  0x83: 0x0192,
  0x84: 0x201e,
  0x85: 0x2026,
  0x86: 0x2020,
  0x87: 0x2021,
  0x88: 0x02c6,
  0x89: 0x2030,
  0x8a: 0x0160,
  0x8b: 0x2039,
  0x8c: 0x0152,
  0x8e: 0x017d,
  0x91: 0x2018,
  0x92: 0x2019,
  0x93: 0x201c,
  0x94: 0x201d,
  0x95: 0x2022,
  0x96: 0x2013,
  0x97: 0x2014,
  0x98: 0x02dc,
  0x99: 0x2122,
  0x9a: 0x0161,
  0x9b: 0x203a,
  0x9c: 0x0153,
  0x9e: 0x017e,
  0x9f: 0x0178,
};

/** The character each Windows-1252 code draws (null: unassigned or a control). */
export const WIN_ANSI_CHARS: readonly (string | null)[] = Array.from({ length: 256 }, (_, b) => {
  if (b < 32 || b === 127) return null;
  if (b >= 0x80 && b <= 0x9f) return HIGH[b] === undefined ? null : String.fromCodePoint(HIGH[b]);
  return String.fromCharCode(b);
});
const CODE = new Map<string, number>();
WIN_ANSI_CHARS.forEach((ch, b) => {
  if (ch !== null) CODE.set(ch, b);
});

/** The Windows-1252 codes of a text (one per character). */
export function winAnsiCodes(text: string): number[] {
  const out: number[] = [];
  for (const ch of text) {
    const code = CODE.get(ch);
    if (code !== undefined) {
      out.push(code);
      continue;
    }
    const bare = ch.normalize('NFD').replace(/\p{M}+/gu, '');
    const fallback = bare.length === 1 ? CODE.get(bare) : undefined;
    out.push(fallback ?? (ch === '\t' ? 32 : 63));
  }
  return out;
}

/** A PDF literal string, `(…)`, as latin1 text (one char per byte), with `(`, `)` and `\` escaped. */
export function pdfLiteral(text: string): string {
  let s = '(';
  for (const code of winAnsiCodes(text)) {
    if (code === 0x28 || code === 0x29 || code === 0x5c) s += '\\';
    s += String.fromCharCode(code);
  }
  return `${s})`;
}

import type { FontMetrics } from './font-metrics.js';

/**
 * Greedy line breaking at spaces, for a paragraph set in one font and size. A word wider than the
 * line (a long e-mail address) is broken between characters rather than run off the page.
 */
export function wrapText(text: string, font: FontMetrics, size: number, maxWidth: number): string[] {
  const lines: string[] = [];
  const space = font.width(' ', size);
  let line = '';
  let width = 0;
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    const w = font.width(word, size);
    if (line !== '' && width + space + w <= maxWidth) {
      line += ` ${word}`;
      width += space + w;
      continue;
    }
    if (line !== '') lines.push(line);
    if (w <= maxWidth) {
      line = word;
      width = w;
      continue;
    }
    line = '';
    width = 0;
    for (const ch of word) {
      const cw = font.width(ch, size);
      if (line !== '' && width + cw > maxWidth) {
        lines.push(line);
        line = '';
        width = 0;
      }
      line += ch;
      width += cw;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** A single line cut to fit (with an ellipsis), for address lines that must stay on one line. */
export function fitLine(text: string, font: FontMetrics, size: number, maxWidth: number): string {
  if (font.width(text, size) <= maxWidth) return text;
  let s = text;
  while (s.length > 0 && font.width(`${s}…`, size) > maxWidth) s = s.slice(0, -1);
  return `${s.trimEnd()}…`;
}

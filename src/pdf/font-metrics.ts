import PDFDocument from 'pdfkit';
import { WIN_ANSI_CHARS, winAnsiCodes } from './win-ansi.js';

/**
 * Glyph widths of the two standard fonts the letters and reports use, per Windows-1252 code, in
 * thousandths of the font size. They come from pdfkit's copy of Adobe's core-font metrics (AFM),
 * read once, so line breaks here match what a PDF viewer draws.
 */
export type StandardFont = 'Helvetica' | 'Helvetica-Bold';

export class FontMetrics {
  constructor(
    readonly font: StandardFont,
    private readonly widths: Uint16Array,
  ) {}

  /** Width of a text in points at a font size. */
  width(text: string, size: number): number {
    let w = 0;
    for (const code of winAnsiCodes(text)) w += this.widths[code] ?? 0;
    return (w * size) / 1000;
  }
}

const cache = new Map<StandardFont, FontMetrics>();

export function fontMetrics(font: StandardFont): FontMetrics {
  let m = cache.get(font);
  if (!m) {
    const doc = new PDFDocument({ autoFirstPage: false });
    doc.font(font).fontSize(1000);
    const widths = new Uint16Array(256);
    WIN_ANSI_CHARS.forEach((ch, b) => {
      if (ch !== null) widths[b] = Math.round(doc.widthOfString(ch));
    });
    cache.set(font, (m = new FontMetrics(font, widths)));
  }
  return m;
}

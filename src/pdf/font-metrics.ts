import { createRequire } from 'node:module';
import type PDFKit from 'pdfkit';
import { WIN_ANSI_CHARS, winAnsiCodes } from './win-ansi.js';

/**
 * Glyph widths of the two standard fonts the letters and reports use, per Windows-1252 code, in
 * thousandths of the font size. They come from pdfkit's copy of Adobe's core-font metrics (AFM),
 * read once, so line breaks here match what a PDF viewer draws.
 */
export type StandardFont = 'Helvetica' | 'Helvetica-Bold';

export class FontMetrics {
  private widths: Uint16Array | null = null;

  constructor(readonly font: StandardFont) {}

  /** Width of a text in points at a font size. */
  width(text: string, size: number): number {
    const widths = (this.widths ??= readWidths(this.font));
    let w = 0;
    for (const code of winAnsiCodes(text)) w += widths[code] ?? 0;
    return (w * size) / 1000;
  }
}

const cache = new Map<StandardFont, FontMetrics>();

/** The font's metrics; read from pdfkit on the first width asked (modules take them at load time). */
export function fontMetrics(font: StandardFont): FontMetrics {
  let m = cache.get(font);
  if (!m) cache.set(font, (m = new FontMetrics(font)));
  return m;
}

function readWidths(font: StandardFont): Uint16Array {
  // pdfkit is loaded on first use (~0.1 s), not when the vault opens: most commands print no letter.
  const PDFDocument = createRequire(import.meta.url)('pdfkit') as typeof PDFKit;
  const doc = new PDFDocument({ autoFirstPage: false });
  doc.font(font).fontSize(1000);
  const widths = new Uint16Array(256);
  WIN_ANSI_CHARS.forEach((ch, b) => {
    if (ch !== null) widths[b] = Math.round(doc.widthOfString(ch));
  });
  return widths;
}

import { pdfLiteral } from './win-ansi.js';

/**
 * A page content stream: positioned text lines in the two standard fonts (resource names F1
 * regular, F2 bold) and thin rules. Coordinates are PDF points from the bottom-left corner.
 */
export class ContentStream {
  private parts: string[] = [];

  text(x: number, y: number, bold: boolean, size: number, text: string): this {
    this.parts.push(`BT /${bold ? 'F2' : 'F1'} ${size} Tf ${fmt(x)} ${fmt(y)} Td ${pdfLiteral(text)} Tj ET`);
    return this;
  }

  rule(x1: number, y: number, x2: number): this {
    this.parts.push(`0.5 w ${fmt(x1)} ${fmt(y)} m ${fmt(x2)} ${fmt(y)} l S`);
    return this;
  }

  get empty(): boolean {
    return this.parts.length === 0;
  }

  toBuffer(): Buffer {
    return Buffer.from(`${this.parts.join('\n')}\n`, 'latin1');
  }
}

function fmt(n: number): string {
  return (Math.round(n * 100) / 100).toString();
}

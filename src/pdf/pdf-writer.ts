/**
 * A streaming PDF 1.4 writer for text documents in the standard fonts (Helvetica, Helvetica-Bold,
 * WinAnsiEncoding; not embedded). Objects go to the sink as they are made and only their offsets
 * are kept, so a print file of a million pages needs megabytes, not gigabytes. A content stream
 * can be written once and shared by many pages (`shared`): a print file's letters of one cohort
 * share their body text and differ only in the address block.
 *
 * Object numbers: 1 catalog, 2 page tree, 3 and 4 the fonts, 5 document info, then streams and pages.
 */
export const A4 = { width: 595.28, height: 841.89 } as const;

export interface PdfInfo {
  title: string;
  author: string;
  /** Fixed by the caller, so a document is byte-for-byte reproducible. */
  created: Date;
}

/** A content stream: raw bytes, or bytes already Flate-compressed (compressed once, written many times). */
export type StreamBytes = Buffer | { flate: Buffer };

export class PdfWriter {
  private offset = 0;
  private readonly offsets: number[] = [];
  private readonly pages: number[] = [];
  private next = 6;
  private done = false;

  constructor(private readonly sink: (chunk: Buffer) => void) {
    // The binary comment line marks the file as binary for transfer tools (PDF 32000 7.5.2).
    this.emit(Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1'));
    this.object(3, '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>');
    this.object(4, '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>');
  }

  /** Bytes written so far. */
  get size(): number {
    return this.offset;
  }

  get pageCount(): number {
    return this.pages.length;
  }

  /** Writes a content stream that pages can share; returns its object number. */
  shared(content: StreamBytes): number {
    const n = this.next++;
    this.stream(n, content);
    return n;
  }

  /** Adds an A4 page drawn by its content streams, in order: new buffers and shared object numbers. */
  page(contents: readonly (StreamBytes | number)[]): void {
    const refs = contents.map((c) => {
      if (typeof c === 'number') return c;
      const n = this.next++;
      this.stream(n, c);
      return n;
    });
    const n = this.next++;
    this.object(
      n,
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${A4.width} ${A4.height}] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> ` +
        `/Contents [${refs.map((r) => `${r} 0 R`).join(' ')}] >>`,
    );
    this.pages.push(n);
  }

  finish(info: PdfInfo): void {
    if (this.done) throw new Error('pdf already finished');
    this.done = true;
    this.object(2, `<< /Type /Pages /Count ${this.pages.length} /Kids [${this.pages.map((p) => `${p} 0 R`).join(' ')}] >>`);
    this.object(1, '<< /Type /Catalog /Pages 2 0 R >>');
    const d = info.created.toISOString().replace(/[-:T]/g, '').slice(0, 14);
    this.object(
      5,
      `<< /Title ${textString(info.title)} /Author ${textString(info.author)} /Producer (labvault) /CreationDate (D:${d}Z) >>`,
    );
    const xref = this.offset;
    const rows = ['xref', `0 ${this.next}`, '0000000000 65535 f '];
    for (let n = 1; n < this.next; n++) rows.push(`${String(this.offsets[n] ?? 0).padStart(10, '0')} 00000 n `);
    rows.push('trailer', `<< /Size ${this.next} /Root 1 0 R /Info 5 0 R >>`, 'startxref', String(xref), '%%EOF', '');
    this.emit(Buffer.from(rows.join('\n'), 'latin1'));
  }

  private stream(n: number, content: StreamBytes): void {
    const bytes = Buffer.isBuffer(content) ? content : content.flate;
    const filter = Buffer.isBuffer(content) ? '' : ' /Filter /FlateDecode';
    this.offsets[n] = this.offset;
    this.emit(Buffer.from(`${n} 0 obj\n<< /Length ${bytes.length}${filter} >>\nstream\n`, 'latin1'));
    this.emit(bytes);
    this.emit(Buffer.from('\nendstream\nendobj\n', 'latin1'));
  }

  private object(n: number, body: string): void {
    this.offsets[n] = this.offset;
    this.emit(Buffer.from(`${n} 0 obj\n${body}\nendobj\n`, 'latin1'));
  }

  private emit(b: Buffer): void {
    this.offset += b.length;
    this.sink(b);
  }
}

/** Document-info strings as UTF-16BE with a byte-order mark, so any character survives. */
function textString(s: string): string {
  const b = Buffer.from(`\ufeff${s}`, 'utf16le').swap16();
  return `<${b.toString('hex')}>`;
}

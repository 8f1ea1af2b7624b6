import type { SealedBundleWriter } from '../incidents/sealed-bundle.js';
import { PdfWriter, type PdfInfo } from '../pdf/pdf-writer.js';
import type { LetterRecipient } from './letter-recipient.js';
import type { LetterTemplate } from './letter-template.js';

/**
 * Writes each letter twice, both straight into sealed bundles: as its own PDF (one file per
 * patient, for a mail merge or a portal) and as pages of the controller's print file (one PDF in
 * print order, each letter starting on a new sheet for duplex printing; the cohort's body text is
 * stored once and shared by its pages). Neither ever exists in plaintext on disk.
 */
const PRINT_CHUNK = 256 * 1024;
const BLANK = Buffer.from('\n', 'latin1');

export class LetterPrinter {
  private readonly print: PdfWriter;
  private readonly shared = new Map<string, number>();
  private printBuffer: Buffer[] = [];
  private printBytes = 0;
  private count = 0;

  constructor(
    private readonly letters: SealedBundleWriter,
    private readonly printBundle: SealedBundleWriter,
    printName: string,
    private readonly info: PdfInfo,
  ) {
    printBundle.file(printName);
    this.print = new PdfWriter((b) => this.toPrint(b));
  }

  get letterCount(): number {
    return this.count;
  }

  get printPages(): number {
    return this.print.pageCount;
  }

  add(template: LetterTemplate, r: LetterRecipient): void {
    const { pages } = template.render(r);
    const own: Buffer[] = [];
    let size = 0;
    const pdf = new PdfWriter((b) => {
      own.push(b);
      size += b.length;
    });
    for (const p of pages) {
      pdf.page(p.patient ? [p.patient, p.body] : [p.body]);
      let ref = this.shared.get(p.bodyKey);
      if (ref === undefined) this.shared.set(p.bodyKey, (ref = this.print.shared(p.body)));
      this.print.page(p.patient ? [p.patient, ref] : [ref]);
    }
    if (pages.length % 2 === 1) this.print.page([BLANK]);
    pdf.finish(this.info);
    this.count++;
    this.letters.file(`${String(this.count).padStart(7, '0')}-${r.patient}.pdf`);
    this.letters.write(Buffer.concat(own, size));
  }

  /** Ends the print file (its page tree and cross-reference table) and flushes it into its bundle. */
  finish(): void {
    this.print.finish(this.info);
    this.flushPrint();
  }

  private toPrint(b: Buffer): void {
    this.printBuffer.push(b);
    this.printBytes += b.length;
    if (this.printBytes >= PRINT_CHUNK) this.flushPrint();
  }

  private flushPrint(): void {
    if (this.printBytes === 0) return;
    this.printBundle.write(Buffer.concat(this.printBuffer, this.printBytes));
    this.printBuffer = [];
    this.printBytes = 0;
  }
}

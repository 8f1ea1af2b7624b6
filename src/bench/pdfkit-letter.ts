import PDFDocument from 'pdfkit';
import { letterText, type LetterCohort, type LetterFacts } from '../letters/letter-text.js';
import { salutation, type LetterRecipient } from '../letters/letter-recipient.js';

/**
 * The baseline of `bench letters`: the same letter (both languages, same words) laid out by pdfkit
 * the usual way, one document and one text flow per patient. It is what a straightforward
 * implementation costs; labvault's own writer lays out each cohort once instead.
 */
export function pdfkitLetter(cohort: LetterCohort, facts: LetterFacts, r: LetterRecipient): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({ size: 'A4', margin: 60, compress: false });
    const parts: Buffer[] = [];
    doc.on('data', (b: Buffer) => parts.push(b));
    doc.on('end', () => resolve(Buffer.concat(parts)));
    doc.on('error', reject);
    (['nl', 'en'] as const).forEach((lang, i) => {
      if (i > 0) doc.addPage();
      const t = letterText(lang, cohort, facts);
      doc.font('Helvetica-Bold').fontSize(14).text(facts.controller);
      doc.font('Helvetica').fontSize(9.5).moveDown();
      if (lang === 'nl') doc.text(r.addressLines.join('\n'));
      doc.moveDown().text(`${t.labels.reference}: ${facts.incident} / ${r.patient}`);
      doc.moveDown().font('Helvetica-Bold').fontSize(11).text(t.subject).font('Helvetica').fontSize(9.5);
      doc.moveDown().text(salutation(lang, r));
      for (const b of t.blocks) {
        if (b.kind === 'heading') doc.moveDown(0.5).font('Helvetica-Bold').text(b.text).font('Helvetica');
        else if (b.kind === 'paragraph') doc.text(b.text);
        else doc.list(b.items);
      }
      doc.moveDown().text(t.closing);
    });
    doc.end();
  });
}

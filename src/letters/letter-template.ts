import { deflateSync } from 'node:zlib';
import { ContentStream } from '../pdf/content-stream.js';
import { fontMetrics } from '../pdf/font-metrics.js';
import { A4, type StreamBytes } from '../pdf/pdf-writer.js';
import { fitLine, wrapText } from '../pdf/wrap-text.js';
import { salutation, type LetterRecipient } from './letter-recipient.js';
import { letterDate, letterText, type LetterCohort, type LetterFacts, type LetterLanguage } from './letter-text.js';

/**
 * A cohort's letter laid out once: the body (header, date, subject, text, closing, page numbers)
 * is the same for every patient of the cohort, so its page content streams are made here once and
 * reused; per patient only the address block, reference and salutation are drawn. The Dutch
 * version comes first, the English one starts on a new page. That split is what makes the
 * letters fast: a letter costs a few hundred bytes of new drawing, not a layout.
 */
export interface LetterPages {
  /** Per page, the content streams in drawing order; bodies are the template's shared buffers. */
  pages: { patient: Buffer | null; body: StreamBytes; bodyKey: string }[];
}

const LEFT = 65;
const RIGHT = A4.width - 55;
const WIDTH = RIGHT - LEFT;
const TOP = A4.height - 55;
const BOTTOM = 60;
const SIZE = 9.5;
const LEADING = 12.2;
// The address block sits where a Dutch window envelope (C5/6, window left) shows it.
const ADDRESS_TOP = A4.height - 140;
const REFERENCE_Y = A4.height - 232;
const SUBJECT_Y = A4.height - 262;
const SALUTATION_Y = A4.height - 282;
const BODY_TOP = A4.height - 302;

const regular = fontMetrics('Helvetica');
const bold = fontMetrics('Helvetica-Bold');

interface Line {
  text: string;
  bold: boolean;
  indent: number;
  gapBefore: number;
}

export class LetterTemplate {
  private readonly bodies: { lang: LetterLanguage; body: StreamBytes; key: string; first: boolean }[] = [];
  private readonly referenceLabel: Record<LetterLanguage, string>;

  /** `variant` tells templates of one cohort apart (their shared body streams must not mix). */
  constructor(
    readonly cohort: LetterCohort,
    private readonly facts: LetterFacts,
    variant = '',
  ) {
    this.referenceLabel = { nl: '', en: '' };
    for (const lang of ['nl', 'en'] as const) {
      const text = letterText(lang, cohort, facts);
      this.referenceLabel[lang] = text.labels.reference;
      const lines = this.lines(lang);
      const pages: Line[][] = [[]];
      let y = BODY_TOP;
      for (const l of lines) {
        y -= l.gapBefore;
        if (y < BOTTOM) {
          pages.push([]);
          y = TOP - 20;
        }
        (pages[pages.length - 1] as Line[]).push({ ...l, gapBefore: y });
        y -= LEADING;
      }
      pages.forEach((page, i) => {
        const cs = new ContentStream();
        if (i === 0) {
          cs.text(LEFT, TOP, true, 14, facts.controller);
          cs.text(LEFT, TOP - 16, false, 8, lang === 'nl' ? `Laboratoriumonderzoek door ${facts.lab}` : `Laboratory tests by ${facts.lab}`);
          cs.rule(LEFT, TOP - 24, RIGHT);
          cs.text(LEFT, REFERENCE_Y + 14, false, SIZE, `${text.labels.date}: ${letterDate(lang, facts.date)}`);
          cs.text(LEFT, SUBJECT_Y, true, 11, fitLine(text.subject, bold, 11, WIDTH));
        }
        for (const l of page) cs.text(LEFT + l.indent, l.gapBefore, l.bold, SIZE, l.text);
        const footer = `${text.labels.page} ${i + 1} / ${pages.length}`;
        cs.text(RIGHT - regular.width(footer, 8), 32, false, 8, footer);
        if (i === 0 && text.labels.otherLanguage) cs.text(LEFT, 32, false, 8, text.labels.otherLanguage);
        // Compressed once here, copied into every letter: about a third of the size at no cost per letter.
        this.bodies.push({
          lang,
          body: { flate: deflateSync(cs.toBuffer(), { level: 9 }) },
          key: `${cohort}:${variant}:${lang}:${i}`,
          first: i === 0,
        });
      });
    }
  }

  /** The letter for one patient, page by page. */
  render(r: LetterRecipient): LetterPages {
    return {
      pages: this.bodies.map((b) => ({
        patient: b.first ? this.patientPart(b.lang, r) : null,
        body: b.body,
        bodyKey: b.key,
      })),
    };
  }

  private patientPart(lang: LetterLanguage, r: LetterRecipient): Buffer {
    const cs = new ContentStream();
    if (lang === 'nl')
      r.addressLines.slice(0, 6).forEach((l, i) => cs.text(LEFT, ADDRESS_TOP - i * 12, false, SIZE, fitLine(l, regular, SIZE, 240)));
    cs.text(LEFT, REFERENCE_Y, false, SIZE, `${this.referenceLabel[lang]}: ${this.facts.incident} / ${r.patient}`);
    cs.text(LEFT, SALUTATION_Y, false, SIZE, fitLine(salutation(lang, r), regular, SIZE, WIDTH));
    return cs.toBuffer();
  }

  private lines(lang: LetterLanguage): Line[] {
    const text = letterText(lang, this.cohort, this.facts);
    const out: Line[] = [];
    for (const b of text.blocks) {
      if (b.kind === 'heading') out.push({ text: b.text, bold: true, indent: 0, gapBefore: LEADING * 0.6 });
      else if (b.kind === 'paragraph')
        wrapText(b.text, regular, SIZE, WIDTH).forEach((t, i) => out.push({ text: t, bold: false, indent: 0, gapBefore: i === 0 ? 2 : 0 }));
      else
        for (const item of b.items)
          wrapText(item, regular, SIZE, WIDTH - 14).forEach((t, i) =>
            out.push({ text: i === 0 ? `•  ${t}` : t, bold: false, indent: i === 0 ? 0 : 14, gapBefore: i === 0 ? 3 : 0 }),
          );
    }
    text.closing.split('\n').forEach((t, i) => out.push({ text: t, bold: false, indent: 0, gapBefore: i === 0 ? LEADING : 0 }));
    return out;
  }
}

import { InvalidInput } from '../domain/errors.js';
import { ContentStream } from '../pdf/content-stream.js';
import { fontMetrics } from '../pdf/font-metrics.js';
import { A4, PdfWriter } from '../pdf/pdf-writer.js';
import { wrapText } from '../pdf/wrap-text.js';
import type { AuthorityFacts } from './authority-report.js';
import { LABEL, PHRASE, SECTION } from './authority-report-nl.js';

/**
 * The report to the Dutch DPA as a readable PDF, beside its JSON: the same form, section by section
 * in the form's order, so what the officer reads and signs off is what the JSON says. The form's
 * keys and the facts' fixed phrases are English (they are data); the reader at the authority reads
 * Dutch, so labels and the known phrases are put into Dutch here, and free text (the incident's
 * cause) stays as recorded. Each section key is shown beside its Dutch title, so the PDF and the
 * JSON can be matched line by line. Unknown and "to be completed" values are set in bold brackets
 * and listed up front: a phased report (33(4)) is sent before everything is known, and the next
 * phase starts from that list. Counts only, as the form: nothing here names a patient.
 */
export interface AuthorityReportPdfOptions {
  /** When the report was made: shown in Europe/Amsterdam, and fixed in the file so it is reproducible. */
  generatedAt: Date;
}

const LEFT = 60;
const RIGHT = A4.width - 55;
const WIDTH = RIGHT - LEFT;
const TOP = A4.height - 60;
const BOTTOM = 62;
const FOOTER_Y = 34;
const SIZE = 9.5;
const LEADING = 12.4;
const LABEL_W = 165;
const VALUE_X = LEFT + LABEL_W + 10;
const VALUE_W = RIGHT - VALUE_X;
const INDENT = 12;
const KEEP_SECTION = 240;
const BULLET = 10;
const ZONE = 'Europe/Amsterdam';
const TO_FILL = '(to be completed)';

const regular = fontMetrics('Helvetica');
const bold = fontMetrics('Helvetica-Bold');

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

interface Frag {
  x: number;
  text: string;
  bold: boolean;
  size: number;
}
interface Line {
  frags: Frag[];
  /** Space above the line, dropped at the top of a page. */
  before: number;
  height: number;
  /** Keep on one page with the next line (a heading with its first row, a short row's lines). */
  keep: boolean;
  rule?: boolean;
  /** The section the line belongs to, repeated at the top of a page it continues on. */
  section?: string;
  heading?: boolean;
}
interface Shown {
  text: string;
  open: boolean;
}

/** Renders the report; the result is a complete PDF file. */
export function authorityReportPdf(facts: AuthorityFacts, form: Record<string, unknown>, opts: AuthorityReportPdfOptions): Buffer {
  const sections = Object.entries(form).filter(([k]) => k !== 'form');
  if (sections.length === 0) throw new InvalidInput('authority report: the form has no sections');
  const title = typeof form.form === 'string' ? form.form : 'Melding datalek';
  const phase = facts.version === 1 ? 'nieuwe melding (versie 1)' : `vervolgmelding, versie ${facts.version} (art. 33 lid 4 AVG)`;
  const open: string[] = [];

  const body: Line[] = [];
  for (const [key, value] of sections) {
    const m = /^(\d+)\s+(.*)$/.exec(key);
    const heading = m ? `${m[1]} ${SECTION[m[2] ?? ''] ?? m[2]}` : key;
    const start = body.length;
    body.push({
      frags: [frag(LEFT, heading, true, 11.5), frag(RIGHT - regular.width(`[${key}]`, 7.5), `[${key}]`, false, 7.5)],
      before: 14,
      height: 16,
      keep: true,
      rule: true,
      heading: true,
    });
    const where = (label: string) => `${heading} › ${label}`;
    if (Array.isArray(value))
      body.push(
        ...bullets(
          value.map((v) => note(show(v), where(''), open)),
          LEFT,
          WIDTH,
        ),
      );
    else if (isRecord(value)) body.push(...entries(value, 0, heading, open));
    else body.push(...row('Antwoord', note(show(value), where(''), open), 0));
    // A short section is kept on one page; a long one may break between its rows.
    const lines = body.slice(start);
    const small = lines.reduce((h, l) => h + l.before + l.height, 0) <= KEEP_SECTION;
    for (const l of lines) {
      l.section = heading;
      if (small) l.keep = true;
    }
    body.push({ frags: [], before: 0, height: 4, keep: false });
  }

  const head: Line[] = [
    ...wrapText(title, bold, 16, WIDTH).map((t) => ({ frags: [frag(LEFT, t, true, 16)], before: 0, height: 20, keep: true })),
    {
      frags: [frag(LEFT, 'Melding van een inbreuk in verband met persoonsgegevens (art. 33 lid 3 AVG)', false, 9)],
      before: 0,
      height: 14,
      keep: true,
      rule: true,
    },
    ...row('Organisatie', { text: facts.reporter.organisation, open: false }, 0, 6),
    ...row('Incident', { text: facts.incident, open: false }, 0),
    ...row('Fase', { text: phase, open: false }, 0),
    ...row('Aangemaakt', { text: `${moment(opts.generatedAt.toISOString())} (tijden in ${ZONE})`, open: false }, 0),
    ...(open.length === 0
      ? row('Nog in te vullen', { text: 'niets', open: false }, 0)
      : listRow(
          `Nog in te vullen (${open.length})`,
          open.map((text) => ({ text, open: true })),
          0,
        )),
    { frags: [], before: 0, height: 6, keep: false },
  ];

  const pages = paginate([...head, ...body]);
  const chunks: Buffer[] = [];
  const pdf = new PdfWriter((b) => chunks.push(b));
  const footerLeft = `${title} · ${facts.incident} · ${facts.version === 1 ? 'nieuwe melding' : `vervolgmelding v${facts.version}`}`;
  pages.forEach((page, n) => {
    const cs = new ContentStream();
    for (const { line, y: base } of page) {
      for (const f of line.frags) cs.text(f.x, base, f.bold, f.size, f.text);
      if (line.rule) cs.rule(LEFT, base - 4, RIGHT);
    }
    const footer = `pagina ${n + 1} / ${pages.length}`;
    cs.rule(LEFT, FOOTER_Y + 11, RIGHT);
    cs.text(LEFT, FOOTER_Y, false, 7.5, footerLeft);
    cs.text(RIGHT - regular.width(footer, 7.5), FOOTER_Y, false, 7.5, footer);
    pdf.page([cs.toBuffer()]);
  });
  pdf.finish({ title: `${title} — ${facts.incident} v${facts.version}`, author: facts.reporter.organisation, created: opts.generatedAt });
  return Buffer.concat(chunks);
}

/**
 * The first pass: places the lines on pages, so the second (drawing, with "pagina X / Y") knows how
 * many there are. A chain of lines kept together moves to the next page whole if it fits there; a
 * section that runs over a page break gets its heading repeated, marked "(vervolg)".
 */
function paginate(lines: Line[]): { line: Line; y: number }[][] {
  const pages: { line: Line; y: number }[][] = [];
  let page: { line: Line; y: number }[] = [];
  let y = TOP;
  const place = (line: Line) => {
    if (page.length === 0) line = { ...line, before: 0 };
    y -= line.before + line.height;
    page.push({ line, y: y + line.height * 0.25 });
  };
  const newPage = (next: Line) => {
    pages.push(page);
    page = [];
    y = TOP;
    if (next.section && !next.heading) {
      place({ frags: [frag(LEFT, `${next.section} (vervolg)`, true, 9.5)], before: 0, height: 15, keep: false, rule: true });
      y -= 3;
    }
  };
  lines.forEach((line, i) => {
    if (page.length > 0 && (i === 0 || !lines[i - 1]?.keep)) {
      const chain = chainHeight(lines, i);
      if (y - chain < BOTTOM && chain <= TOP - BOTTOM - 15) newPage(line);
    }
    if (page.length > 0 && y - line.before - line.height < BOTTOM) newPage(line);
    place(line);
  });
  pages.push(page);
  return pages;
}

function chainHeight(lines: Line[], from: number): number {
  let h = 0;
  for (let i = from; i < lines.length; i++) {
    const l = lines[i] as Line;
    h += l.before + l.height;
    if (!l.keep) break;
  }
  return h;
}

/** An object's fields as rows; nested objects as a bold sub-heading with their fields indented. */
function entries(obj: Record<string, unknown>, depth: number, path: string, open: string[]): Line[] {
  const out: Line[] = [];
  for (const [key, value] of Object.entries(obj)) {
    const label = LABEL[key] ?? key.replace(/_/g, ' ');
    const where = `${path} › ${label}`;
    if (isRecord(value)) {
      out.push(...labelLines(label, depth, true).map((l, i) => ({ ...l, before: i === 0 ? 3 : 0 })));
      out.push(...entries(value, depth + 1, where, open));
    } else if (Array.isArray(value) && !isRange(value) && value.length > 0) {
      const items = value.map((v) => note(isRecord(v) ? inline(v) : show(v), where, open));
      out.push(...listRow(label, items, depth));
    } else out.push(...row(label, note(show(value), where, open), depth));
  }
  return out;
}

/** A label beside a bulleted list. */
function listRow(label: string, items: Shown[], depth: number): Line[] {
  const list = bullets(items, VALUE_X, VALUE_W);
  labelLines(label, depth, false).forEach((l, i, labels) => {
    const target = list[i];
    if (target) target.frags.unshift(...l.frags);
    else list.push({ ...l, keep: false });
    if (i < labels.length - 1) (list[i] as Line).keep = true;
  });
  if (list[0]) list[0].before = 3;
  return list;
}

/** A label: value row; the label wraps in its column, the value beside it. */
function row(label: string, value: Shown, depth: number, before = 3): Line[] {
  const labels = labelLines(label, depth, false);
  const values = wrapText(value.text, value.open ? bold : regular, SIZE, VALUE_W);
  const n = Math.max(labels.length, values.length, 1);
  const out: Line[] = [];
  for (let i = 0; i < n; i++) {
    const frags = [...(labels[i]?.frags ?? [])];
    const v = values[i];
    if (v !== undefined) frags.push(frag(VALUE_X, v, value.open, SIZE));
    // Short rows stay whole; a long text may run over a page break rather than leave a hole.
    out.push({ frags, before: i === 0 ? before : 0, height: LEADING, keep: i < n - 1 && n <= 6 });
  }
  return out;
}

function labelLines(label: string, depth: number, heading: boolean): Line[] {
  const x = LEFT + depth * INDENT;
  const w = heading ? RIGHT - x : LABEL_W - depth * INDENT;
  return wrapText(heading ? label : `${label}:`, bold, SIZE, w).map((t) => ({
    frags: [frag(x, t, true, SIZE)],
    before: 0,
    height: LEADING,
    keep: true,
  }));
}

/** Bulleted items with a hanging indent; each item's lines stay together when short. */
function bullets(items: Shown[], x: number, width: number): Line[] {
  if (items.length === 0) return [{ frags: [frag(x, 'geen', false, SIZE)], before: 3, height: LEADING, keep: false }];
  const out: Line[] = [];
  items.forEach((item, n) => {
    const lines = wrapText(item.text, item.open ? bold : regular, SIZE, width - BULLET);
    lines.forEach((t, i) => {
      const frags = [frag(x + BULLET, t, item.open, SIZE)];
      if (i === 0) frags.unshift(frag(x + 1, '•', false, SIZE));
      out.push({ frags, before: i === 0 && n > 0 ? 2 : i === 0 ? 3 : 0, height: LEADING, keep: i < lines.length - 1 && lines.length <= 6 });
    });
  });
  return out;
}

/** One value as Dutch text; `open` when it is still unknown or to be completed. */
function show(v: unknown): Shown {
  if (v === null || v === undefined) return { text: '[onbekend]', open: true };
  if (v === TO_FILL) return { text: '[nog in te vullen]', open: true };
  if (typeof v === 'boolean') return { text: v ? 'ja' : 'nee', open: false };
  if (typeof v === 'number') return { text: new Intl.NumberFormat('nl-NL').format(v), open: false };
  if (isRange(v)) return { text: v[0] === v[1] ? show(v[0]).text : `${show(v[0]).text} – ${show(v[1]).text}`, open: false };
  if (Array.isArray(v))
    return v.length === 0
      ? { text: 'geen', open: false }
      : { text: v.map((x) => show(x).text).join(', '), open: v.some((x) => show(x).open) };
  if (isRecord(v)) return inline(v);
  // What is left in a JSON form is a string.
  return { text: typeof v === 'string' ? phrase(v) : typeof v === 'bigint' ? v.toString() : '', open: false };
}

/** An object in a list (another organisation) as one item, led by its name: "Ziekenhuis West — kenmerk: …; …". */
function inline(obj: Record<string, unknown>): Shown {
  const parts = Object.entries(obj)
    .filter(([k]) => k !== 'name')
    .map(([k, v]) => ({ k: (LABEL[k] ?? k).toLowerCase(), s: show(v) }));
  const rest = parts.map((p) => `${p.k}: ${p.s.text}`).join('; ');
  const name = 'name' in obj ? show(obj.name) : null;
  return {
    text: name ? (rest ? `${name.text} — ${rest}` : name.text) : rest,
    open: (name?.open ?? false) || parts.some((p) => p.s.open),
  };
}

function phrase(s: string): string {
  const known = PHRASE[s];
  if (known !== undefined) return known;
  const exempt = /^no: Art\. (\S+) \(unintelligible data\)$/.exec(s);
  if (exempt) return `nee: art. ${exempt[1]} AVG (onbegrijpelijke gegevens)`;
  if (ISO.test(s)) return moment(s);
  // A follow-up measure: "<time> <action>", from the incident's timeline.
  const [first, ...rest] = s.split(' ');
  if (first !== undefined && rest.length > 0 && ISO.test(first)) return `${moment(first)}: ${phrase(rest.join(' '))}`;
  return s;
}

function note(s: Shown, where: string, open: string[]): Shown {
  if (s.open) open.push(where.replace(/ › $/, ''));
  return s;
}

/** A moment in Dutch, in Amsterdam time with its zone (CET/CEST): "12 maart 2025, 11:05 CET". */
function moment(iso: string): string {
  const parts = new Intl.DateTimeFormat('nl-NL', {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZone: ZONE,
    timeZoneName: 'short',
  }).formatToParts(new Date(iso));
  const p = (t: Intl.DateTimeFormatPartTypes) => parts.find((x) => x.type === t)?.value ?? '';
  return `${p('day')} ${p('month')} ${p('year')}, ${p('hour')}:${p('minute')} ${p('timeZoneName')}`;
}

function frag(x: number, text: string, b: boolean, size: number): Frag {
  return { x, text, bold: b, size };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isRange(v: unknown): v is [number, number] {
  return Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number';
}

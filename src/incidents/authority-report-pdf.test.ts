import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { IncidentView } from '../services/incident-register.js';
import { authorityFacts, dutchDpaForm, type AuthorityFacts } from './authority-report.js';
import { authorityReportPdf } from './authority-report-pdf.js';

/**
 * The DPA report as the authority's reader gets it: rendered, checked by qpdf, read back with
 * poppler's pdftotext as a viewer would, page by page and word by word.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'lv-ap-pdf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Pseudonymous ids and BSNs of people in scope: held elsewhere in the record, never in the report.
const PATIENTS = ['pat-7f3a9c21', 'pat-0b44e8d1', 'pat-c9e1a002'];
const BSNS = ['111222333', '123456782'];
const LONG_CAUSE =
  'cap.patients-per-minute: a pathologist account of the screening programme opened the records of many patients in quick ' +
  'succession from an address outside the hospital network, outside working hours, without any order or care relation that ' +
  'explains the access; the account was suspended by inline detection, its tokens were revoked and the origin blocked, ' +
  'after which the operator confirmed with the account holder that the access was not theirs (credential theft by phishing).';

const TENANTS = [
  { id: 'screening', name: 'Stichting Bevolkingsonderzoek Noord', labRole: 'processor' },
  { id: 'hospital-west', name: 'Ziekenhuis West', labRole: 'processor' },
  { id: 'gp-south', name: 'Huisartsenpraktijk Zuid', labRole: 'controller' },
];
const REPORTER = { organisation: 'Regionaal Laboratorium Noord B.V.', contact: { name: 'M. de Vries, FG', email: 'fg@lab-noord.example' } };

function incident(over: Partial<IncidentView> = {}, doc: Record<string, unknown> = {}): IncidentView {
  return {
    id: 'inc-2f9d6a4e-0c1b-4d7e-9a55-3b8e1f0c7d21',
    source: 'detection',
    trigger: 'cap.patients-per-minute',
    status: 'open',
    openedAt: '2025-03-12T09:41:00.000Z',
    principalId: 'prn-8c1d',
    tenants: ['screening', 'hospital-west'],
    window: { start: '2025-03-11T22:10:00.000Z', end: '2025-03-12T09:40:00.000Z' },
    types: ['confidentiality'],
    awareness: { lab: '2025-03-12T09:41:00.000Z' },
    timeline: [
      { at: '2025-03-12T09:41:00.000Z', by: 'labvault-detection', action: 'contained', note: 'account suspended', evidence: null },
      { at: '2025-03-12T13:20:00.000Z', by: 'officer', action: 'scoped', note: null, evidence: null },
      { at: '2025-03-13T08:00:00.000Z', by: 'officer', action: 'notified', note: 'controllers', evidence: null },
    ],
    doc: {
      scope: {
        ciphertext_only: false,
        tenants: [
          {
            tenant: 'screening',
            patients: [1180, 1250],
            records: [4210, 4390],
            categories: ['identity', 'national-id', 'clinical-result'],
          },
          { tenant: 'hospital-west', patients: [37, 40], records: [98, 101], categories: ['identity', 'contact', 'demographics'] },
        ],
      },
      severity: { band: 'high', se: 3.25, highRisk: true, exemption: null },
      exposure: { patients: PATIENTS, bsn_seen: BSNS },
      ...doc,
    },
    ...over,
  };
}

const AT = new Date('2025-03-13T15:30:00.000Z');

function render(facts: AuthorityFacts, name: string): { file: string; text: string; pages: number } {
  const file = path.join(dir, `${name}.pdf`);
  writeFileSync(file, authorityReportPdf(facts, dutchDpaForm(facts), { generatedAt: AT }));
  execFileSync('qpdf', ['--check', file], { stdio: 'pipe' });
  const pages = Number(execFileSync('qpdf', ['--show-npages', file], { encoding: 'utf8' }).trim());
  return { file, text: execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }), pages };
}

const pageText = (file: string, n: number) =>
  execFileSync('pdftotext', ['-layout', '-f', String(n), '-l', String(n), file, '-'], { encoding: 'utf8' });
const words = (s: string) => s.split(/\s+/).filter((w) => w !== '');

describe('authority report PDF (Dutch DPA form)', () => {
  const first = render(authorityFacts(incident(), TENANTS, 1, REPORTER), 'first');

  it('has the header, every form section in Dutch with its key, and the key facts', () => {
    const t = first.text;
    expect(t).toContain('Autoriteit Persoonsgegevens — melding datalek');
    expect(t).toMatch(/Organisatie:\s+Regionaal Laboratorium Noord B\.V\./);
    expect(t).toMatch(/Incident:\s+inc-2f9d6a4e-0c1b-4d7e-9a55-3b8e1f0c7d21/);
    expect(t).toMatch(/Fase:\s+nieuwe melding \(versie 1\)/);
    // 15:30 UTC in March is 16:30 in Amsterdam (CET).
    expect(t).toMatch(/Aangemaakt:\s+13 maart 2025, 16:30 CET/);
    const sections = [
      ['1 Soort melding', '1 notification'],
      ['2 Organisatie en contactpersoon', '2 organisation'],
      ['3 Tijdstippen', '3 timeline'],
      ['4 Aard van het datalek', '4 nature'],
      ['5 Soort persoonsgegevens', '5 personal data'],
      ['6 Aantal betrokkenen', '6 people'],
      ['7 Beschermingsmaatregelen vooraf', '7 measures beforehand'],
      ['8 Gevolgen', '8 consequences'],
      ['9 Vervolgacties', '9 follow-up'],
    ];
    for (const [nl, key] of sections) expect(t).toMatch(new RegExp(`${nl}\\s+\\[${key}\\]`));
    // Counts: sums over the controllers, as ranges, in Dutch notation.
    expect(t).toMatch(/Aantal betrokkenen, minimaal:\s+1\.217\b/);
    expect(t).toMatch(/Aantal betrokkenen, maximaal:\s+1\.290\b/);
    expect(t).toMatch(/Aantal records \(ongeveer\):\s+4\.308 – 4\.491/);
    // Dates in Amsterdam time.
    expect(t).toMatch(/Begin:\s+11 maart 2025, 23:10 CET/);
    expect(t).toMatch(/Ontdekt op:\s+12 maart 2025, 10:41 CET/);
    expect(t).toContain('13 maart 2025, 09:00 CET: gemeld');
    // Categories and the other organisations, in Dutch.
    for (const s of [
      'naam',
      'BSN (burgerservicenummer)',
      'adres, telefoonnummer, e-mailadres',
      'gezondheid (laboratoriumaanvragen en -uitslagen)',
    ])
      expect(t).toContain(s);
    // Wrapped in the value column: whole once the line breaks are read as spaces.
    expect(words(t).join(' ')).toContain(
      '• Stichting Bevolkingsonderzoek Noord — kenmerk: screening; rol van het laboratorium: verwerker •',
    );
    expect(t).not.toContain('Huisartsenpraktijk Zuid');
    expect(t).toMatch(/Klasse:\s+hoog/);
    expect(t).toMatch(/Score \(SE\):\s+3,25/);
    expect(t).toMatch(/Betrokkenen geïnformeerd:\s+ja: per brief aan de betrokkenen/);
    // The fixed phrases of the facts are all in Dutch: no English sentence is left behind.
    for (const en of ['encrypted', 'blind indexes', 'letters to', 'citizen service', 'to be completed', 'patients\n'])
      expect(t).not.toContain(en);
  });

  it('marks what is unknown or to be completed, and lists it up front for the next phase', () => {
    const t = first.text;
    expect(t).toMatch(/Grensoverschrijdend:\s+\[nog in te vullen\]/);
    expect(t).toMatch(/Nog in te vullen \(1\):\s+• 9 Vervolgacties › Grensoverschrijdend\n/);
    const early = render(
      authorityFacts(incident({ window: { start: '2025-03-11T22:10:00.000Z', end: null } }, { severity: undefined }), TENANTS, 2, REPORTER),
      'follow-up',
    );
    expect(early.text).toMatch(/Fase:\s+vervolgmelding, versie 2 \(art\. 33 lid 4 AVG\)/);
    expect(early.text).toMatch(/Einde:\s+\[onbekend\]/);
    expect(early.text).toMatch(/Ernst \(ENISA\):\s+\[onbekend\]/);
    expect(early.text).toMatch(/Betrokkenen geïnformeerd:\s+\[nog in te vullen\]/);
    expect(early.text).toMatch(/Nog in te vullen \(4\):\s+• 3 Tijdstippen › Einde\n\s+• 8 Gevolgen › Ernst \(ENISA\)\n/);
    expect(early.text).toContain('vervolgmelding v2');
  });

  it('runs over pages with a correct "pagina X / Y" footer, and wraps long text without losing a word', () => {
    const timeline = Array.from({ length: 70 }, (_, i) => ({
      at: new Date(Date.UTC(2025, 2, 13, 8, i * 7)).toISOString(),
      by: 'officer',
      action: i % 2 ? 'mitigated' : 'notified',
      note: null,
      evidence: null,
    }));
    const long = render(authorityFacts(incident({ trigger: LONG_CAUSE, timeline }), TENANTS, 1, REPORTER), 'long');
    expect(long.pages).toBeGreaterThanOrEqual(3);
    for (let n = 1; n <= long.pages; n++) {
      const page = pageText(long.file, n);
      expect(page).toContain(`pagina ${n} / ${long.pages}`);
      expect(page).toContain('inc-2f9d6a4e-0c1b-4d7e-9a55-3b8e1f0c7d21 · nieuwe melding');
    }
    // Every word of the cause, in order, although it wraps over several lines.
    const out = words(long.text);
    let at = out.indexOf('Oorzaak:');
    expect(at).toBeGreaterThan(0);
    for (const w of words(LONG_CAUSE)) {
      const next = out.indexOf(w, at + 1);
      expect(next, w).toBeGreaterThan(at);
      at = next;
    }
    // All seventy measures, the last on the last page.
    expect(long.text.match(/: (gemeld|gevolgen beperkt)\n/g)).toHaveLength(70);
    expect(pageText(long.file, long.pages)).toContain('13 maart 2025, 17:03 CET: gevolgen beperkt');
  });

  it('keeps every word inside the margins and clear of every other word', () => {
    const timeline = Array.from({ length: 70 }, () => ({
      at: '2025-03-13T08:00:00.000Z',
      by: 'o',
      action: 'notified',
      note: null,
      evidence: null,
    }));
    const { file } = render(authorityFacts(incident({ trigger: LONG_CAUSE, timeline }), TENANTS, 1, REPORTER), 'bbox');
    const html = execFileSync('pdftotext', ['-bbox', file, '-'], { encoding: 'utf8' });
    const pages = html.split('<page ').slice(1);
    for (const page of pages) {
      const boxes = [...page.matchAll(/xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</g)].map((m) => ({
        x0: Number(m[1]),
        y0: Number(m[2]),
        x1: Number(m[3]),
        y1: Number(m[4]),
        w: m[5],
      }));
      expect(boxes.length).toBeGreaterThan(0);
      for (const b of boxes) {
        expect(b.x0, b.w).toBeGreaterThanOrEqual(55);
        expect(b.x1, b.w).toBeLessThanOrEqual(595.28 - 50);
        expect(b.y0, b.w).toBeGreaterThanOrEqual(40);
        expect(b.y1, b.w).toBeLessThanOrEqual(841.89 - 25);
      }
      for (let i = 0; i < boxes.length; i++)
        for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i];
          const b = boxes[j];
          if (!a || !b) continue;
          const overlap = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0) > 0.5 && Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0) > 0.5;
          expect(overlap, `${a.w} / ${b.w}`).toBe(false);
        }
    }
  });

  it('names no patient: counts only, no pseudonym, no BSN, no other e-mail address', () => {
    const t = first.text;
    for (const p of [...PATIENTS, ...BSNS]) expect(t).not.toContain(p);
    expect(t).not.toMatch(/(?<!\d)\d{9}(?!\d)/);
    expect(t.match(/[^\s@]+@[^\s@]+/g)).toEqual(['fg@lab-noord.example']);
  });

  it('is the same file for the same facts and time (reproducible)', () => {
    const facts = authorityFacts(incident(), TENANTS, 1, REPORTER);
    expect(
      authorityReportPdf(facts, dutchDpaForm(facts), { generatedAt: AT }).equals(
        authorityReportPdf(facts, dutchDpaForm(facts), { generatedAt: AT }),
      ),
    ).toBe(true);
  });

  it('refuses a form without sections', () => {
    const facts = authorityFacts(incident(), TENANTS, 1, REPORTER);
    expect(() => authorityReportPdf(facts, { form: 'x' }, { generatedAt: AT })).toThrow(/no sections/);
  });
});

import path from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { LetterTemplate } from '../letters/letter-template.js';
import type { LetterFacts } from '../letters/letter-text.js';
import type { LetterRecipient } from '../letters/letter-recipient.js';
import { PdfWriter } from '../pdf/pdf-writer.js';
import { BenchFailed } from './bench-failed.js';
import { openLabVault } from './lab-vault.js';
import { pdfkitLetter } from './pdfkit-letter.js';

/**
 * `labvault bench letters`: patient letters for a whole synthetic lab. A fresh vault (SQLite,
 * local keyring) gets a synthetic lab, each controller a fresh EC key, and an incident whose
 * scope is "the whole store was taken, keys too", so every patient of every controller gets a
 * cannot-be-excluded letter. Measured: the real path (`incident letters`: identities through the
 * audited reader, layout, both sealed bundles written and fsynced); then, in the same process on
 * the same letters, labvault's layout alone and pdfkit's (the baseline).
 */
export interface LettersBenchResult {
  patients: number;
  letters: number;
  seconds: number;
  per_s: number;
  bytes: number;
  print_pages: number;
  render: { letters: number; per_s: number };
  baseline: { library: string; letters: number; per_s: number };
  speedup: number;
  peak_rss_mb: number;
}

export async function benchLetters(opts: { patients: number; log?: (s: string) => void }): Promise<LettersBenchResult> {
  const log = opts.log ?? (() => undefined);
  const lab = await openLabVault({ prefix: 'labvault-bench-letters-', patients: opts.patients, log });
  const { vault, work } = lab;
  try {
    const tenants = await vault.store.listTenants();
    const keyed = [];
    for (const t of tenants) {
      const { publicKey } = await generateKeyPair('ECDH-ES+A256KW', { extractable: true });
      keyed.push({ ...t, publicKeyJwk: { ...(await exportJWK(publicKey)) } });
    }
    await vault.ingest.importTenants(lab.operator, keyed);
    const incident = await vault.incidents.open(lab.operator, {
      title: 'database and keys copied (bench)',
      types: ['confidentiality'],
      tenants: tenants.map((t) => t.id),
    });
    await vault.incidents.scope(lab.operator, incident.id, { wholeStore: { keysTaken: true } });

    log('writing the letters (identities, layout, sealed bundles)…');
    const out = path.join(work, 'letters');
    const r = await vault.letters.generate(lab.operator, incident.id, out, { lab: 'Benchlab BV', phone: '088 000 0000' });
    const bytes = r.tenants.reduce((n, t) => n + t.artifacts.reduce((m, a) => m + a.bytes, 0), 0);

    log('layout alone, and the pdfkit baseline, on the same letters…');
    const first = tenants[0];
    if (!first) throw new BenchFailed('no tenants');
    const ids = (await vault.store.listPatientIds(first.id, '', 2000)).slice(0, 2000);
    const { letterRecipient } = await import('../letters/letter-recipient.js');
    const recipients: LetterRecipient[] = (await vault.reader.patientsByIds(lab.operator, first.id, ids)).map(letterRecipient);
    const facts: LetterFacts = {
      controller: first.name,
      lab: 'Benchlab BV',
      incident: incident.id,
      exposure: null,
      categories: ['identity', 'national-id', 'contact', 'clinical-result'],
      containedAt: null,
      authorityNotified: false,
      contact: { email: first.contact.email, phone: '088 000 0000' },
      date: new Date().toISOString(),
    };
    const own = renderRate(recipients, facts);
    const base = await pdfkitRate(recipients, facts);
    return {
      patients: opts.patients,
      letters: r.letters,
      seconds: r.seconds,
      per_s: r.per_s,
      bytes,
      print_pages: r.tenants.reduce((n, t) => n + t.print_pages, 0),
      render: own,
      baseline: { library: 'pdfkit', ...base },
      speedup: Math.round((own.per_s / Math.max(base.per_s, 1)) * 10) / 10,
      peak_rss_mb: lab.peakRssMb(),
    };
  } finally {
    await lab.close();
  }
}

/** labvault's layout: a template per cohort, a PdfWriter per letter, nothing else. */
function renderRate(recipients: readonly LetterRecipient[], facts: LetterFacts): { letters: number; per_s: number } {
  const started = performance.now();
  const template = new LetterTemplate('cannot-be-excluded', facts);
  let n = 0;
  while (performance.now() - started < 3000 || n < recipients.length) {
    const r = recipients[n % recipients.length] as LetterRecipient;
    const w = new PdfWriter(() => undefined);
    for (const p of template.render(r).pages) w.page(p.patient ? [p.patient, p.body] : [p.body]);
    w.finish({ title: 'x', author: 'x', created: new Date(0) });
    n++;
  }
  return { letters: n, per_s: Math.round(n / ((performance.now() - started) / 1000)) };
}

async function pdfkitRate(recipients: readonly LetterRecipient[], facts: LetterFacts): Promise<{ letters: number; per_s: number }> {
  const started = performance.now();
  let n = 0;
  while (performance.now() - started < 3000 && n < recipients.length) {
    await pdfkitLetter('cannot-be-excluded', facts, recipients[n] as LetterRecipient);
    n++;
  }
  return { letters: n, per_s: Math.round(n / ((performance.now() - started) / 1000)) };
}

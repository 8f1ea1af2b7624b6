import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { JWK } from 'jose';
import type { DataCategory } from '../domain/audit-event.js';
import { InvalidInput, NotFound } from '../domain/errors.js';
import type { AccessContext } from '../domain/principal.js';
import { recipientKey, type RecipientKey } from '../incidents/recipient-key.js';
import { scopeIncident, type ScopeQuery } from '../incidents/scope.js';
import { SealedBundleWriter } from '../incidents/sealed-bundle.js';
import { letterRecipient, type LetterRecipient } from '../letters/letter-recipient.js';
import { LetterPrinter } from '../letters/letter-printer.js';
import { LetterTemplate } from '../letters/letter-template.js';
import type { LetterCohort, LetterFacts } from '../letters/letter-text.js';
import type { Clock } from '../ports/clock.js';
import type { VaultStore } from '../ports/vault-store.js';
import type { IncidentRegister } from './incident-register.js';
import type { WrittenArtifact } from './incident-notices.js';
import type { VaultReader } from './vault-reader.js';

/**
 * Patient letters (GDPR Art. 34) for each controller in an incident's scope: one letter per
 * affected patient of that controller, worded for its cohort, Dutch then English. Identities are
 * read through the audited reader; letters are written only into two sealed bundles per
 * controller — one PDF per patient, and the print file in postcode order — encrypted to the
 * controller's public key (or a print house's the operator names). The plaintext exists in memory
 * only, until someone holding the private key opens a bundle (`labvault incident open-bundle`).
 */
export interface LettersOptions {
  lab: string;
  tenants?: readonly string[];
  /** A telephone number patients can call (the controller's helpline). */
  phone?: string | null;
  /** Encrypt to this public key instead of the controller's (e.g. the print house's). */
  recipient?: { jwk: JWK; name: string } | null;
}

export interface TenantLetters {
  tenant: string;
  letters: number;
  by_cohort: Record<LetterCohort, number>;
  print_pages: number;
  artifacts: WrittenArtifact[];
}

export interface LettersResult {
  incident: string;
  letters: number;
  seconds: number;
  per_s: number;
  tenants: TenantLetters[];
}

const CHUNK = 1000;
const COHORTS: LetterCohort[] = ['accessed-confirmed', 'in-leaked-data', 'cannot-be-excluded'];

export class IncidentLetters {
  constructor(
    private readonly store: Pick<VaultStore, 'listTenants'>,
    private readonly register: IncidentRegister,
    private readonly reader: Pick<VaultReader, 'patientsByIds'>,
    private readonly clock: Clock,
  ) {}

  async generate(ctx: AccessContext, incidentId: string, outDir: string, opts: LettersOptions): Promise<LettersResult> {
    this.register.requireKeeper(ctx);
    if (!/^[^<>\n]{1,120}$/.test(opts.lab)) throw new InvalidInput('lab: the laboratory’s name, one line');
    if (opts.phone != null && !/^\+?[0-9][0-9 -]{5,20}$/.test(opts.phone)) throw new InvalidInput('phone: a telephone number');
    const started = performance.now();
    const incident = await this.register.get(incidentId);
    const stored = incident.doc.scope as { query?: ScopeQuery } | undefined;
    if (!stored?.query) throw new InvalidInput('scope the incident first (labvault incident scope)');
    const tenants = await this.store.listTenants();
    for (const t of opts.tenants ?? [])
      if (!incident.tenants.includes(t) && !tenants.some((x) => x.id === t)) throw new NotFound('no such tenant in this incident');
    const scope = await scopeIncident(
      opts.tenants ? { ...stored.query, tenants: opts.tenants } : stored.query,
      this.register.sourcesFor(incident),
    );
    const obligations = await this.register.obligations(incident.id);
    const authorityNotified = obligations.some((o) => o.rule === 'gdpr-33-1' && o.state === 'sent');
    const containedAt = incident.source === 'detection' ? incident.openedAt : null;
    const exposure = exposureOf(incident.window, stored.query);
    await mkdir(outDir, { recursive: true, mode: 0o700 });
    const out: TenantLetters[] = [];
    for (const ts of scope.tenants) {
      const ids = COHORTS.flatMap((c) => cohortIds(ts.cohorts, c).map((id) => ({ id, cohort: c })));
      if (ids.length === 0) continue;
      const tenant = tenants.find((t) => t.id === ts.tenant);
      if (!tenant) continue;
      const to: RecipientKey = opts.recipient
        ? await recipientKey(opts.recipient.jwk, opts.recipient.name)
        : await recipientKey(tenant.publicKeyJwk, `tenant ${tenant.id}`);
      // Identities, through the audited reader; only what the address block needs is kept.
      const cohortOf = new Map(ids.map((x) => [x.id, x.cohort]));
      const recipients: { r: LetterRecipient; cohort: LetterCohort }[] = [];
      const list = ids.map((x) => x.id);
      for (let i = 0; i < list.length; i += CHUNK)
        for (const p of await this.reader.patientsByIds(ctx, tenant.id, list.slice(i, i + CHUNK)))
          recipients.push({ r: letterRecipient(p), cohort: cohortOf.get(p.id) as LetterCohort });
      // Print order: postcode, then patient id (stable, reproducible).
      recipients.sort((a, b) =>
        a.r.postalCode < b.r.postalCode ? -1 : a.r.postalCode > b.r.postalCode ? 1 : a.r.patient < b.r.patient ? -1 : 1,
      );
      const now = this.clock.now().toISOString();
      const facts: LetterFacts = {
        controller: tenant.name,
        lab: opts.lab,
        incident: incident.id,
        exposure,
        categories: ts.categories.filter((c): c is DataCategory => c !== 'key-material'),
        containedAt,
        authorityNotified,
        contact: { email: tenant.contact.email, phone: opts.phone ?? null },
        date: now,
      };
      // A confirmed patient's letter names the categories its own events released; the other
      // cohorts name what the scope found for the controller (all of it when the store was taken).
      // One template per (cohort, categories): a handful, each laid out once.
      const templates = new Map<string, LetterTemplate>();
      const templateFor = (cohort: LetterCohort, patient: string): LetterTemplate => {
        const own = cohort === 'accessed-confirmed' ? ts.categoriesOf[patient] : undefined;
        const categories = own && own.length > 0 ? own.filter((c) => c !== 'key-material') : facts.categories;
        const key = `${cohort}|${categories.join(',')}`;
        let t = templates.get(key);
        if (!t) templates.set(key, (t = new LetterTemplate(cohort, { ...facts, categories }, String(templates.size))));
        return t;
      };
      const base = path.resolve(outDir, `${incident.id}-${tenant.id}`);
      const header = { incident: incident.id, tenant: tenant.id, created: now, files: recipients.length };
      const lettersBundle = await SealedBundleWriter.create(`${base}.letters.lvb`, to, { ...header, kind: 'patient-letters' });
      let printBundle: SealedBundleWriter | null = null;
      try {
        printBundle = await SealedBundleWriter.create(`${base}.print.lvb`, to, { ...header, kind: 'letters-print-file', files: 1 });
        const printer = new LetterPrinter(lettersBundle, printBundle, `${incident.id}-${tenant.id}-print.pdf`, {
          title: `${tenant.name} — ${incident.id}`,
          author: tenant.name,
          created: new Date(now),
        });
        const byCohort: Record<LetterCohort, number> = { 'accessed-confirmed': 0, 'in-leaked-data': 0, 'cannot-be-excluded': 0 };
        for (const { r, cohort } of recipients) {
          printer.add(templateFor(cohort, r.patient), r);
          byCohort[cohort]++;
        }
        printer.finish();
        const a = lettersBundle.close();
        const b = printBundle.close();
        const artifacts: WrittenArtifact[] = [
          artifact('patient-letters', tenant.id, lettersBundle.path, a, recipients.length, ts.patients),
          artifact('letters-print-file', tenant.id, printBundle.path, b, recipients.length, ts.patients),
        ];
        for (const x of artifacts) await this.register.recordArtifact(ctx, incident.id, x);
        const o = obligations.find((x) => x.id === `gdpr-34:subjects:${tenant.id}`);
        if (o && o.state === 'pending' && o.anchorAt !== null)
          await this.register.recordObligation(ctx, incident.id, o.id, { state: 'drafted' });
        out.push({ tenant: tenant.id, letters: recipients.length, by_cohort: byCohort, print_pages: printer.printPages, artifacts });
      } catch (e) {
        lettersBundle.abandon();
        printBundle?.abandon();
        throw e;
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const letters = out.reduce((n, t) => n + t.letters, 0);
    return { incident: incident.id, letters, seconds: round(seconds), per_s: Math.round(letters / Math.max(seconds, 1e-6)), tenants: out };
  }
}

function cohortIds(c: { accessedConfirmed: string[]; inLeakedData: string[]; cannotBeExcluded: string[] }, k: LetterCohort): string[] {
  return k === 'accessed-confirmed' ? c.accessedConfirmed : k === 'in-leaked-data' ? c.inLeakedData : c.cannotBeExcluded;
}

function exposureOf(w: { start: string | null; end: string | null }, q: ScopeQuery): { from: string; to: string } | null {
  const from = w.start ?? q.from ?? null;
  const to = w.end ?? q.to ?? from;
  return from && to ? { from, to } : null;
}

function artifact(
  kind: WrittenArtifact['kind'],
  tenant: string,
  file: string,
  r: { bytes: number; sha256: string },
  subjects: number,
  patients: [number, number],
): WrittenArtifact {
  return { kind, tenant, file, bytes: r.bytes, sha256: r.sha256.match(/.{1,4}/g)?.join(':') ?? r.sha256, subjects, patients };
}

function round(s: number): number {
  return Math.round(s * 1000) / 1000;
}

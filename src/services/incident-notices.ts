import { createHash } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encryptPackage, packageSubjects, type PackageSummary } from '../incidents/controller-package.js';
import { BREACH_RULES_VERSION } from '../incidents/breach-rules.js';
import { scopeIncident, type ScopeQuery } from '../incidents/scope.js';
import { stixBundle } from '../incidents/stix-bundle.js';
import { nis2Draft, type Nis2Kind } from '../incidents/nis2-drafts.js';
import { authorityFacts, dutchDpaForm } from '../incidents/authority-report.js';
import { authorityReportPdf } from '../incidents/authority-report-pdf.js';
import { InvalidInput, NotFound } from '../domain/errors.js';
import type { AccessContext } from '../domain/principal.js';
import type { FhirResource } from '../domain/resource-view.js';
import type { Clock } from '../ports/clock.js';
import type { VaultStore } from '../ports/vault-store.js';
import type { IncidentRegister } from './incident-register.js';
import type { VaultReader } from './vault-reader.js';

export interface WrittenArtifact {
  kind:
    | 'controller-package'
    | 'stix-bundle'
    | 'nis2-early-warning'
    | 'nis2-notification'
    | 'nis2-final'
    | 'authority-report'
    | 'authority-report-pdf'
    | 'patient-letters'
    | 'letters-print-file';
  tenant: string | null;
  file: string;
  bytes: number;
  /** SHA-256 of the file, hex in groups of four (never a digit run an identifier check would refuse). */
  sha256: string;
  subjects: number;
  patients: [number, number];
}

const CHUNK = 1000;

/**
 * Notices built from an incident. The controller package re-runs the incident's stored scope for
 * one tenant, reads the identities in scope through the audited reader (one event per thousand),
 * encrypts the package to the controller's public key and writes only the JWE (mode 0600, never
 * over an existing file). The artifact — file, size, digest — joins the incident's record.
 */
export class IncidentNotices {
  constructor(
    private readonly store: Pick<VaultStore, 'listTenants'>,
    private readonly register: IncidentRegister,
    private readonly reader: Pick<VaultReader, 'patientsByIds'>,
    private readonly clock: Clock,
  ) {}

  /** STIX 2.1 indicators for the sector CERT (see stix-bundle.ts). */
  async stix(ctx: AccessContext, incidentId: string, outDir: string, labName: string): Promise<WrittenArtifact> {
    this.register.requireKeeper(ctx);
    const incident = await this.register.get(incidentId);
    const stored = incident.doc.scope as { query?: ScopeQuery } | undefined;
    if (!stored?.query) throw new InvalidInput('scope the incident first (labvault incident scope)');
    const scope = await scopeIncident(stored.query, this.register.sourcesFor(incident));
    const bundle = stixBundle({ incidentId, labName, origins: scope.origins, now: this.clock.now() });
    const text = `${JSON.stringify(bundle, null, 2)}\n`;
    const file = path.resolve(outDir, `${incident.id}.stix.json`);
    await writeFile(file, text, { flag: 'wx', mode: 0o600 });
    const artifact: WrittenArtifact = {
      kind: 'stix-bundle',
      tenant: null,
      file,
      bytes: Buffer.byteLength(text),
      sha256: grouped(createHash('sha256').update(text).digest('hex')),
      subjects: 0,
      patients: [0, 0],
    };
    await this.register.recordArtifact(ctx, incident.id, artifact);
    return artifact;
  }

  /**
   * A NIS2 report draft (early warning, notification, final) as JSON, and the matching CSIRT
   * obligation marked drafted. Counts only: no patient data goes to the CSIRT.
   */
  async nis2(ctx: AccessContext, incidentId: string, kind: Nis2Kind, outDir: string, entity: string): Promise<WrittenArtifact> {
    this.register.requireKeeper(ctx);
    const incident = await this.register.get(incidentId);
    if (incident.awareness.significant === undefined)
      throw new InvalidInput('record when the incident was judged significant first (incident aware --actor significant)');
    const stored = incident.doc.scope as { query?: ScopeQuery } | undefined;
    const indicators = stored?.query ? (await scopeIncident(stored.query, this.register.sourcesFor(incident))).origins.length : 0;
    const text = `${JSON.stringify(nis2Draft(kind, incident, entity, indicators), null, 2)}\n`;
    const file = path.resolve(outDir, `${incident.id}.nis2-${kind}.json`);
    await writeFile(file, text, { flag: 'wx', mode: 0o600 });
    const artifact: WrittenArtifact = {
      kind: `nis2-${kind}`,
      tenant: null,
      file,
      bytes: Buffer.byteLength(text),
      sha256: grouped(createHash('sha256').update(text).digest('hex')),
      subjects: 0,
      patients: [0, 0],
    };
    await this.register.recordArtifact(ctx, incident.id, artifact);
    const obligation = `nis2-${kind === 'final' ? 'final' : kind}:csirt`;
    const o = (await this.register.obligations(incident.id)).find((x) => x.id === obligation);
    if (o && o.state === 'pending' && o.anchorAt !== null)
      await this.register.recordObligation(ctx, incident.id, obligation, { state: 'drafted' });
    return artifact;
  }

  /**
   * The report to the Dutch DPA (GDPR 33(3)) as JSON, the form-independent facts and the form's
   * sections, and the same form as a readable PDF in Dutch. Each call is the next phase (33(4)):
   * version 1 "new", then "follow-up". Counts only. Returns the JSON's artifact, with the PDF's
   * beside it as `pdf`; both join the incident's record.
   */
  async authorityReport(
    ctx: AccessContext,
    incidentId: string,
    outDir: string,
    reporter: { organisation: string; contact: { name: string; email: string } },
  ): Promise<WrittenArtifact & { pdf: WrittenArtifact }> {
    this.register.requireKeeper(ctx);
    const incident = await this.register.get(incidentId);
    if (!incident.doc.scope) throw new InvalidInput('scope the incident first (labvault incident scope)');
    const previous = ((incident.doc.artifacts as { kind: string }[] | undefined) ?? []).filter((a) => a.kind === 'authority-report').length;
    const facts = authorityFacts(incident, await this.store.listTenants(), previous + 1, reporter);
    const form = dutchDpaForm(facts);
    const text = `${JSON.stringify({ facts, form }, null, 2)}\n`;
    // Rendered before anything is written: a layout error leaves no half-made phase behind.
    const pdfBytes = authorityReportPdf(facts, form, { generatedAt: this.clock.now() });
    const base = path.resolve(outDir, `${incident.id}.authority-nl-v${previous + 1}`);
    await writeFile(`${base}.json`, text, { flag: 'wx', mode: 0o600 });
    try {
      await writeFile(`${base}.pdf`, pdfBytes, { flag: 'wx', mode: 0o600 });
    } catch (e) {
      // The phase counts by recorded JSON artifacts: drop this call's JSON so a retry makes the same version again.
      await rm(`${base}.json`, { force: true });
      throw e;
    }
    const artifact: WrittenArtifact = {
      kind: 'authority-report',
      tenant: null,
      file: `${base}.json`,
      bytes: Buffer.byteLength(text),
      sha256: grouped(createHash('sha256').update(text).digest('hex')),
      subjects: 0,
      patients: facts.people.count,
    };
    const pdf: WrittenArtifact = {
      kind: 'authority-report-pdf',
      tenant: null,
      file: `${base}.pdf`,
      bytes: pdfBytes.length,
      sha256: grouped(createHash('sha256').update(pdfBytes).digest('hex')),
      subjects: 0,
      patients: facts.people.count,
    };
    await this.register.recordArtifact(ctx, incident.id, artifact);
    await this.register.recordArtifact(ctx, incident.id, pdf);
    const o = (await this.register.obligations(incident.id)).find((x) => x.id === 'gdpr-33-1:authority-nl');
    if (o && o.state === 'pending' && o.anchorAt !== null)
      await this.register.recordObligation(ctx, incident.id, o.id, { state: 'drafted' });
    return { ...artifact, pdf };
  }

  async controllerPackage(
    ctx: AccessContext,
    incidentId: string,
    tenantId: string,
    outDir: string,
    contact: { name: string; email: string },
  ): Promise<WrittenArtifact> {
    this.register.requireKeeper(ctx);
    const incident = await this.register.get(incidentId);
    if (!incident.tenants.includes(tenantId)) throw new NotFound('this incident does not concern that tenant');
    const tenant = (await this.store.listTenants()).find((t) => t.id === tenantId);
    if (!tenant) throw new NotFound('no such tenant');
    const stored = incident.doc.scope as { query?: ScopeQuery } | undefined;
    if (!stored?.query) throw new InvalidInput('scope the incident first (labvault incident scope)');
    if (!/^[^<>\s][^<>]{0,99}$/.test(contact.name) || !/^[^@\s]{1,64}@[^@\s]{1,190}$/.test(contact.email))
      throw new InvalidInput('contact: a name and an e-mail address');
    const scope = (await scopeIncident({ ...stored.query, tenants: [tenantId] }, this.register.sourcesFor(incident))).tenants[0];
    if (!scope) throw new InvalidInput('nobody of this tenant is in the incident’s scope: no package to send');
    const ids = [...scope.cohorts.accessedConfirmed, ...scope.cohorts.inLeakedData, ...scope.cohorts.cannotBeExcluded];
    const identities = new Map<string, FhirResource>();
    for (let i = 0; i < ids.length; i += CHUNK)
      for (const p of await this.reader.patientsByIds(ctx, tenantId, ids.slice(i, i + CHUNK))) identities.set(p.id, p);
    const now = this.clock.now().toISOString();
    const summary: PackageSummary = {
      incident: incident.id,
      controller: { id: tenant.id, name: tenant.name },
      generated_at: now,
      nature: incident.trigger,
      types: incident.types,
      categories: scope.categories,
      patients: scope.patients,
      records: scope.records,
      awareness: incident.awareness,
      timeline: incident.timeline.map((e) => ({ at: e.at, action: e.action, note: e.note })),
      measures: incident.timeline
        .filter((e) => /^(contained|restored|notified|mitigated)/.test(e.action))
        .map((e) => `${e.action}: ${e.note ?? ''}`.trim()),
      contact,
      rules_version: BREACH_RULES_VERSION,
    };
    const jwe = await encryptPackage(tenant, { summary, subjects: packageSubjects(scope, identities) });
    const file = path.resolve(outDir, `${incident.id}-${tenant.id}.jwe`);
    // 'wx': a package is never silently replaced; 0600: only the operator reads even the ciphertext.
    await writeFile(file, jwe, { flag: 'wx', mode: 0o600 });
    const artifact: WrittenArtifact = {
      kind: 'controller-package',
      tenant: tenant.id,
      file,
      bytes: Buffer.byteLength(jwe),
      sha256: grouped(createHash('sha256').update(jwe).digest('hex')),
      subjects: ids.length,
      patients: scope.patients,
    };
    await this.register.recordArtifact(ctx, incident.id, artifact);
    return artifact;
  }
}

function grouped(hex: string): string {
  return hex.match(/.{1,4}/g)?.join(':') ?? hex;
}

import type { Vault } from '../../compose.js';
import type { DataCategory } from '../../domain/audit-event.js';
import type { AccessContext } from '../../domain/principal.js';
import type { Identifiability } from '../../incidents/severity.js';
import type { Obligation } from '../../incidents/obligations.js';
import type { Scope } from '../../incidents/scope.js';
import type { WrittenArtifact } from '../../services/incident-notices.js';
import type { LettersResult } from '../../services/incident-letters.js';

/**
 * The lab's response once it is aware, as a security officer would run it with the CLI, step by
 * step, each step's finishing time kept: scope from the audit log by the stolen principal; the
 * ENISA assessment; a notification package per affected controller (and the 33(2) notice marked
 * sent, which starts each controller's own 72 hours); the STIX indicators; the NIS2 early warning;
 * the report to the Dutch DPA; the patient letters.
 */
export interface ResponseRun {
  scope: Scope;
  at: { scope: number; packages: number; letters: number; done: number };
  packages: WrittenArtifact[];
  notices: WrittenArtifact[];
  letters: LettersResult;
  obligations: Obligation[];
  severity: { se: number; band: string; highRisk: boolean };
}

export interface ResponseInput {
  vault: Vault;
  officer: AccessContext;
  incident: string;
  principal: string;
  outDir: string;
  lab: string;
  contact: { name: string; email: string };
}

export async function respond(i: ResponseInput): Promise<ResponseRun> {
  const { vault, officer: ctx, incident } = i;
  const scope = await vault.incidents.scope(ctx, incident, { principals: [i.principal] });
  const atScope = Date.now();
  const categories = [...new Set(scope.tenants.flatMap((t) => t.categories))].sort();
  const subjects = scope.tenants.reduce((n, t) => n + t.patients[1], 0);
  const severity = await vault.incidents.assess(ctx, incident, {
    categories,
    identifiability: identifiability(categories),
    ciphertextWithoutKeys: false,
    confidentiality: 'limited',
    integrity: 'none',
    availability: 'none',
    malicious: true,
    subjects,
    vulnerable: true,
  });
  const packages: WrittenArtifact[] = [];
  for (const t of scope.tenants) {
    if (t.patients[1] === 0) continue;
    packages.push(await vault.notices.controllerPackage(ctx, incident, t.tenant, i.outDir, i.contact));
    // Delivered: the processor's notice is sent, and the controller is aware from now.
    // Where the lab is this controller's processor, the package is its 33(2) notice; the controller
    // is aware from now, which starts its own 72 hours.
    const notice = (await vault.incidents.obligations(incident)).find((o) => o.id === `gdpr-33-2:controller:${t.tenant}`);
    if (notice) {
      await vault.incidents.recordObligation(ctx, incident, notice.id, { state: 'sent' });
      await vault.incidents.aware(ctx, incident, `controller:${t.tenant}`);
    }
  }
  const atPackages = Date.now();
  const notices: WrittenArtifact[] = [];
  notices.push(await vault.notices.stix(ctx, incident, i.outDir, i.lab));
  await vault.incidents.aware(ctx, incident, 'significant');
  notices.push(await vault.notices.nis2(ctx, incident, 'early-warning', i.outDir, i.lab));
  const { pdf, ...report } = await vault.notices.authorityReport(ctx, incident, i.outDir, { organisation: i.lab, contact: i.contact });
  notices.push(report, pdf);
  const letters = await vault.letters.generate(ctx, incident, i.outDir, { lab: i.lab });
  const atLetters = Date.now();
  return {
    scope,
    at: { scope: atScope, packages: atPackages, letters: atLetters, done: Date.now() },
    packages,
    notices,
    letters,
    obligations: await vault.incidents.obligations(incident),
    severity: { se: severity.se, band: severity.band, highRisk: severity.highRisk },
  };
}

function identifiability(c: readonly DataCategory[]): Identifiability {
  if (c.includes('national-id') || c.includes('identity')) return 'full';
  // Orders and specimens name the patient by its pseudonymous id and the requester: identifiable
  // with other data the thief may hold, not by themselves.
  return c.length > 0 ? 'limited' : 'negligible';
}

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { startBenchServer, type BenchServer } from '../../bench/bench-server.js';
import { cleanUpOnInterrupt } from '../../bench/interrupt-cleanup.js';
import { loadConfig } from '../../config.js';
import { openVault } from '../../compose.js';
import { operatorContext, type AccessContext } from '../../domain/principal.js';
import type { Tenant } from '../../domain/tenant.js';
import { generateSyntheticLab } from '../../synth/generator.js';
import { DrillFailed } from '../drill-failed.js';
import { HttpActor } from '../exfiltration/http-actor.js';
import { checkResponse } from './drill-checks.js';
import { respond, type ResponseRun } from './incident-response.js';
import { supportScrape } from './support-scrape.js';

/**
 * `labvault drill clinical-diagnostics`: the seed scenario end to end. A fresh temporary vault
 * gets a synthetic lab with the five controllers (each with its own public key) and canaries; a
 * stolen support-desk credential pages through every controller's orders over real HTTP against
 * `labvault serve`; detection contains it (or, with `--detection off`, the lab only learns when the
 * attack ends, as the Dutch lab did); then the lab responds while the server keeps serving —
 * scope, severity, a package per controller, STIX, NIS2 early warning, the DPA report, patient
 * letters — and the drill checks the result against what the thief actually received. Timings
 * count from the lab's awareness, against the real case: the controller heard after 31 days,
 * patients got letters after 2 to 6 weeks. The artifacts stay in `--out` (all sealed or counts
 * only); the vault is removed.
 */
export interface ClinicalDiagnosticsOptions {
  patients: number;
  outDir?: string;
  detection: 'enforce' | 'off';
  /** How long the thief may copy (the budget; containment usually ends it far sooner). */
  attackSeconds: number;
  log?: (s: string) => void;
}

export interface ClinicalDiagnosticsReport {
  patients: number;
  patients_exposed: number;
  timings: { contain_s: number | null; scope_s: number; packages_s: number; letters_s: number };
  tenants: { tenant: string; affected: number; obligations: { regime: string; recipient: string; due_at: string | null }[] }[];
  letters: { count: number; per_s: number };
  artifacts_dir: string;
  detection: 'enforce' | 'off';
  attack: {
    requests: number;
    seconds: number;
    contained: boolean;
    /** The detection rule that contained it. */
    rule: string | null;
    by_tenant: Record<string, number>;
    canaries_read: number;
  };
  aware_at: string;
  incident: string;
  severity: ResponseRun['severity'];
  /** Obligations addressed to no single controller (authority, CSIRT). */
  obligations: { regime: string; recipient: string; due_at: string | null; state: string }[];
  artifacts: { kind: string; tenant: string | null; file: string; bytes: number }[];
  real_case: { controller_informed: string; letters: string; drill_controller_informed_s: number; drill_letters_s: number };
  checks: { scope_exact: boolean; packages_exact: boolean; letters_exact: boolean; plaintext_found: number; audit_verified: boolean };
  seconds: number;
  problems: string[];
}

const SEED = 1;
const LAB = 'Voorbeeldlab BV';
const CONTACT = { name: 'Security office', email: 'security@voorbeeldlab.example' };
const THIEF_ADDRESS = '127.0.0.20';

export async function drillClinicalDiagnostics(opts: ClinicalDiagnosticsOptions): Promise<ClinicalDiagnosticsReport> {
  const log = opts.log ?? (() => undefined);
  const started = Date.now();
  const work = await mkdtemp(path.join(os.tmpdir(), 'labvault-drill-cd-'));
  const artifactsDir = path.resolve(
    opts.outDir ?? path.join(os.tmpdir(), `labvault-drill-cd-artifacts-${new Date().toISOString().replace(/[:.]/g, '-')}`),
  );
  await mkdir(artifactsDir, { recursive: true, mode: 0o700 });
  let server: BenchServer | null = null;
  const release = cleanUpOnInterrupt(work, () => server);
  try {
    const dataDir = path.join(work, 'vault');
    const env: Record<string, string> = { LABVAULT_DETECTION_MODE: opts.detection };
    const config = loadConfig({ dataDir, keyProvider: 'local' }, env);
    const operator = operatorContext('drill', 'labvault-drill');
    const officer: AccessContext = { ...operator, principal: { id: 'security-officer-drill', role: 'security-officer', tenants: ['*'] } };

    log(`generating a synthetic lab of ${opts.patients} persons…`);
    const labDir = path.join(work, 'lab');
    await generateSyntheticLab({ patients: opts.patients, seed: SEED, outDir: labDir });
    log('ingesting into a fresh vault; controller keys, canaries, the support-desk account…');
    const keys = new Map<string, JWK>();
    const canaries = new Map<string, Set<string>>();
    let thief: { id: string; token: string };
    let tenantIds: string[];
    const setup = await openVault(config, { create: true });
    try {
      const ingested = await setup.ingest.ingest(operator, [labDir]);
      if (ingested.rejected > 0) throw new DrillFailed(`the synthetic lab did not load: ${ingested.rejected} records rejected`);
      await rm(labDir, { recursive: true, force: true });
      const tenants = await setup.store.listTenants();
      tenantIds = tenants.map((t) => t.id);
      const keyed: Tenant[] = [];
      for (const t of tenants) {
        const { publicKey, privateKey } = await generateKeyPair('ECDH-ES+A256KW', { extractable: true });
        keys.set(t.id, await exportJWK(privateKey));
        keyed.push({ ...t, publicKeyJwk: { ...(await exportJWK(publicKey)) } });
      }
      await setup.ingest.importTenants(operator, keyed);
      const perTenant = config.detection.canaries.perTenant;
      for (const t of tenantIds) {
        if (perTenant > 0) await setup.canaries.plantTenant(operator, t, perTenant);
        const sets = await setup.canaries.unsealedSets(t);
        canaries.set(t, new Set(sets.flatMap((s) => s.patients.map((p) => p.id))));
      }
      const p = await setup.principals.create(operator, { name: 'support desk 3', role: 'support', tenants: ['*'], purpose: 'HOPERAT' });
      thief = { id: p.principal.id, token: p.token };
    } finally {
      await setup.close();
    }

    log(`starting the server (labvault serve, detection ${opts.detection})…`);
    server = await startBenchServer({ dataDir, nodeArgs: [], rateLimitPerMin: config.api.rateLimitPerMinute, env });
    log('the thief pages through every controller’s orders with the stolen support credential…');
    const attackStart = Date.now();
    const actor = new HttpActor({
      base: server.base,
      token: thief.token,
      purpose: 'HOPERAT',
      localAddress: THIEF_ADDRESS,
      inFlight: tenantIds.length,
    });
    const tallies = await supportScrape(actor, tenantIds, attackStart + opts.attackSeconds * 1000, log);
    actor.close();
    const attackEnd = Date.now();

    // The response runs beside the server, as an officer's CLI would.
    const vault = await openVault(config);
    let run: ResponseRun;
    let incidentId: string;
    let awareAt: string;
    let contained: boolean;
    let rule: string | null;
    try {
      const found = (await vault.incidents.list()).find((i) => i.source === 'detection' && i.principalId === thief.id);
      contained = found !== undefined;
      rule = (await vault.store.listContainments()).find((c) => c.principalId === thief.id)?.rule ?? null;
      if (found) {
        incidentId = found.id;
        awareAt = found.awareness.lab as string;
      } else {
        // Nobody noticed while it ran: the lab learns now, opens the incident and suspends the account.
        const touched = tenantIds.filter((t) => (tallies.get(t)?.exposed.size ?? 0) > 0);
        const opened = await vault.incidents.open(officer, {
          title: 'support-desk credential used to copy orders',
          types: ['confidentiality'],
          tenants: touched.length > 0 ? touched : tenantIds,
          principalId: thief.id,
        });
        await vault.principals.suspend(operator, thief.id, 'incident: credential stolen');
        incidentId = opened.id;
        awareAt = opened.awareness.lab as string;
      }
      log(`incident ${incidentId}: scope, assessment, packages, notices, letters…`);
      run = await respond({ vault, officer, incident: incidentId, principal: thief.id, outDir: artifactsDir, lab: LAB, contact: CONTACT });
    } finally {
      await vault.close();
    }

    log('stopping the server, verifying the audit log, checking the response…');
    await server.stop();
    server = null;
    const after = await openVault(config, { auditReadOnly: true });
    let verified: boolean;
    try {
      verified = (await after.audit.verify()).ok;
    } finally {
      await after.close();
    }
    const received = new Map([...tallies].map(([t, tally]) => [t, tally.exposed as ReadonlySet<string>]));
    const allArtifacts = [...run.packages, ...run.notices, ...run.letters.tenants.flatMap((t) => t.artifacts)];
    const checks = await checkResponse({
      scope: run.scope,
      received,
      canaries,
      keys,
      packages: run.packages,
      letters: run.letters.tenants.flatMap((t) => t.artifacts),
      artifactsDir,
    });
    const problems = [...checks.problems];
    if (!verified) problems.push('the audit log does not verify');
    if (opts.detection === 'enforce' && !contained) problems.push('the stolen credential was not contained');
    const aware = Date.parse(awareAt);
    const since = (t: number): number => Math.round((t - aware) / 10) / 100;
    const containAt = contained ? aware : null;
    const exposed = [...received].reduce((n, [t, s]) => n + [...s].filter((p) => !(canaries.get(t) ?? new Set()).has(p)).length, 0);
    const report: ClinicalDiagnosticsReport = {
      patients: opts.patients,
      patients_exposed: exposed,
      timings: {
        contain_s: containAt === null ? null : Math.round((containAt - attackStart) / 10) / 100,
        scope_s: since(run.at.scope),
        packages_s: since(run.at.packages),
        letters_s: since(run.at.letters),
      },
      tenants: run.scope.tenants
        .filter((t) => t.patients[1] > 0)
        .map((t) => ({
          tenant: t.tenant,
          affected: t.patients[1],
          obligations: run.obligations
            .filter((o) => o.tenant === t.tenant)
            .map((o) => ({ regime: o.regime, recipient: o.recipient, due_at: o.dueAt })),
        })),
      letters: { count: run.letters.letters, per_s: run.letters.per_s },
      artifacts_dir: artifactsDir,
      detection: opts.detection,
      attack: {
        requests: [...tallies.values()].reduce((n, t) => n + t.requests, 0),
        seconds: Math.round((attackEnd - attackStart) / 10) / 100,
        contained,
        rule,
        by_tenant: Object.fromEntries([...received].map(([t, s]) => [t, s.size])),
        canaries_read: [...received].reduce((n, [t, s]) => n + [...s].filter((p) => (canaries.get(t) ?? new Set()).has(p)).length, 0),
      },
      aware_at: awareAt,
      incident: incidentId,
      severity: run.severity,
      obligations: run.obligations
        .filter((o) => o.tenant === null)
        .map((o) => ({ regime: o.regime, recipient: o.recipient, due_at: o.dueAt, state: o.state })),
      artifacts: allArtifacts.map((a) => ({ kind: a.kind, tenant: a.tenant, file: a.file, bytes: a.bytes })),
      real_case: {
        controller_informed: '31 days after the theft',
        letters: '2 to 6 weeks, in four waves',
        drill_controller_informed_s: since(run.at.packages),
        drill_letters_s: since(run.at.letters),
      },
      checks: { ...checks, audit_verified: verified },
      seconds: Math.round((Date.now() - started) / 100) / 10,
      problems,
    };
    await writeFile(path.join(artifactsDir, 'drill-report.json'), `${JSON.stringify(report, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
    return report;
  } finally {
    release();
    if (server) await server.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Vault } from '../compose.js';
import type { AccessContext } from '../domain/principal.js';

/**
 * `labvault serve --demo`: a synthetic lab in an empty vault and one principal per role, so a
 * newcomer can call the API at once. The principals get fixed ids (`demo-<role>`) and fresh
 * tokens at every start; an existing vault keeps its data.
 */
export interface DemoToken {
  id: string;
  role: string;
  tenants: string[];
  purpose: string | null;
  token: string;
}

const DEMO_PRINCIPALS = [
  { id: 'demo-controller', name: 'Demo screening programme system', role: 'controller-system', tenants: ['screening'], purpose: 'PUBHLTH' },
  { id: 'demo-hospital', name: 'Demo hospital west LIS', role: 'controller-system', tenants: ['hospital-west'], purpose: 'TREAT' },
  { id: 'demo-technician', name: 'Demo lab technician', role: 'lab-technician', tenants: ['*'], purpose: 'HOPERAT' },
  { id: 'demo-pathologist', name: 'Demo pathologist', role: 'pathologist', tenants: ['*'], purpose: 'TREAT' },
  { id: 'demo-support', name: 'Demo support desk', role: 'support', tenants: ['*'], purpose: 'HOPERAT' },
  { id: 'demo-security', name: 'Demo security officer', role: 'security-officer', tenants: ['*'], purpose: 'HOPERAT' },
] as const;

/** Loads a synthetic lab when the vault holds no records; returns the number of persons loaded (0 if not empty). */
export async function loadDemoLab(vault: Vault, ctx: AccessContext, patients: number): Promise<number> {
  if ((await vault.store.countResources()).length > 0) return 0;
  // The synthetic source files are plaintext: outside the data dir and deleted after ingest.
  const work = await mkdtemp(path.join(os.tmpdir(), 'labvault-demo-'));
  try {
    const { generateSyntheticLab } = await import('../synth/generator.js');
    const lab = path.join(work, 'lab');
    await generateSyntheticLab({ patients, seed: 1, outDir: lab });
    await vault.ingest.ingest(ctx, [lab]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  // Every tenant gets its canaries, as a production vault would right after its first load: about
  // one per hundred patients, at most the configured number (a tiny demo lab is not mostly canaries).
  const per = vault.config.detection.canaries.perTenant;
  for (const t of await vault.store.listTenants()) {
    const n = (await vault.store.listPatientIds(t.id, '', 100 * per)).length;
    const count = Math.min(per, Math.ceil(n / 100));
    if (count > 0) await vault.canaries.plantTenant(ctx, t.id, count);
  }
  return patients;
}

/** Creates the demo principals that are missing and issues a token for each. */
export async function demoTokens(vault: Vault, ctx: AccessContext, ttlSeconds: number): Promise<DemoToken[]> {
  const out: DemoToken[] = [];
  for (const p of DEMO_PRINCIPALS) {
    if (!(await vault.store.getPrincipal(p.id))) await vault.principals.create(ctx, { ...p, tenants: [...p.tenants] });
    const row = await vault.store.getPrincipal(p.id);
    if (!row || row.status !== 'active') continue;
    const t = await vault.principals.issueToken(ctx, p.id, ttlSeconds);
    out.push({ id: p.id, role: p.role, tenants: [...p.tenants], purpose: p.purpose, token: t.token });
  }
  return out;
}

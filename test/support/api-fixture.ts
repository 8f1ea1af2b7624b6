import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { JWTVerifyGetKey } from 'jose';
import { buildApp } from '../../src/api/app.js';
import type { Vault } from '../../src/compose.js';
import type { Role } from '../../src/domain/principal.js';
import type { Clock } from '../../src/ports/clock.js';
import { generateSyntheticLab } from '../../src/synth/generator.js';
import { CTX } from './context.js';
import { tempVault, type TempVault } from './temp-vault.js';

/**
 * An API over a fresh vault holding a small synthetic lab (five tenants), for `app.inject` tests.
 * `principal()` creates a principal through the real service and returns its token; `lab` says
 * which ids each tenant holds, read straight from the store (not through the API under test).
 */
export interface ApiFixture {
  vault: Vault;
  app: FastifyInstance;
  temp: TempVault;
  lab: LabIndex;
  principal(
    role: Role,
    tenants: string[],
    opts?: { purpose?: string | null; scopes?: string[]; id?: string },
  ): Promise<{ id: string; token: string }>;
  close(): Promise<void>;
}

export interface LabIndex {
  tenants: string[];
  /** tenant → patient ids */
  patients: Map<string, string[]>;
  /** tenant → type → ids */
  resources: Map<string, Map<string, string[]>>;
}

export async function apiFixture(
  opts: { patients?: number; env?: NodeJS.ProcessEnv; databaseUrl?: string; externalKeys?: JWTVerifyGetKey; clock?: Clock } = {},
): Promise<ApiFixture> {
  const temp = await tempVault({
    // Suites fire many bad credentials from one address on purpose; the throttle has its own test.
    // Suites about authorisation read far more patients per principal than any real workflow:
    // detection is off unless a suite turns it on (test/api/detection*.test.ts do).
    env: { LABVAULT_API_AUTH_FAILURES: '1000000', LABVAULT_DETECTION_MODE: 'off', ...(opts.env ?? {}) },
    ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  const vault = temp.vault;
  const work = await mkdtemp(path.join(os.tmpdir(), 'lv-api-lab-'));
  try {
    await generateSyntheticLab({ patients: opts.patients ?? 60, seed: 7, outDir: path.join(work, 'lab') });
    await vault.ingest.ingest(CTX, [path.join(work, 'lab')], { worker: false });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const app = await buildApp(vault, opts.externalKeys ? { externalKeys: opts.externalKeys } : {});
  let n = 0;
  return {
    vault,
    app,
    temp,
    lab: await indexLab(vault),
    async principal(role, tenants, p = {}) {
      const c = await vault.principals.create(CTX, {
        name: `test ${role} ${++n}`,
        role,
        tenants,
        purpose: p.purpose === undefined ? null : p.purpose,
        ...(p.scopes ? { scopes: p.scopes } : {}),
        ...(p.id ? { id: p.id } : {}),
      });
      return { id: c.principal.id, token: c.token };
    },
    async close() {
      await app.close();
      await temp.cleanup();
    },
  };
}

async function indexLab(vault: Vault): Promise<LabIndex> {
  const tenants = (await vault.store.listTenants()).map((t) => t.id);
  const patients = new Map<string, string[]>();
  const resources = new Map<string, Map<string, string[]>>();
  for (const t of tenants) {
    patients.set(t, await vault.store.listPatientIds(t, '', 100_000));
    const byType = new Map<string, string[]>();
    for (const type of ['ServiceRequest', 'Specimen', 'Observation', 'DiagnosticReport'] as const) {
      byType.set(
        type,
        (await vault.store.searchResources(t, { type, limit: 100_000 })).map((r) => r.id),
      );
    }
    resources.set(t, byType);
  }
  return { tenants, patients, resources };
}

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { CTX } from './context.js';
import { testTenant } from './fhir-builders.js';
import { tempVault, type TempVault } from './temp-vault.js';

/**
 * For a suite of ingest tests: a fresh vault with the `screening` tenant and a scratch directory
 * for input files, made before each test and removed after it. Read `tv` and `dir` inside tests.
 */
export function screeningVault(prefix: string): { readonly tv: TempVault; readonly dir: string } {
  const state: { tv?: TempVault; dir?: string } = {};
  beforeEach(async () => {
    state.tv = await tempVault();
    state.dir = await mkdtemp(path.join(os.tmpdir(), prefix));
    await state.tv.vault.ingest.importTenants(CTX, [testTenant('screening')]);
  });
  afterEach(async () => {
    await state.tv?.cleanup();
    if (state.dir) await rm(state.dir, { recursive: true, force: true });
  });
  return {
    get tv() {
      if (!state.tv) throw new Error('screeningVault: read tv inside a test');
      return state.tv;
    },
    get dir() {
      if (!state.dir) throw new Error('screeningVault: read dir inside a test');
      return state.dir;
    },
  };
}

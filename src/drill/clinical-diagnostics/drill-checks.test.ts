import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../domain/tenant.js';
import { encryptPackage, type PackageSummary } from '../../incidents/controller-package.js';
import type { Scope } from '../../incidents/scope.js';
import type { WrittenArtifact } from '../../services/incident-notices.js';
import { checkResponse } from './drill-checks.js';

/** The drill's checks must be able to fail: a scope that differs, a package that lists someone else, a BSN left in plaintext. */
describe('drill checks', () => {
  let dir: string;
  let input: Parameters<typeof checkResponse>[0];
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lv-checks-'));
    const { publicKey, privateKey } = await generateKeyPair('ECDH-ES+A256KW', { extractable: true });
    const tenant = { id: 'screening', name: 'S', publicKeyJwk: { ...(await exportJWK(publicKey)) } } as unknown as Tenant;
    const subject = { cohort: 'accessed-confirmed' as const, bsn: '123456782', name: 'A. Tester', birthDate: null, telecom: null };
    const jwe = await encryptPackage(tenant, {
      summary: {} as PackageSummary,
      subjects: [
        { ...subject, patient: 'p-1', address: [{ line: ['Teststraat 1'] }] },
        { ...subject, patient: 'p-2', bsn: '111222333', address: null },
      ],
    });
    const file = path.join(dir, 'pkg.jwe');
    await writeFile(file, jwe);
    const scope = {
      tenants: [
        { tenant: 'screening', patients: [2, 2], cohorts: { accessedConfirmed: ['p-1', 'p-2'], inLeakedData: [], cannotBeExcluded: [] } },
      ],
    } as unknown as Scope;
    input = {
      scope,
      received: new Map([['screening', new Set(['p-1', 'p-2', 'canary-1'])]]),
      canaries: new Map([['screening', new Set(['canary-1'])]]),
      keys: new Map([['screening', await exportJWK(privateKey)]]),
      packages: [{ kind: 'controller-package', tenant: 'screening', file } as WrittenArtifact],
      letters: [],
      artifactsDir: dir,
    };
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('passes when scope, package and disk agree (canaries apart)', async () => {
    expect((await checkResponse(input)).problems).toEqual([]);
  });

  it('fails on a scope that misses someone the thief received', async () => {
    const r = await checkResponse({ ...input, received: new Map([['screening', new Set(['p-1', 'p-2', 'p-3'])]]) });
    expect(r.scope_exact).toBe(false);
  });

  it('fails on a package that lists someone outside the scope', async () => {
    const scope = {
      tenants: [{ tenant: 'screening', patients: [1, 1], cohorts: { accessedConfirmed: ['p-1'], inLeakedData: [], cannotBeExcluded: [] } }],
    } as unknown as Scope;
    const r = await checkResponse({ ...input, scope, received: new Map([['screening', new Set(['p-1'])]]) });
    expect(r.packages_exact).toBe(false);
  });

  it('finds a BSN or a street left in plaintext', async () => {
    await writeFile(path.join(dir, 'oops.csv'), 'p;bsn\n1;123456782\n2;Teststraat 1\n');
    const r = await checkResponse(input);
    expect(r.plaintext_found).toBe(2);
    await rm(path.join(dir, 'oops.csv'));
  });
});

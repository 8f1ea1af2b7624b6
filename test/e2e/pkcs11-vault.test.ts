import { CTX } from '../support/context.js';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openVault } from '../../src/compose.js';
import { KeyUnavailable } from '../../src/domain/errors.js';
import { createSoftHsmToken, type SoftHsmToken } from '../../src/keys/softhsm-fixture.js';
import { ndjson, observation, patient, serviceRequest, testTenant } from '../support/fhir-builders.js';
import { runCli } from '../support/cli.js';

/** The whole vault on the PKCS#11 provider against Debian's SoftHSM2: init, ingest, read, rotate, erase. */
describe('vault on a PKCS#11 HSM (SoftHSM2)', () => {
  let token: SoftHsmToken;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    token = await createSoftHsmToken({ label: 'labvault-e2e' });
    dir = await mkdtemp(path.join(os.tmpdir(), 'lv-hsm-'));
    env = {
      SOFTHSM2_CONF: token.confPath,
      LABVAULT_PKCS11_MODULE: token.modulePath,
      LABVAULT_PKCS11_TOKEN: token.tokenLabel,
      LABVAULT_PKCS11_PIN: token.pin,
    };
  });
  afterAll(async () => {
    await token.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores and reads records with the master key inside the token; no keyring file is written', async () => {
    const config = loadConfig({ dataDir: path.join(dir, 'data'), keyProvider: 'pkcs11' }, env);
    const vault = await openVault(config, { create: true });
    try {
      expect(vault.provider.kind).toBe('pkcs11');
      await vault.ingest.importTenants(CTX, [testTenant('screening')]);
      const f = path.join(dir, 'in.ndjson');
      await writeFile(
        f,
        ndjson([patient('screening', 'p1'), serviceRequest('screening', 'sr1', 'p1'), observation('screening', 'o1', 'p1', 'sr1')]),
      );
      const r = await vault.ingest.ingest(CTX, [f]);
      expect(r.rejected).toBe(0);
      expect((await vault.reader.patient(CTX, 'screening', 'p1')).id).toBe('p1');
      const rot = await vault.keyAdmin.rotate(CTX, 'screening');
      expect(rot.destroyed).toEqual([1]);
      expect((await vault.reader.resource(CTX, 'screening', 'Observation', 'o1')).id).toBe('o1');
    } finally {
      await vault.close();
    }
    expect(await readdir(config.dataDir)).not.toContain('keyring.json');
    // A second process-level open (fresh session) reads what the first wrote.
    const again = await openVault(config);
    try {
      expect((await again.reader.patient(CTX, 'screening', 'p1')).birthDate).toBe('1980-04-02');
      // The API's own tokens are signed inside the token too: issue one, read through the API.
      const { buildApp } = await import('../../src/api/app.js');
      const app = await buildApp(again);
      try {
        const c = await again.principals.create(CTX, { name: 'LIMS', role: 'controller-system', tenants: ['screening'], purpose: 'TREAT' });
        const r = await app.inject({ url: '/fhir/Patient/p1', headers: { authorization: `Bearer ${c.token}` } });
        expect(r.statusCode).toBe(200);
        const jwks = (await app.inject({ url: '/.well-known/jwks.json' })).json<{ keys: { x: string }[] }>();
        expect(Buffer.from(jwks.keys[0]?.x ?? '', 'base64url')).toEqual((await again.provider.tokenSigner()).publicKey);
        expect((await again.provider.tokenSigner()).publicKey).not.toEqual((await again.provider.auditSigner()).publicKey);
      } finally {
        await app.close();
      }
    } finally {
      await again.close();
    }
  });

  it('the CLI works with --key-provider pkcs11 and the PIN only in the environment', async () => {
    const dataDir = path.join(dir, 'cli');
    const init = await runCli(['--data-dir', dataDir, '--key-provider', 'pkcs11', 'init', '--json'], env);
    expect(init.code).toBe(0);
    expect(JSON.parse(init.stdout)).toMatchObject({ keyProvider: 'pkcs11' });
    expect(init.stdout + init.stderr).not.toContain(token.pin);
    const status = await runCli(['--data-dir', dataDir, '--key-provider', 'pkcs11', 'keys', 'status', '--json'], env);
    expect(status.code).toBe(0);
    expect((JSON.parse(status.stdout) as { master_key_id: string }).master_key_id).toMatch(/^pkcs11:/);
    // The audit log is signed inside the token and verifies.
    const verified = await runCli(['--data-dir', dataDir, '--key-provider', 'pkcs11', 'audit', 'verify', '--json'], env);
    expect(verified.code, verified.stdout).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, first_bad_index: null });
    expect((JSON.parse(verified.stdout) as { checkpoints: number }).checkpoints).toBeGreaterThan(0);
  });

  it('a wrong PIN fails closed with exit 2 and without echoing the PIN', async () => {
    const dataDir = path.join(dir, 'data');
    const wrong = 'not-the-pin-4711';
    const r = await runCli(['--data-dir', dataDir, '--key-provider', 'pkcs11', 'keys', 'status'], { ...env, LABVAULT_PKCS11_PIN: wrong });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toContain(wrong);
    const config = loadConfig({ dataDir, keyProvider: 'pkcs11' }, { ...env, LABVAULT_PKCS11_PIN: wrong });
    await expect(openVault(config)).rejects.toBeInstanceOf(KeyUnavailable);
  });

  it('the token holds the only copy of the master key: the data dir alone cannot be decrypted', async () => {
    const files = await readdir(path.join(dir, 'data'));
    const db = await readFile(path.join(dir, 'data', 'vault.db'));
    expect(files).toContain('vault.db');
    expect(db.indexOf(Buffer.from('Jansen'))).toBe(-1);
    expect(db.indexOf(Buffer.from('123456782'))).toBe(-1);
  });
});

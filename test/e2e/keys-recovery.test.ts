import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pkcs11js from 'pkcs11js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSoftHsmToken } from '../../src/keys/softhsm-fixture.js';
import { runCli } from '../support/cli.js';
import { ndjson, observation, patient, serviceRequest, testTenant } from '../support/fhir-builders.js';

/**
 * Keyring backup and recovery through the built binary (CLI.md "Backup and recovery"): a keyring
 * wrapped for an offline recovery key brings a vault back after ransomware overwrote its keyring,
 * without the vault database having to open; the HSM path lists what to back up and exports nothing.
 */
let work: string;
let data: string;
let d: string[];
let pub: string;
let priv: string;
let exported: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'lv-keys-recovery-'));
  data = path.join(work, 'data');
  d = ['--data-dir', data];
  const input = path.join(work, 'in');
  await mkdir(input);
  await writeFile(path.join(input, 'tenants.json'), JSON.stringify([testTenant('screening')]));
  await writeFile(
    path.join(input, 'lab.ndjson'),
    ndjson([patient('screening', 'p1'), serviceRequest('screening', 'sr1', 'p1'), observation('screening', 'o1', 'p1', 'sr1')]),
  );
  expect((await runCli([...d, 'init'])).code).toBe(0);
  const ingest = await runCli([...d, 'ingest', input]);
  expect(ingest.code, ingest.stderr).toBe(0);
}, 60_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const keyringFile = () => path.join(data, 'keyring.json');

describe('labvault keys recovery-keygen / export / import', () => {
  it('recovery-keygen writes the pair to files only (private 0600) and refuses to overwrite', async () => {
    pub = path.join(work, 'recovery.public.jwk');
    priv = path.join(work, 'recovery.private.jwk');
    const r = await runCli(['keys', 'recovery-keygen', '--out-private', priv, '--out-public', pub, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { private: string; public: string; kid: string };
    expect(out).toEqual({ private: priv, public: pub, kid: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) as unknown });
    expect((await stat(priv)).mode & 0o777).toBe(0o600);
    const d_ = (JSON.parse(await readFile(priv, 'utf8')) as { d: string }).d;
    expect(d_).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(r.stdout + r.stderr).not.toContain(d_);
    expect(await readFile(pub, 'utf8')).not.toContain(d_);
    const again = await runCli(['keys', 'recovery-keygen', '--out-private', priv, '--out-public', path.join(work, 'p2.jwk')]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists/);
    expect((JSON.parse(await readFile(priv, 'utf8')) as { d: string }).d).toBe(d_);
  });

  it('export wraps the keyring into a new 0600 file holding none of its bytes, and never overwrites', async () => {
    exported = path.join(work, 'keyring.jwe');
    const status = JSON.parse((await runCli([...d, 'keys', 'status', '--json'])).stdout) as { master_key_id: string };
    const r = await runCli([...d, 'keys', 'export', '--recovery-key', pub, '--out', exported, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const size = (await stat(exported)).size;
    expect(JSON.parse(r.stdout)).toEqual({ out: exported, kind: 'local', master_key_id: status.master_key_id, bytes: size });
    expect((await stat(exported)).mode & 0o777).toBe(0o600);
    const keyring = await readFile(keyringFile());
    const masterKey = (JSON.parse(keyring.toString('utf8')) as { masterKey: string }).masterKey;
    const file = await readFile(exported);
    expect(file.indexOf(keyring)).toBe(-1);
    expect(file.indexOf(Buffer.from(masterKey))).toBe(-1);
    expect(file.indexOf(Buffer.from(masterKey, 'base64'))).toBe(-1);
    expect(r.stdout + r.stderr).not.toContain(masterKey);

    const again = await runCli([...d, 'keys', 'export', '--recovery-key', pub, '--out', exported]);
    expect(again.code).toBe(1);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toMatch(/already exists/);
    expect((await readFile(exported)).equals(file)).toBe(true);

    // A private key given as the recovery key is refused (usage error), and nothing is written.
    const viaPrivate = await runCli([...d, 'keys', 'export', '--recovery-key', priv, '--out', path.join(work, 'no.jwe')]);
    expect(viaPrivate.code).toBe(2);
    expect(viaPrivate.stderr).toMatch(/private key/);
    await expect(stat(path.join(work, 'no.jwe'))).rejects.toThrow();
  });

  it('after ransomware overwrote the keyring: the wrong key is refused, the right one brings the vault back', async () => {
    const garbage = randomBytes(512);
    await writeFile(keyringFile(), garbage);
    expect((await runCli([...d, 'patient', 'show', '--tenant', 'screening', '--id', 'p1'])).code).not.toBe(0);
    const before = (await readdir(data)).sort();

    const otherPriv = path.join(work, 'other.private.jwk');
    expect(
      (await runCli(['keys', 'recovery-keygen', '--out-private', otherPriv, '--out-public', path.join(work, 'other.public.jwk')])).code,
    ).toBe(0);
    const wrong = await runCli([...d, 'keys', 'import', exported, '--recovery-key-private', otherPriv, '--json']);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    expect(wrong.stderr).toMatch(/wrong recovery key/);
    expect((await readdir(data)).sort()).toEqual(before);
    expect((await readFile(keyringFile())).equals(garbage)).toBe(true);

    const r = await runCli([...d, 'keys', 'import', exported, '--recovery-key-private', priv, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { moved_aside: string };
    expect(result).toMatchObject({ imported: true, data_dir: data, replaced: 'corrupt' });
    expect(path.basename(result.moved_aside)).toMatch(/^keyring\.json\.corrupt-\d{4}-\d\d-\d\dT[\d-]+Z$/);
    expect((await readFile(result.moved_aside)).equals(garbage)).toBe(true);
    expect((await stat(keyringFile())).mode & 0o777).toBe(0o600);

    const show = await runCli([...d, 'patient', 'show', '--tenant', 'screening', '--id', 'p1']);
    expect(show.code, show.stderr).toBe(0);
    const shown = JSON.parse(show.stdout) as { patient: { id: string; birthDate: string }; records: unknown[] };
    expect(shown.patient).toMatchObject({ id: 'p1', birthDate: '1980-04-02' });
    expect(shown.records).toHaveLength(2);

    const again = await runCli([...d, 'keys', 'import', exported, '--recovery-key-private', priv]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already present/);
  });

  it('import needs no openable database: a wrecked data dir gets its keyring back; another valid keyring needs --force', async () => {
    const wrecked = path.join(work, 'wrecked');
    await mkdir(wrecked, { mode: 0o700 });
    await writeFile(path.join(wrecked, 'vault.db'), randomBytes(8192));
    await writeFile(path.join(wrecked, 'keyring.json'), randomBytes(256));
    const r = await runCli(['--data-dir', wrecked, 'keys', 'import', exported, '--recovery-key-private', priv, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ imported: true, replaced: 'corrupt' });
    expect((await readFile(path.join(wrecked, 'keyring.json'))).equals(await readFile(keyringFile()))).toBe(true);

    const other = path.join(work, 'other-vault');
    expect((await runCli(['--data-dir', other, 'init'])).code).toBe(0);
    const otherKeyring = await readFile(path.join(other, 'keyring.json'));
    const refused = await runCli(['--data-dir', other, 'keys', 'import', exported, '--recovery-key-private', priv]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/different valid keyring.*--force/);
    expect((await readFile(path.join(other, 'keyring.json'))).equals(otherKeyring)).toBe(true);
    const forced = await runCli(['--data-dir', other, 'keys', 'import', exported, '--recovery-key-private', priv, '--force', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    const f = JSON.parse(forced.stdout) as { replaced: string; moved_aside: string };
    expect(f.replaced).toBe('forced');
    expect((await readFile(f.moved_aside)).equals(otherKeyring)).toBe(true);
  });
});

describe('labvault keys export with --key-provider pkcs11', () => {
  it('lists the token objects to back up by HSM means, writes nothing, and the objects are really there', async () => {
    const token = await createSoftHsmToken({ label: 'labvault-recovery' });
    try {
      const hsmData = path.join(work, 'hsm');
      const env = {
        SOFTHSM2_CONF: token.confPath,
        LABVAULT_PKCS11_MODULE: token.modulePath,
        LABVAULT_PKCS11_TOKEN: token.tokenLabel,
        LABVAULT_PKCS11_PIN: token.pin,
      };
      const hd = ['--data-dir', hsmData, '--key-provider', 'pkcs11'];
      const init = await runCli([...hd, 'init'], env);
      expect(init.code, init.stderr).toBe(0);
      const out = path.join(work, 'hsm-export.json');
      // No PIN needed: the listing comes from the configuration, the token is not opened.
      const { LABVAULT_PKCS11_PIN: _pin, ...noPin } = env;
      const r = await runCli([...hd, 'keys', 'export', '--out', out, '--json'], noPin);
      expect(r.code, r.stderr).toBe(0);
      const listing = JSON.parse(r.stdout) as Record<string, string | null>;
      expect(listing).toEqual({
        kind: 'pkcs11',
        out: null,
        module: token.modulePath,
        token_label: 'labvault-recovery',
        master_key_label: 'labvault-master',
        audit_key_label: 'labvault-master-audit',
        token_signing_key_label: 'labvault-master-token',
      });
      await expect(stat(out)).rejects.toThrow();
      const text = await runCli([...hd, 'keys', 'export'], noPin);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain('labvault-master-audit');
      expect(text.stdout + text.stderr).not.toContain(token.pin);
      expect((await runCli([...hd, 'keys', 'import', exported, '--recovery-key-private', priv], env)).code).toBe(2);

      // The labels name objects that exist in the token: 1 AES key, and both halves of each Ed25519 pair.
      const counts = countObjects(token.modulePath, token.tokenLabel, token.pin, [
        listing.master_key_label ?? '',
        listing.audit_key_label ?? '',
        listing.token_signing_key_label ?? '',
      ]);
      expect(counts).toEqual([1, 2, 2]);
    } finally {
      await token.cleanup();
    }
  });
});

function countObjects(modulePath: string, tokenLabel: string, pin: string, labels: string[]): number[] {
  const lib = new pkcs11js.PKCS11();
  lib.load(modulePath);
  lib.C_Initialize();
  try {
    const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === tokenLabel);
    if (slot === undefined) throw new Error('token not found');
    const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    lib.C_Login(session, pkcs11js.CKU_USER, pin);
    try {
      return labels.map((label) => {
        lib.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_LABEL, value: label }]);
        try {
          return lib.C_FindObjects(session, 10).length;
        } finally {
          lib.C_FindObjectsFinal(session);
        }
      });
    } finally {
      lib.C_Logout(session);
      lib.C_CloseSession(session);
    }
  } finally {
    lib.C_Finalize();
    lib.close();
  }
}

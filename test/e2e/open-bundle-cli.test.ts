import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recipientKey } from '../../src/incidents/recipient-key.js';
import { SealedBundleWriter } from '../../src/incidents/sealed-bundle.js';
import { runCli } from '../support/cli.js';

/**
 * `labvault incident open-bundle`: the one explicit step that turns a sealed bundle back into
 * plaintext files, into a new directory only (0700, files 0600), and that leaves nothing behind
 * when the key is wrong or the bundle fails its check half-way.
 */
describe('labvault incident open-bundle', () => {
  let dir: string;
  let bundle: string;
  let keyFile: string;
  let otherKeyFile: string;
  const big = Buffer.alloc(3 * 1024 * 1024, 7);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lv-open-'));
    const pair = await generateKeyPair('ECDH-ES+A256KW', { extractable: true });
    const other = await generateKeyPair('ECDH-ES+A256KW', { extractable: true });
    keyFile = path.join(dir, 'key.jwk');
    otherKeyFile = path.join(dir, 'other.jwk');
    await writeFile(keyFile, JSON.stringify(await exportJWK(pair.privateKey)));
    await writeFile(otherKeyFile, JSON.stringify(await exportJWK(other.privateKey)));
    bundle = path.join(dir, 'b.lvb');
    const w = await SealedBundleWriter.create(bundle, await recipientKey(await exportJWK(pair.publicKey), 'test'), {
      kind: 'patient-letters',
      incident: 'inc-1',
      tenant: 'screening',
      created: new Date().toISOString(),
      files: 2,
    });
    w.file('0000001-p-1.pdf');
    w.write(Buffer.from('%PDF-1.4 first'));
    w.file('0000002-p-2.pdf');
    // Spans several 1 MiB frames.
    w.write(big);
    w.close();
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('opens into a new directory with the recipient’s key', async () => {
    const out = path.join(dir, 'opened');
    const r = await runCli(['incident', 'open-bundle', bundle, '--key', keyFile, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ out, files: 2 });
    expect((await readdir(out)).sort()).toEqual(['0000001-p-1.pdf', '0000002-p-2.pdf']);
    expect((await stat(out)).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(out, '0000002-p-2.pdf'))).mode & 0o777).toBe(0o600);
    expect((await readFile(path.join(out, '0000002-p-2.pdf'))).equals(big)).toBe(true);
    const again = await runCli(['incident', 'open-bundle', bundle, '--key', keyFile, '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/does not exist yet/);
  });

  it('refuses a wrong key and a damaged bundle, leaving no directory behind', async () => {
    const wrong = path.join(dir, 'wrong');
    const r = await runCli(['incident', 'open-bundle', bundle, '--key', otherKeyFile, '--out', wrong]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot be opened/);
    await expect(stat(wrong)).rejects.toThrow();
    // A byte flipped in the last frame: the first file was already released, and is removed again.
    const bytes = await readFile(bundle);
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] as number) ^ 0xff;
    const damaged = path.join(dir, 'damaged.lvb');
    await writeFile(damaged, bytes);
    const out = path.join(dir, 'damaged-out');
    const d = await runCli(['incident', 'open-bundle', damaged, '--key', keyFile, '--out', out]);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/fails its check/);
    await expect(stat(out)).rejects.toThrow();
  });
});

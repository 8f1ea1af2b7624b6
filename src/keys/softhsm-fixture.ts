import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Where Debian/Ubuntu's `softhsm2` package installs the PKCS#11 module. */
export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

/** A throwaway SoftHSM2 token in its own temp directory. */
export interface SoftHsmToken {
  readonly modulePath: string;
  readonly tokenLabel: string;
  /** User PIN (a throwaway test token's PIN is not a secret). */
  readonly pin: string;
  readonly soPin: string;
  /** softhsm2.conf that `SOFTHSM2_CONF` points at. */
  readonly confPath: string;
  readonly dir: string;
  /** Removes the token directory and restores the previous `SOFTHSM2_CONF`. */
  cleanup(): Promise<void>;
}

/**
 * Test helper: initialises a fresh SoftHSM2 token and points `SOFTHSM2_CONF` at it.
 *
 * SoftHSM reads `SOFTHSM2_CONF` only in C_Initialize, and the library is process-global: create the
 * token before the first provider opens, and close every provider before switching to another
 * token (one token per test file, in `beforeAll`, is the simple rule). Throws — never skips — when
 * SoftHSM2 is not installed, so a CI image without it fails loudly.
 */
export async function createSoftHsmToken(opts?: { label?: string; pin?: string }): Promise<SoftHsmToken> {
  if (!existsSync(SOFTHSM_MODULE)) {
    throw new Error(`SoftHSM2 PKCS#11 module not found at ${SOFTHSM_MODULE}; install the softhsm2 package`);
  }
  const tokenLabel = opts?.label ?? 'labvault-test';
  // Random by default so tests can assert the PIN never shows up in error messages.
  const pin = opts?.pin ?? `pin-${randomBytes(6).toString('hex')}`;
  const soPin = `so-${randomBytes(6).toString('hex')}`;
  const dir = await mkdtemp(join(tmpdir(), 'labvault-softhsm-'));
  const confPath = join(dir, 'softhsm2.conf');
  const previousConf = process.env['SOFTHSM2_CONF'];
  try {
    await mkdir(join(dir, 'tokens'));
    await writeFile(
      confPath,
      [`directories.tokendir = ${join(dir, 'tokens')}`, 'objectstore.backend = file', 'log.level = ERROR', ''].join('\n'),
    );
    process.env['SOFTHSM2_CONF'] = confPath;
    await execFileAsync('softhsm2-util', ['--init-token', '--free', '--label', tokenLabel, '--pin', pin, '--so-pin', soPin], {
      env: { ...process.env, SOFTHSM2_CONF: confPath },
    });
  } catch (err) {
    restoreConf(previousConf);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    modulePath: SOFTHSM_MODULE,
    tokenLabel,
    pin,
    soPin,
    confPath,
    dir,
    async cleanup() {
      if (process.env['SOFTHSM2_CONF'] === confPath) restoreConf(previousConf);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function restoreConf(previous: string | undefined): void {
  if (previous === undefined) delete process.env['SOFTHSM2_CONF'];
  else process.env['SOFTHSM2_CONF'] = previous;
}

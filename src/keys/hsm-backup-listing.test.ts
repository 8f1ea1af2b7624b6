import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { hsmBackupListing } from './hsm-backup-listing.js';

describe('hsmBackupListing', () => {
  it('names the token and the three key objects the PKCS#11 provider uses, from the configuration alone', () => {
    const config = loadConfig(
      { keyProvider: 'pkcs11' },
      { LABVAULT_PKCS11_MODULE: '/opt/hsm/lib.so', LABVAULT_PKCS11_TOKEN: 'lab-token', LABVAULT_PKCS11_KEY_LABEL: 'lv-master' },
    );
    expect(hsmBackupListing(config.pkcs11)).toEqual({
      kind: 'pkcs11',
      out: null,
      module: '/opt/hsm/lib.so',
      token_label: 'lab-token',
      master_key_label: 'lv-master',
      audit_key_label: 'lv-master-audit',
      token_signing_key_label: 'lv-master-token',
    });
  });

  it('holds nothing secret: not the PIN', () => {
    const pin = 'pin-4711-secret';
    const config = loadConfig({ keyProvider: 'pkcs11' }, { LABVAULT_PKCS11_PIN: pin });
    expect(JSON.stringify(hsmBackupListing(config.pkcs11))).not.toContain(pin);
    expect(hsmBackupListing(config.pkcs11).master_key_label).toBe('labvault-master');
  });
});

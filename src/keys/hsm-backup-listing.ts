import { signingKeyLabel } from './pkcs11-provider.js';

/**
 * What to back up when the keys live in a PKCS#11 token. Those keys are generated sensitive and
 * non-extractable, so labvault cannot (and must not try to) export them: the token's own means
 * (an HSM backup, a cloned token or a key-ceremony replica) must cover these objects. Built from the
 * configuration alone, so it works while the token is unreachable and needs no PIN.
 */
export interface HsmBackupListing {
  readonly kind: 'pkcs11';
  /** Always null: nothing is written for an HSM. */
  readonly out: null;
  readonly module: string;
  readonly token_label: string;
  /** AES-256 secret key (wraps tenant KEKs and index keys). */
  readonly master_key_label: string;
  /** Ed25519 key pair (private and public object) that signs audit checkpoints. */
  readonly audit_key_label: string;
  /** Ed25519 key pair (private and public object) that signs the API's bearer tokens. */
  readonly token_signing_key_label: string;
}

export function hsmBackupListing(pkcs11: { modulePath: string; tokenLabel: string; keyLabel: string }): HsmBackupListing {
  return {
    kind: 'pkcs11',
    out: null,
    module: pkcs11.modulePath,
    token_label: pkcs11.tokenLabel,
    master_key_label: pkcs11.keyLabel,
    audit_key_label: signingKeyLabel(pkcs11.keyLabel, 'audit'),
    token_signing_key_label: signingKeyLabel(pkcs11.keyLabel, 'token'),
  };
}

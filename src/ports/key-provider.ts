/**
 * Holds the master key. Everything below it in the hierarchy (tenant KEKs, blind-index keys,
 * later the audit signing key) is stored wrapped by this provider, so a stolen database or backup
 * is useless without the provider. Implementations: local keyring file, PKCS#11 HSM.
 */
export interface KeyProvider {
  readonly kind: 'local' | 'pkcs11';
  /** Stable identifier of the master key (not secret), recorded next to what it wraps. */
  readonly masterKeyId: string;
  /**
   * Authenticated encryption of key material under the master key. `context` is bound as AAD
   * (e.g. `kek|screening|2`) so a wrapped key cannot be moved to another slot.
   */
  wrap(keyMaterial: Buffer, context: string): Promise<Buffer>;
  /** Inverse of wrap; throws DecryptionFailed on any mismatch (wrong key, tampering, wrong context). */
  unwrap(wrapped: Buffer, context: string): Promise<Buffer>;
  /**
   * The audit log's Ed25519 signing key (created on first use). Signing happens in the provider:
   * inside the token for PKCS#11, in process memory for the local keyring.
   */
  auditSigner(): Promise<AuditSigner>;
  /**
   * The API server's Ed25519 key for issuing access tokens (created on first use), held like the
   * audit key but separate from it: rotating or losing one leaves the other's signatures valid.
   */
  tokenSigner(): Promise<Ed25519Signer>;
  close(): Promise<void>;
}

/** An Ed25519 private key held by a {@link KeyProvider}; only the public key leaves it. */
export interface Ed25519Signer {
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Buffer;
  /** 64-byte Ed25519 signature of `message` (pure Ed25519, no prehash). */
  sign(message: Buffer): Promise<Buffer>;
}

/** The signer of audit checkpoints. */
export type AuditSigner = Ed25519Signer;

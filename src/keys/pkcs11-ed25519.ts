import pkcs11js from 'pkcs11js';
import type { Handle, PKCS11 } from 'pkcs11js';
import { ConfigurationError } from '../domain/errors.js';

/**
 * Ed25519 signing keys (audit log, API token issuer) inside a PKCS#11 token (PKCS#11 3.0 EdDSA
 * mechanisms, which SoftHSM2 ≥ 2.6 implements). Each private key is generated in the token,
 * sensitive and non-extractable; only the 32-byte public key leaves it. pkcs11js predates 3.0,
 * hence the numeric constants.
 */
const CKK_EC_EDWARDS = 0x40;
export const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
export const CKM_EDDSA = 0x1057;
/** DER of OID 1.3.101.112 (id-Ed25519), the curve parameter RFC 8410 names. */
const ED25519_PARAMS = Buffer.from('06032b6570', 'hex');

export interface TokenEd25519Key {
  readonly privateKey: Handle;
  readonly publicKey: Buffer;
}

export function findOrCreateEd25519Key(lib: PKCS11, session: Handle, label: string): TokenEd25519Key {
  const find = (cls: number): Handle[] => {
    lib.C_FindObjectsInit(session, [
      { type: pkcs11js.CKA_CLASS, value: cls },
      { type: pkcs11js.CKA_KEY_TYPE, value: CKK_EC_EDWARDS },
      { type: pkcs11js.CKA_LABEL, value: label },
    ]);
    try {
      return lib.C_FindObjects(session, 2);
    } finally {
      lib.C_FindObjectsFinal(session);
    }
  };
  let priv = find(pkcs11js.CKO_PRIVATE_KEY);
  let pub = find(pkcs11js.CKO_PUBLIC_KEY);
  if (priv.length > 1 || pub.length > 1) throw new ConfigurationError(`several PKCS#11 key pairs are labelled "${label}"`);
  if (priv.length === 0 && pub.length === 0) {
    const pair = lib.C_GenerateKeyPair(
      session,
      { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN },
      [
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_LABEL, value: label },
        { type: pkcs11js.CKA_VERIFY, value: true },
        { type: pkcs11js.CKA_EC_PARAMS, value: ED25519_PARAMS },
      ],
      [
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_LABEL, value: label },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SIGN, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      ],
    );
    priv = [pair.privateKey];
    pub = [pair.publicKey];
  }
  const [privateKey] = priv;
  const [publicKey] = pub;
  if (privateKey === undefined || publicKey === undefined) throw new ConfigurationError(`PKCS#11 key pair "${label}" is incomplete`);
  const point = lib.C_GetAttributeValue(session, publicKey, [{ type: pkcs11js.CKA_EC_POINT }])[0]?.value;
  if (!Buffer.isBuffer(point)) throw new ConfigurationError(`PKCS#11 key "${label}" has no public point`);
  // CKA_EC_POINT is a DER OCTET STRING (04 20 ‖ key) in most tokens, the raw 32 bytes in some.
  const raw = point.length === 34 && point[0] === 0x04 && point[1] === 0x20 ? point.subarray(2) : point;
  if (raw.length !== 32) throw new ConfigurationError(`PKCS#11 key "${label}" is not an Ed25519 key`);
  return { privateKey, publicKey: Buffer.from(raw) };
}

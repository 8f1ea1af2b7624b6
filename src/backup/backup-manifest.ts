import { createHash, createPublicKey, verify } from 'node:crypto';
import { IntegrityViolation } from '../domain/errors.js';
import { containsBsnLike } from '../domain/validate-resource.js';
import type { Ed25519Signer } from '../ports/key-provider.js';

/**
 * What a backup copy holds and vouches for. The manifest is signed with the vault's audit key (in
 * the key provider: a copy cannot be forged or edited without it) and names the vault by its
 * audit-log origin, which is derived from that key: a manifest from another vault carries another
 * origin, and its signature fails under this vault's key. It records the audit tree's size and root
 * at the snapshot, so a restore can prove the copy's log is a prefix of what the witness saw.
 */
export const BACKUP_FORMAT = 'labvault-backup/1';
export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.sig';
/** Domain separation: a manifest signature can never be mistaken for a checkpoint signature. */
const SIGNING_CONTEXT = Buffer.from('labvault backup manifest v1\n');

export interface BackupFileEntry {
  name: string;
  bytes: number;
  sha256: string;
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  /** Content address: a digest of everything else in the manifest (see backupId). */
  id: string;
  /** The audit log origin of the vault the copy was taken from. */
  vault: string;
  created_at: string;
  backend: 'sqlite' | 'postgres';
  schema_version: number;
  files: BackupFileEntry[];
  audit: { size: number; root: string };
  /** Canary sets planted in this copy only (ids and counts; who they are stays sealed). */
  canaries: { tenant: string; set: string; patients: number }[];
}

export type UnsignedManifest = Omit<BackupManifest, 'id'>;

/**
 * The content address: SHA-256 over what the copy is (the vault, time, backend, schema, audit head
 * and the database files by hash). The canaries and their sealed registry rows are not in it: they
 * are registered under this id, so they come after it; the signature covers them.
 *
 * About one 32-hex digest in 180 holds a digit run that passes the 11-proof, and the audit log
 * (rightly) refuses any field that looks like a BSN, so such a backup could not register its
 * canaries. A content address cannot be redrawn at random, so the digest is taken again over the
 * content and a round number until it is BSN-free: deterministic, so verification recomputes the
 * same id. Round 0 is the plain digest, the id every copy had before this rule.
 */
export function backupId(m: IdContent): string {
  const content = idContent(m);
  for (let round = 0; ; round++) {
    const id = digestRound(content, round);
    if (!containsBsnLike(id)) return id;
  }
}

/**
 * Whether `id` is the content address of `m`: the id backupId gives now, or the plain digest a
 * copy made before the BSN-free rule carries (a copy without canaries could be published with a
 * BSN-like one), so those copies still verify.
 */
export function isBackupIdOf(m: IdContent, id: string): boolean {
  return id === backupId(m) || id === digestRound(idContent(m), 0);
}

type IdContent = Pick<UnsignedManifest, 'vault' | 'created_at' | 'backend' | 'schema_version' | 'audit' | 'files'>;

function idContent(m: IdContent): string {
  const data = m.files.filter((f) => f.name.startsWith('vault.'));
  return canonical({
    vault: m.vault,
    created_at: m.created_at,
    backend: m.backend,
    schema_version: m.schema_version,
    audit: m.audit,
    data,
  });
}

function digestRound(content: string, round: number): string {
  return createHash('sha256')
    .update(round === 0 ? content : `${content}\n${round}`)
    .digest('hex')
    .slice(0, 32);
}

export function manifestBytes(m: BackupManifest): Buffer {
  return Buffer.from(`${canonical(m)}\n`);
}

export async function signManifest(bytes: Buffer, signer: Ed25519Signer): Promise<Buffer> {
  return signer.sign(Buffer.concat([SIGNING_CONTEXT, bytes]));
}

export function manifestSignatureValid(bytes: Buffer, signature: Buffer, publicKey: Buffer): boolean {
  const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
  try {
    return verify(null, Buffer.concat([SIGNING_CONTEXT, bytes]), key, signature);
  } catch {
    return false;
  }
}

/** Parses and shape-checks a manifest; throws IntegrityViolation with a plain reason. */
export function parseManifest(bytes: Buffer): BackupManifest {
  let m: unknown;
  try {
    m = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new IntegrityViolation('backup manifest is not valid JSON');
  }
  const o = m as Partial<BackupManifest>;
  if (o.format !== BACKUP_FORMAT) throw new IntegrityViolation(`backup manifest format is not ${BACKUP_FORMAT}`);
  const ok =
    typeof o.id === 'string' &&
    /^[0-9a-f]{32}$/.test(o.id) &&
    typeof o.vault === 'string' &&
    typeof o.created_at === 'string' &&
    (o.backend === 'sqlite' || o.backend === 'postgres') &&
    Number.isInteger(o.schema_version) &&
    Array.isArray(o.files) &&
    o.files.every(
      (f) =>
        typeof f?.name === 'string' &&
        /^[A-Za-z0-9._-]+$/.test(f.name) &&
        Number.isInteger(f.bytes) &&
        typeof f.sha256 === 'string' &&
        /^[0-9a-f]{64}$/.test(f.sha256),
    ) &&
    typeof o.audit?.size === 'number' &&
    Number.isInteger(o.audit.size) &&
    typeof o.audit.root === 'string' &&
    /^[0-9a-f]{64}$/.test(o.audit.root) &&
    Array.isArray(o.canaries);
  if (!ok) throw new IntegrityViolation('backup manifest is malformed');
  const full = o as BackupManifest;
  const { id, ...rest } = full;
  if (!isBackupIdOf(rest, id)) throw new IntegrityViolation('backup manifest id does not match its content');
  return full;
}

/** JSON with keys in a fixed (sorted) order at every level, so the same manifest is the same bytes. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

import { createPublicKey, hash, verify, type KeyObject } from 'node:crypto';

/**
 * C2SP signed-note and tlog-checkpoint, Ed25519 only. Part of the standalone verifier (node:crypto
 * only). A note is UTF-8 text ending in a newline, a blank line, then one line per signature:
 * `— <key name> <base64(key id ‖ signature)>`. The key id is the first 4 bytes of
 * SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key); 0x01 identifies Ed25519. A verifier key is written
 * `<name>+<hex key id>+<base64(0x01 ‖ public key)>`.
 */
const ED25519_ALG = 0x01;
const SIG_PREFIX = '\u2014 ';
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: Buffer;
  readonly publicKey: Buffer;
  readonly key: KeyObject;
}

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Buffer;
  /** Lines after the root hash (tlog-checkpoint extension lines), without newlines. */
  readonly extensions: readonly string[];
}

/** Key name rules of signed-note: non-empty, no spaces, no '+', no newlines. */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name);
}

export function keyIdOf(name: string, publicKey: Buffer): Buffer {
  return hash('sha256', Buffer.concat([Buffer.from(`${name}\n`, 'utf8'), Buffer.from([ED25519_ALG]), publicKey]), 'buffer').subarray(0, 4);
}

export function formatVerifierKey(name: string, publicKey: Buffer): string {
  return `${name}+${keyIdOf(name, publicKey).toString('hex')}+${Buffer.concat([Buffer.from([ED25519_ALG]), publicKey]).toString('base64')}`;
}

/** Parses `<name>+<hex id>+<base64 key>`; throws Error with a plain reason when malformed. */
export function parseVerifierKey(vkey: string): NoteVerifier {
  // Split at the first two '+' only: standard base64 (the key) may itself contain '+'.
  const text = vkey.trim();
  const a = text.indexOf('+');
  const b = a < 0 ? -1 : text.indexOf('+', a + 1);
  if (a < 0 || b < 0) throw new Error('verifier key must be name+keyid+base64key');
  const [name, idHex, keyB64] = [text.slice(0, a), text.slice(a + 1, b), text.slice(b + 1)];
  const raw = Buffer.from(keyB64, 'base64');
  if (!isValidKeyName(name) || !/^[0-9a-f]{8}$/.test(idHex)) throw new Error('verifier key has a bad name or key id');
  if (raw.length !== 33 || raw[0] !== ED25519_ALG) throw new Error('verifier key is not an Ed25519 key');
  const publicKey = raw.subarray(1);
  const keyId = keyIdOf(name, publicKey);
  if (keyId.toString('hex') !== idHex) throw new Error('verifier key id does not match its key');
  const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
  return { name, keyId, publicKey, key };
}

/** The signed text of a note and its signature lines, or null when the note is malformed. */
function splitNote(note: string): { text: string; sigLines: string[] } | null {
  const at = note.lastIndexOf('\n\n');
  if (at < 0 || !note.endsWith('\n')) return null;
  const text = note.slice(0, at + 1);
  const sigLines = note.slice(at + 2, -1).split('\n');
  if (sigLines.length === 0 || sigLines.some((l) => !l.startsWith(SIG_PREFIX))) return null;
  return { text, sigLines };
}

/** Returns the note's text if it carries a valid signature by `verifier`, else null. */
export function openNote(note: string, verifier: NoteVerifier): string | null {
  const parts = splitNote(note);
  if (!parts) return null;
  for (const line of parts.sigLines) {
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.lastIndexOf(' ');
    if (space < 0 || rest.slice(0, space) !== verifier.name) continue;
    const sig = Buffer.from(rest.slice(space + 1), 'base64');
    if (sig.length !== 4 + 64 || !sig.subarray(0, 4).equals(verifier.keyId)) continue;
    if (verify(null, Buffer.from(parts.text, 'utf8'), verifier.key, sig.subarray(4))) return parts.text;
  }
  return null;
}

/** Signature line for `text` given a raw Ed25519 signature by the key `name`/`publicKey`. */
export function signatureLine(name: string, publicKey: Buffer, signature: Buffer): string {
  return `${SIG_PREFIX}${name} ${Buffer.concat([keyIdOf(name, publicKey), signature]).toString('base64')}\n`;
}

export function checkpointText(origin: string, size: number, root: Buffer, extensions: readonly string[] = []): string {
  return [origin, String(size), root.toString('base64'), ...extensions].join('\n') + '\n';
}

/** Parses the text of a checkpoint note (already signature-checked); null when malformed. */
export function parseCheckpointText(text: string): Checkpoint | null {
  const lines = text.split('\n');
  if (lines.pop() !== '' || lines.length < 3) return null;
  const [origin, sizeLine, rootLine, ...extensions] = lines as [string, string, string, ...string[]];
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeLine) || origin.length === 0) return null;
  const size = Number(sizeLine);
  const root = Buffer.from(rootLine, 'base64');
  if (!Number.isSafeInteger(size) || root.length !== 32 || root.toString('base64') !== rootLine) return null;
  if (extensions.some((l) => l.length === 0)) return null;
  return { origin, size, root, extensions };
}

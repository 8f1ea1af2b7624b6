import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { AuditEvent } from '../../src/domain/audit-event.js';
import { TreeState } from '../../src/audit/tree-state.js';
import { checkpointText, formatVerifierKey, signatureLine } from '../../src/audit/verifier/signed-note.js';
import { rootOfLeafHashes, leafHash } from '../../src/audit/verifier/rfc6962.js';

/** An Ed25519 note signer for tests (the attacker gets one too). */
export function testSigner(origin: string): { vkey: string; sign(size: number, root: Buffer): string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return {
    vkey: formatVerifierKey(origin, raw),
    sign: (size, root) => signNote(origin, privateKey, raw, size, root),
  };
}

function signNote(origin: string, key: KeyObject, pub: Buffer, size: number, root: Buffer): string {
  const text = checkpointText(origin, size, root);
  return `${text}\n${signatureLine(origin, pub, sign(null, Buffer.from(text), key))}`;
}

export function readEvent(i: number, over: Partial<AuditEvent> = {}): AuditEvent {
  return {
    time: new Date(Date.UTC(2026, 10, 28, 12, 0, 0, i)).toISOString(),
    action: 'resource.read',
    outcome: 'allowed',
    principal: { id: `principal-${i % 5}`, role: 'pathologist', tenants: ['screening'] },
    tenant: 'screening',
    patients: [`pat-${i}`],
    categories: ['clinical-result'],
    records: 1,
    bytes: 100 + i,
    purpose: 'TREAT',
    origin: { ip: '10.0.0.1', userAgent: 'test', requestId: `r-${i}` },
    reason: null,
    detail: {},
    ...over,
  };
}

/** Canonical bytes of `events` as a fresh log would store them (seq from 0, chained). */
export function sealAll(events: AuditEvent[]): Buffer[] {
  return TreeState.empty()
    .seal(events)
    .rows.map((r) => r.bytes);
}

export function rootOf(events: readonly Buffer[], size = events.length): Buffer {
  return rootOfLeafHashes(events.slice(0, size).map((e) => leafHash(e)));
}

import { randomBytes } from 'node:crypto';
import { Section, dekAad, recordAad } from '../crypto/aad.js';
import { ENVELOPE_IV_BYTES, seal, sealInto, sealedLength } from '../crypto/envelope.js';
import type { ParsedItem, ParsedRecord } from './ingest-parse.js';
import type { UnitArena } from './unit-arena.js';

/** A tenant's active KEK as the parse stage receives it (a copy; the sealer zeroes it when done). */
export interface TenantKek {
  version: number;
  key: Uint8Array;
}

interface PatientDek {
  dek: Buffer;
  wrapped: Buffer;
  kekVersion: number;
}

/**
 * Encrypts records in the parse stage, ahead of the database stage, so the second core does the
 * AES-GCM work the main thread used to do (~10 % of its time). This stage cannot know what the
 * store holds, so what it produces is a proposal the database stage checks before using
 * (ingest-run.ts):
 *
 * - For every Patient it sees it draws a fresh DEK, wraps it under the tenant's active KEK and
 *   seals the identity. Used only when the patient is new and that KEK version is still the active
 *   one when the batch is written; otherwise the database stage does it all again in-process.
 * - A clinical record is sealed under the DEK this stage drew for its patient, and carries that
 *   patient's wrapped DEK as a tag. Used only when the stored (or just written) wrapped DEK of the
 *   patient is byte-identical to the tag — which, for AES-GCM under one KEK and AAD, means the same
 *   DEK. A patient stored by an earlier run, rewrapped by a rotation or evicted from the bounded
 *   DEK cache here simply gets its records encrypted by the database stage, as before.
 *
 * Security trade-off: the unwrapped tenant KEKs are copied to this stage (a worker thread of the
 * same process, so the same address space and no new exposure to other processes), and it holds
 * unwrapped DEKs of the patients of this run in a bounded LRU, as the key hierarchy does. Both are
 * zeroed by close().
 */
export class UnitSealer {
  private readonly keks = new Map<string, { version: number; key: Buffer }>();
  /**
   * DEKs drawn in this run, bounded; the oldest drawn goes first. Not an LRU: a look-up per record
   * that reorders a Map of 10^5 entries cost more than the encryption. Ingest reads patients
   * before their records, so what ages out is the least likely to be needed again.
   */
  private readonly deks = new Map<string, PatientDek>();

  constructor(
    keks: Iterable<[string, TenantKek]>,
    private readonly dekCacheSize = 200_000,
  ) {
    for (const [t, k] of keks) this.setKek(t, k);
  }

  /** Switches a tenant to a new active KEK (after a rotation); DEKs wrapped under the old one stop being proposed. */
  setKek(tenantId: string, kek: TenantKek): void {
    const old = this.keks.get(tenantId);
    if (old && old.version === kek.version) return;
    old?.key.fill(0);
    this.keks.set(tenantId, { version: kek.version, key: Buffer.from(kek.key) });
  }

  /**
   * Sets `sealedBody`, `sealedDek` and `sealedKekVersion` on the records it can encrypt, written
   * into the unit's arena when one is given.
   */
  seal(items: readonly ParsedItem[], arena?: UnitArena): void {
    let patients = 0;
    let clinical = 0;
    for (const { record: r } of items) {
      if (r?.mac) {
        if (r.type === 'Patient') patients++;
        else clinical++;
      }
    }
    // Randomness drawn once per unit: one call per record costs more than the encryption itself.
    const dekBytes = randomBytes(32 * patients);
    const ivBytes = randomBytes(ENVELOPE_IV_BYTES * (2 * patients + clinical));
    let d = 0;
    let v = 0;
    const iv = (): Buffer => ivBytes.subarray(ENVELOPE_IV_BYTES * v, ENVELOPE_IV_BYTES * ++v);
    // Patients first: a clinical record may follow its patient within the unit.
    for (const { record: r } of items) {
      if (!r?.mac || r.type !== 'Patient') continue;
      const kek = this.keks.get(r.tenantId);
      if (!kek) continue;
      const key = `${r.tenantId}\u0000${r.id}`;
      let entry = this.deks.get(key);
      if (!entry || entry.kekVersion !== kek.version) {
        const dek = dekBytes.subarray(32 * d, 32 * ++d);
        entry = { dek, wrapped: seal(kek.key, dek, dekAad(r.tenantId, r.id, kek.version), iv()), kekVersion: kek.version };
        this.remember(key, entry);
      }
      place(r, entry, recordAad(r.tenantId, 'Patient', r.id, 1, Section.Identity), iv(), arena);
    }
    for (const { record: r } of items) {
      if (!r?.mac || r.type === 'Patient') continue;
      const entry = this.deks.get(`${r.tenantId}\u0000${r.patientId}`);
      if (!entry) continue;
      place(r, entry, recordAad(r.tenantId, r.type, r.id, 1, Section.Body), iv(), arena);
    }
  }

  private remember(key: string, entry: PatientDek): void {
    this.deks.delete(key);
    this.deks.set(key, entry);
    if (this.deks.size > this.dekCacheSize) {
      const oldest = this.deks.entries().next();
      if (!oldest.done) {
        oldest.value[1].dek.fill(0);
        this.deks.delete(oldest.value[0]);
      }
    }
  }

  /** Overwrites the KEK copies and cached DEKs with zeros. */
  close(): void {
    for (const k of this.keks.values()) k.key.fill(0);
    this.keks.clear();
    for (const e of this.deks.values()) e.dek.fill(0);
    this.deks.clear();
  }
}

function place(r: ParsedRecord, entry: PatientDek, aad: Buffer, iv: Buffer, arena: UnitArena | undefined): void {
  r.sealedKekVersion = entry.kekVersion;
  const plaintext = bytes(r.json);
  if (!arena) {
    r.sealedDek = entry.wrapped;
    r.sealedBody = seal(entry.dek, plaintext, aad, iv);
    return;
  }
  arena.claimCopy(r, 'sealedDek', entry.wrapped);
  sealInto(arena.claim(r, 'sealedBody', sealedLength(plaintext.length)), entry.dek, plaintext, aad, iv);
}

function bytes(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

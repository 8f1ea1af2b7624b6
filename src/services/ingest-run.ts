import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Conflict, DecryptionFailed, IntegrityViolation } from '../domain/errors.js';
import { Section, recordAad } from '../crypto/aad.js';
import { ENVELOPE_IV_BYTES, seal } from '../crypto/envelope.js';
import type { ActiveKek, KeyHierarchy } from '../crypto/key-hierarchy.js';
import type { Clock } from '../ports/clock.js';
import {
  resourceKeyString,
  type PatientKeyInfo,
  type PatientRow,
  type ResourceKey,
  type ResourceRow,
  type VaultStore,
} from '../ports/vault-store.js';
import type { ParsedItem, ParsedRecord } from './ingest-parse.js';
import type { IngestResult } from './ingest-service.js';
import { KeySet } from './key-set.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AccessContext } from '../domain/principal.js';
import { ingestWriteEvents } from './ingest-audit.js';
import type { AuditEvent } from '../domain/audit-event.js';

export type WriteEvents = (patients: PatientRow[], resources: ResourceRow[]) => AuditEvent[];
import { sortForInsert } from './insert-order.js';

interface Accepted {
  item: ParsedItem;
  record: ParsedRecord;
  mac: Buffer;
  /** resourceKeyString of the record, and of its patient (the same for a Patient). */
  key: string;
  patientKey: string;
}

/**
 * The key strings of a unit's records, built once per record: each build allocates a fresh string
 * that every Map or KeySet look-up must flatten and hash again. Null where the record is missing or
 * its tenant is not one the run accepts.
 */
interface UnitKeys {
  own: (string | null)[];
  patient: (string | null)[];
}

/**
 * The database stage of one ingest run: decides per record (store, identical → skip, reject),
 * encrypts and writes a unit in one transaction.
 *
 * Lookups are the cost that matters here, so they are batched per unit and kept to what is
 * needed: patients (own ids and references) in one query that also yields their DEKs; clinical
 * references in one query. Whether a clinical record already exists is learnt from the insert
 * itself (ON CONFLICT DO NOTHING reports the skipped keys), except in Bundles, which must be
 * judged whole before anything is written.
 */
export class IngestRun {
  /** Clinical records this run has stored (or found stored): references to them need no look-up. */
  private readonly written = new KeySet();
  /**
   * Patients this run has written, with what a look-up would return, so their records need no
   * look-up (measured at 100k persons: 2.1 s of the database stage's 26.6 s went to those
   * look-ups). Bounded; the oldest written goes first. Valid while no patient has been erased:
   * `knownEpoch` is the erasure count they rest on, checked per unit, and the store refuses a
   * batch prepared on an older count (so an erasure that lands after the check is caught too).
   * A rewrap keeps the DEK, so records sealed under a remembered one stay readable.
   */
  private readonly known = new Map<string, PatientKeyInfo>();
  private knownEpoch = -1;
  /**
   * The audit checkpoint the last commit made due: signed, made durable and witnessed while the
   * next unit is prepared, instead of on this unit's time (measured at 100k persons: 20 WAL syncs,
   * 0.65 s of the writer thread blocked). The next unit waits for it before it writes, so a
   * failed checkpoint still stops the run before any further event is stored.
   */
  private checkpointing: Promise<void> = Promise.resolve();
  /** KEK version last announced per tenant to the parse stage (which encrypts ahead under it). */
  private readonly announcedKek = new Map<string, number>();

  constructor(
    private readonly store: VaultStore,
    private readonly keys: KeyHierarchy,
    private readonly clock: Clock,
    private readonly result: IngestResult,
    private readonly maxErrors: number,
    private readonly tenants: ReadonlySet<string>,
    private readonly audit: AuditLog,
    private readonly ctx: AccessContext,
    /** Called when a tenant's active KEK is not the one the parse stage was last given (a rotation). */
    private readonly onActiveKek: (tenantId: string, kek: ActiveKek) => void = () => undefined,
    /** The events a write commits with; canary planting records counts instead of patient ids. */
    private readonly eventsOf: WriteEvents = (patients, resources) => ingestWriteEvents(this.audit, this.ctx, patients, resources),
  ) {}

  async processUnit(items: ParsedItem[], allOrNothing: boolean): Promise<void> {
    // Decisions rest on a snapshot of the store. If it moved under us (a patient created by a
    // concurrent writer, or a KEK rotated away), nothing was written: decide again, a few times.
    // Erasures that land while a batch is prepared do not count towards those few: each one is
    // a single event, and a series of them (a list of erasure requests) must not abort a load.
    let attempt = 0;
    for (let erasures = 0; ;) {
      try {
        await this.attempt(items, allOrNothing);
        return;
      } catch (e) {
        const retriable = e instanceof Conflict || e instanceof DecryptionFailed;
        if (!retriable) throw e;
        // The erasure count this attempt decided on (attempt() sets it first).
        const epoch = this.knownEpoch;
        // What the run remembered may be what failed (a DEK wrapped under a KEK rotated away since).
        this.known.clear();
        this.knownEpoch = -1;
        const erased = e instanceof Conflict && (await this.store.erasureEpoch()) !== epoch;
        if (erased && ++erasures <= MAX_ERASURE_RETRIES) continue;
        if (++attempt >= 3) throw e;
        for (const t of new Set(items.flatMap((i) => (i.record ? [i.record.tenantId] : [])))) this.keys.forget(t);
      }
    }
  }

  private async attempt(items: ParsedItem[], allOrNothing: boolean): Promise<void> {
    const epoch = await this.store.erasureEpoch();
    if (epoch !== this.knownEpoch) {
      this.known.clear();
      this.knownEpoch = epoch;
    }
    const keys = this.keysOf(items);
    const patients = await this.lookupPatients(items, keys);
    const { accepted, errors, unchanged } = await this.classify(items, keys, patients, allOrNothing);
    if (allOrNothing && errors.length > 0) {
      for (const e of errors) this.reject(e.item, e.reason);
      const first = items[0];
      if (first && accepted.length > 0) {
        this.reject(first, `Bundle rejected as a whole: ${accepted.length} valid entries not stored`);
        this.result.rejected += accepted.length - 1;
      }
      return;
    }
    const skipped = accepted.length > 0 ? await this.write(accepted, patients, epoch) : [];
    // Only now, with the unit committed, do its outcomes count.
    for (const e of errors) this.reject(e.item, e.reason);
    this.result.unchanged += unchanged;
    await this.settleSkipped(accepted, skipped);
    for (const a of accepted) if (a.record.type !== 'Patient') this.written.add(a.key);
  }

  private keysOf(items: ParsedItem[]): UnitKeys {
    const own: (string | null)[] = new Array<string | null>(items.length).fill(null);
    const patient: (string | null)[] = new Array<string | null>(items.length).fill(null);
    for (let i = 0; i < items.length; i++) {
      const r = items[i]?.record;
      if (!r || !this.tenants.has(r.tenantId)) continue;
      const key = resourceKeyString(r);
      own[i] = key;
      patient[i] = r.type === 'Patient' ? key : resourceKeyString({ tenantId: r.tenantId, type: 'Patient', id: r.patientId });
    }
    return { own, patient };
  }

  private reject(item: ParsedItem, reason: string): void {
    this.result.rejected++;
    if (this.result.errors.length < this.maxErrors) this.result.errors.push({ file: item.file, line: item.line, reason });
    else this.result.errorsTruncated = true;
  }

  /** Stored patients this unit defines or references, with their DEK info and content MAC. */
  private async lookupPatients(items: ParsedItem[], keys: UnitKeys): Promise<Map<string, PatientKeyInfo>> {
    const byTenant = new Map<string, Set<string>>();
    const want = (tenant: string, id: string): void => {
      let ids = byTenant.get(tenant);
      if (!ids) byTenant.set(tenant, (ids = new Set()));
      ids.add(id);
    };
    const out = new Map<string, PatientKeyInfo>();
    for (let i = 0; i < items.length; i++) {
      const r = items[i]?.record;
      const key = keys.patient[i];
      if (!r || !key) continue;
      const known = this.known.get(key);
      if (known) out.set(key, known);
      else want(r.tenantId, r.type === 'Patient' ? r.id : r.patientId);
    }
    for (const [tenant, ids] of byTenant) for (const [k, v] of await this.store.findPatientKeys(tenant, [...ids])) out.set(k, v);
    return out;
  }

  private async classify(
    items: ParsedItem[],
    keys: UnitKeys,
    patients: Map<string, PatientKeyInfo>,
    checkOwnClinical: boolean,
  ): Promise<{ accepted: Accepted[]; errors: { item: ParsedItem; reason: string }[]; unchanged: number }> {
    const lookups = new Map<string, ResourceKey>();
    // Key strings of every reference, in item and reference order, built once for both passes.
    const refKeys: string[] = [];
    for (let i = 0; i < items.length; i++) {
      const r = items[i]?.record;
      const own = keys.own[i];
      const patientKey = keys.patient[i];
      if (!r || !own || !patientKey) continue;
      if (checkOwnClinical && r.type !== 'Patient') lookups.set(own, r);
      for (const ref of r.refs) {
        // The subject reference names the record's own patient, whose key string exists already
        // (and has its hash computed once for every Map that sees it).
        const ks =
          ref.type === 'Patient' && ref.id === r.patientId
            ? patientKey
            : resourceKeyString({ tenantId: r.tenantId, type: ref.type, id: ref.id });
        refKeys.push(ks);
        if (ref.type !== 'Patient' && !this.written.has(ks)) lookups.set(ks, { tenantId: r.tenantId, type: ref.type, id: ref.id });
      }
    }
    const stored = lookups.size > 0 ? await this.store.findContentMacs([...lookups.values()]) : new Map<string, Buffer | null>();
    const exists = (k: string, type: string): boolean =>
      type === 'Patient' ? patients.get(k)?.erased === false : stored.has(k) || this.written.has(k);
    const seen = new Map<string, Buffer>();
    const accepted: Accepted[] = [];
    const errors: { item: ParsedItem; reason: string }[] = [];
    const fail = (item: ParsedItem, r: ParsedRecord, reason: string): void =>
      void errors.push({ item, reason: `${r.type}/${r.id}: ${reason}` });
    let unchanged = 0;
    let nextRef = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as ParsedItem;
      const r = item.record;
      if (!r) {
        errors.push({ item, reason: item.error ?? 'invalid resource' });
        continue;
      }
      const key = keys.own[i];
      const patientKey = keys.patient[i];
      // This record's reference keys: refKeys holds them for every record with a key.
      const refsFrom = nextRef;
      if (key) nextRef += r.refs.length;
      if (!key || !patientKey || !r.mac) {
        fail(item, r, `unknown tenant '${r.tenantId}'`);
        continue;
      }
      const mac = asBuffer(r.mac);
      const prior = seen.get(key) ?? (r.type === 'Patient' ? patientPrior(patients.get(key)) : stored.get(key));
      if (prior !== undefined) {
        if (prior === null) fail(item, r, 'this patient was erased and is not re-created');
        else if (prior.equals(mac)) unchanged++;
        else fail(item, r, 'conflicting duplicate id: different content under the same id');
        continue;
      }
      let dangling: ParsedRecord['refs'][number] | undefined;
      for (let k = 0; k < r.refs.length; k++) {
        const ks = refKeys[refsFrom + k] as string;
        const ref = r.refs[k] as ParsedRecord['refs'][number];
        if (!seen.has(ks) && !exists(ks, ref.type)) {
          dangling = ref;
          break;
        }
      }
      if (dangling) {
        fail(item, r, `reference ${dangling.type}/${dangling.id} does not resolve in tenant '${r.tenantId}'`);
        continue;
      }
      seen.set(key, mac);
      accepted.push({ item, record: r, mac, key, patientKey });
    }
    return { accepted, errors, unchanged };
  }

  /**
   * Encrypts accepted records and writes them in one transaction; returns clinical keys that
   * already existed. Ciphertexts the parse stage made ahead (unit-sealer.ts) are used only when
   * they are what this stage would store: a new patient's under the KEK version active now, a
   * clinical record's under the DEK the store holds (or this batch writes) for its patient, as
   * shown by a byte-identical wrapped DEK. Anything else is encrypted here, as before.
   */
  private async write(accepted: Accepted[], patients: Map<string, PatientKeyInfo>, erasureEpoch: number): Promise<ResourceKey[]> {
    const now = this.clock.now().toISOString();
    const patientRows: PatientRow[] = [];
    const resourceRows: ResourceRow[] = [];
    const deks = new Map<string, Buffer>();
    // Patients this batch writes, as the clinical records below need them.
    const newPatients = new Map<string, { kekVersion: number; wrappedDek: Buffer }>();
    let randomness: { dek: Buffer; iv: Buffer } | null = null;
    let d = 0;
    let v = 0;
    // Drawn once per unit, and only if some record needs encrypting here: one call per record costs
    // more than the encryption itself.
    const draw = (): { dek: Buffer; iv: Buffer } =>
      (randomness ??= { dek: randomBytes(32 * accepted.length), iv: randomBytes(ENVELOPE_IV_BYTES * 2 * accepted.length) });
    const iv = (): Buffer => draw().iv.subarray(ENVELOPE_IV_BYTES * v, ENVELOPE_IV_BYTES * ++v);
    const remembered: [string, PatientRow][] = [];
    for (const { record: r, mac, key: pk } of accepted) {
      if (r.type !== 'Patient' || !r.bsnIndex || !r.nameIndex) continue;
      const kek = await this.keys.activeKek(r.tenantId);
      this.announce(r.tenantId, kek);
      let wrappedDek: Buffer;
      let identity: Buffer;
      if (r.sealedBody && r.sealedDek && r.sealedKekVersion === kek.version) {
        wrappedDek = asBuffer(r.sealedDek);
        identity = asBuffer(r.sealedBody);
      } else {
        const dek = draw().dek.subarray(32 * d, 32 * ++d);
        deks.set(pk, dek);
        wrappedDek = this.keys.wrapDek(kek, r.tenantId, r.id, dek, iv());
        identity = seal(dek, asBuffer(r.json), recordAad(r.tenantId, 'Patient', r.id, 1, Section.Identity), iv());
      }
      newPatients.set(pk, { kekVersion: kek.version, wrappedDek });
      const row: PatientRow = {
        tenantId: r.tenantId,
        id: r.id,
        version: 1,
        kekVersion: kek.version,
        wrappedDek,
        bsnIndex: asBuffer(r.bsnIndex),
        nameIndex: asBuffer(r.nameIndex),
        contentMac: mac,
        identity,
        createdAt: now,
        erasedAt: null,
      };
      patientRows.push(row);
      remembered.push([pk, row]);
    }
    for (const { record: r, mac, patientKey: pk } of accepted) {
      if (r.type === 'Patient') continue;
      let body: Buffer;
      const info = newPatients.get(pk) ?? patients.get(pk);
      if (r.sealedBody && r.sealedDek && info?.wrappedDek && sameBytes(info.wrappedDek, asBuffer(r.sealedDek))) {
        body = asBuffer(r.sealedBody);
      } else {
        let dek = deks.get(pk);
        if (!dek) {
          if (!info) throw new IntegrityViolation('patient key missing for a validated record');
          dek = await this.keys.dek(r.tenantId, r.patientId, info.kekVersion, info.wrappedDek);
          deks.set(pk, dek);
        }
        body = seal(dek, asBuffer(r.json), recordAad(r.tenantId, r.type, r.id, 1, Section.Body), iv());
      }
      resourceRows.push({
        tenantId: r.tenantId,
        type: r.type,
        id: r.id,
        version: 1,
        patientId: r.patientId,
        status: r.status,
        code: r.code,
        effectiveDate: r.effectiveDate,
        contentMac: mac,
        body,
        createdAt: now,
      });
    }
    sortForInsert(patientRows, resourceRows);
    const audit = this.eventsOf(patientRows, resourceRows);
    await this.checkpointing;
    const { skippedResources } = await this.store.writeBatch({ patients: patientRows, resources: resourceRows, audit, erasureEpoch });
    this.checkpointing = this.audit.committed();
    // Reported by the next write or by settle(); never an unhandled rejection meanwhile.
    this.checkpointing.catch(() => undefined);
    for (const [key, p] of remembered) this.remember(key, p);
    return skippedResources;
  }

  /** Resolves once the checkpoint the last commit made due is done (rejects if it failed). */
  async settle(): Promise<void> {
    await this.checkpointing;
  }

  private remember(key: string, p: PatientRow): void {
    // Copies: the rows' bytes are views of a whole unit's buffer, which a view would keep alive.
    this.known.set(key, {
      kekVersion: p.kekVersion,
      wrappedDek: p.wrappedDek ? Buffer.from(p.wrappedDek) : null,
      erased: false,
      contentMac: p.contentMac ? Buffer.from(p.contentMac) : null,
    });
    if (this.known.size > KNOWN_PATIENTS) {
      const oldest = this.known.keys().next();
      if (!oldest.done) this.known.delete(oldest.value);
    }
  }

  private announce(tenantId: string, kek: ActiveKek): void {
    if (this.announcedKek.get(tenantId) === kek.version) return;
    this.announcedKek.set(tenantId, kek.version);
    this.onActiveKek(tenantId, kek);
  }

  /** Counts what was stored; a clinical record the insert skipped is identical (unchanged) or a conflict. */
  private async settleSkipped(accepted: Accepted[], skipped: ResourceKey[]): Promise<void> {
    if (skipped.length === 0) {
      for (const a of accepted) this.result.ingested[a.record.type]++;
      return;
    }
    const macs = await this.store.findContentMacs(skipped);
    for (const a of accepted) {
      const r = a.record;
      const stored = r.type === 'Patient' ? undefined : macs.get(a.key);
      if (stored === undefined) this.result.ingested[r.type]++;
      else if (stored?.equals(a.mac)) this.result.unchanged++;
      else this.reject(a.item, `${r.type}/${r.id}: conflicting duplicate id: different content under the same id`);
    }
  }
}

/** Erasures a batch may meet while it is prepared before the run gives up (a livelock guard, not a limit in practice). */
const MAX_ERASURE_RETRIES = 1000;

/**
 * Patients remembered per run. Measured (node --expose-gc, 200,000 entries shaped as remember()
 * makes them): ~690 bytes each — the key string and Map entry ~450, the entry object and its two
 * small Buffer copies the rest — so ~140 MB at most.
 */
const KNOWN_PATIENTS = 200_000;

function patientPrior(info: PatientKeyInfo | undefined): Buffer | null | undefined {
  if (!info) return undefined;
  return info.erased ? null : info.contentMac;
}

/** Wrapped DEKs are ciphertext, but compared in constant time all the same: they guard which key encrypted a record. */
function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Buffers cross the worker boundary as plain Uint8Arrays; view them as Buffers without copying. */
export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

import { randomBytes } from 'node:crypto';
import { Conflict, IntegrityViolation, InvalidInput } from '../domain/errors.js';
import type { Tenant } from '../domain/tenant.js';
import type { VaultResourceType } from '../domain/resource-type.js';
import { validateResource, type ValidRecord } from '../domain/validate-resource.js';
import { Section, recordAad } from '../crypto/aad.js';
import { blindIndex, contentMac, nameBirthDateKey } from '../crypto/blind-index.js';
import { seal } from '../crypto/envelope.js';
import type { KeyHierarchy } from '../crypto/key-hierarchy.js';
import type { Clock } from '../ports/clock.js';
import { resourceKeyString, type PatientRow, type ResourceKey, type ResourceRow, type VaultStore } from '../ports/vault-store.js';
import { bundleEntries } from './bundle-entries.js';
import { planInput, readLines } from './ingest-files.js';
import { readTenantsFile } from './tenant-import.js';

/**
 * Bulk ingest of FHIR R4 resources (NDJSON lines, transaction Bundles). Valid records are
 * encrypted and stored in batched transactions; invalid ones are reported with file, line and a
 * value-free reason and never stored. A Bundle is all-or-nothing. Re-ingesting identical content
 * is a no-op (keyed content MAC), so a run interrupted by a crash is completed by running it again.
 */
export interface IngestError {
  file: string;
  line: number;
  reason: string;
}

export interface IngestProgress {
  records: number;
  bytes: number;
  totalBytes: number;
}

export interface IngestOptions {
  batchSize?: number;
  /** Errors kept in the result (the rejected count stays exact). */
  maxErrors?: number;
  onProgress?: (p: IngestProgress) => void;
}

export interface IngestResult {
  ingested: Record<VaultResourceType, number>;
  unchanged: number;
  rejected: number;
  errors: IngestError[];
  errorsTruncated: boolean;
  tenantsImported: number;
  seconds: number;
}

interface Pending {
  file: string;
  line: number;
  record?: ValidRecord;
  error?: string;
}

interface Accepted {
  record: ValidRecord;
  json: Buffer;
  mac: Buffer;
}

export class IngestService {
  constructor(
    private readonly store: VaultStore,
    private readonly keys: KeyHierarchy,
    private readonly clock: Clock,
  ) {}

  /** Registers (or updates) tenants and makes sure each has its keys. */
  async importTenants(tenants: Tenant[]): Promise<void> {
    for (const t of tenants) {
      await this.store.upsertTenant(t);
      await this.keys.ensureTenantKeys(t.id);
    }
  }

  async ingest(paths: string[], opts: IngestOptions = {}): Promise<IngestResult> {
    const started = process.hrtime.bigint();
    const batchSize = opts.batchSize ?? 2000;
    const maxErrors = opts.maxErrors ?? 1000;
    const plan = await planInput(paths);
    const result: IngestResult = {
      ingested: { Patient: 0, ServiceRequest: 0, Specimen: 0, Observation: 0, DiagnosticReport: 0 },
      unchanged: 0,
      rejected: 0,
      errors: [],
      errorsTruncated: false,
      tenantsImported: 0,
      seconds: 0,
    };
    for (const f of plan.tenantFiles) {
      const tenants = await readTenantsFile(f);
      await this.importTenants(tenants);
      result.tenantsImported += tenants.length;
    }
    const run = new IngestRun(this.store, this.keys, this.clock, result, maxErrors, new Set((await this.store.listTenants()).map((t) => t.id)));

    let bytesBefore = 0;
    let records = 0;
    for (const file of plan.dataFiles) {
      let batch: Pending[] = [];
      let fileBytes = 0;
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return;
        await run.processUnit(batch, false);
        records += batch.length;
        batch = [];
        opts.onProgress?.({ records, bytes: bytesBefore + fileBytes, totalBytes: plan.totalBytes });
      };
      for await (const { line, text, bytes } of readLines(file)) {
        fileBytes = bytes;
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          batch.push({ file, line, error: 'malformed JSON' });
          continue;
        }
        if (isBundle(parsed)) {
          await flush();
          await run.processUnit(unpackBundle(parsed, file, line), true);
          records += 1;
          continue;
        }
        batch.push(toPending(parsed, file, line));
        if (batch.length >= batchSize) await flush();
      }
      await flush();
      bytesBefore += fileBytes;
    }
    result.seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return result;
  }
}

function isBundle(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && (v as { resourceType?: unknown }).resourceType === 'Bundle';
}

function toPending(parsed: unknown, file: string, line: number): Pending {
  try {
    return { file, line, record: validateResource(parsed) };
  } catch (e) {
    return { file, line, error: e instanceof InvalidInput ? e.message : 'invalid resource' };
  }
}

function unpackBundle(bundle: Record<string, unknown>, file: string, line: number): Pending[] {
  let entries: unknown[];
  try {
    entries = bundleEntries(bundle);
  } catch (e) {
    return [{ file, line, error: e instanceof InvalidInput ? e.message : 'invalid Bundle' }];
  }
  const order: readonly string[] = ['Patient', 'ServiceRequest', 'Specimen', 'Observation', 'DiagnosticReport'];
  const pending = entries.map((e, i) => {
    const p = toPending(e, file, line);
    return p.error ? { ...p, error: `Bundle.entry[${i}]: ${p.error}` } : p;
  });
  // Entries of a transaction have no order; resolve dependencies by processing referenced types first.
  return pending.sort((a, b) => order.indexOf(a.record?.type ?? '') - order.indexOf(b.record?.type ?? ''));
}

/** State of one ingest run: processes units (a batch of lines, or one Bundle) against the store. */
class IngestRun {
  constructor(
    private readonly store: VaultStore,
    private readonly keys: KeyHierarchy,
    private readonly clock: Clock,
    private readonly result: IngestResult,
    private readonly maxErrors: number,
    private readonly tenants: Set<string>,
  ) {}

  private reject(file: string, line: number, reason: string): void {
    this.result.rejected++;
    if (this.result.errors.length < this.maxErrors) this.result.errors.push({ file, line, reason });
    else this.result.errorsTruncated = true;
  }

  async processUnit(units: Pending[], allOrNothing: boolean): Promise<void> {
    const { accepted, errors } = await this.classify(units);
    if (allOrNothing && errors.length > 0) {
      const first = units[0];
      for (const e of errors) this.reject(e.file, e.line, e.reason);
      if (first && accepted.length > 0) {
        this.reject(first.file, first.line, `Bundle rejected as a whole: ${accepted.length} valid entries not stored`);
        this.result.rejected += accepted.length - 1;
      }
      return;
    }
    for (const e of errors) this.reject(e.file, e.line, e.reason);
    if (accepted.length === 0) return;
    try {
      await this.write(accepted);
    } catch (e) {
      if (!(e instanceof Conflict)) throw e;
      // A concurrent rotation destroyed the KEK version we wrapped with: reload keys, try once more.
      for (const t of new Set(accepted.map((a) => a.record.tenantId))) this.keys.forget(t);
      await this.write(accepted);
    }
    for (const a of accepted) this.result.ingested[a.record.type]++;
  }

  /** Decides per record: store, skip as identical, or reject (with reason). Pure apart from one batched lookup. */
  private async classify(units: Pending[]): Promise<{ accepted: Accepted[]; errors: IngestError[] }> {
    const lookups = new Map<string, ResourceKey>();
    for (const u of units) {
      const r = u.record;
      if (!r || !this.tenants.has(r.tenantId)) continue;
      const own = { tenantId: r.tenantId, type: r.type, id: r.id };
      lookups.set(resourceKeyString(own), own);
      for (const ref of r.refs) {
        const k = { tenantId: r.tenantId, type: ref.type, id: ref.id };
        lookups.set(resourceKeyString(k), k);
      }
    }
    const stored = await this.store.findContentMacs([...lookups.values()]);
    const seen = new Map<string, Buffer>();
    const accepted: Accepted[] = [];
    const errors: IngestError[] = [];
    for (const u of units) {
      const r = u.record;
      if (!r) {
        errors.push({ file: u.file, line: u.line, reason: u.error ?? 'invalid resource' });
        continue;
      }
      const fail = (reason: string): void => void errors.push({ file: u.file, line: u.line, reason: `${r.type}/${r.id}: ${reason}` });
      if (!this.tenants.has(r.tenantId)) {
        fail(`unknown tenant '${r.tenantId}'`);
        continue;
      }
      const json = Buffer.from(JSON.stringify(r.resource), 'utf8');
      const mac = contentMac(await this.keys.indexKey(r.tenantId), json);
      const key = resourceKeyString(r);
      const prior = seen.has(key) ? seen.get(key) : stored.get(key);
      if (prior !== undefined) {
        if (prior === null) fail('this patient was erased and is not re-created');
        else if (prior.equals(mac)) this.result.unchanged++;
        else fail('conflicting duplicate id: different content under the same id');
        continue;
      }
      const dangling = r.refs.find((ref) => {
        const k = resourceKeyString({ tenantId: r.tenantId, type: ref.type, id: ref.id });
        return !seen.has(k) && !stored.get(k);
      });
      if (dangling) {
        fail(`reference ${dangling.type}/${dangling.id} does not resolve in tenant '${r.tenantId}'`);
        continue;
      }
      seen.set(key, mac);
      accepted.push({ record: r, json, mac });
    }
    return { accepted, errors };
  }

  /** Encrypts accepted records and writes them in one transaction. */
  private async write(accepted: Accepted[]): Promise<void> {
    const now = this.clock.now().toISOString();
    const patients: PatientRow[] = [];
    const resources: ResourceRow[] = [];
    const newDeks = new Map<string, Buffer>();
    const dekBytes = randomBytes(32 * accepted.length);
    let d = 0;
    for (const { record: r, json, mac } of accepted) {
      if (r.type !== 'Patient' || !r.identity) continue;
      const kek = await this.keys.activeKek(r.tenantId);
      const dek = dekBytes.subarray(32 * d, 32 * ++d);
      newDeks.set(resourceKeyString({ tenantId: r.tenantId, type: 'Patient', id: r.id }), dek);
      const indexKey = await this.keys.indexKey(r.tenantId);
      patients.push({
        tenantId: r.tenantId,
        id: r.id,
        version: 1,
        kekVersion: kek.version,
        wrappedDek: this.keys.wrapDek(kek, r.tenantId, r.id, dek),
        bsnIndex: blindIndex(indexKey, 'bsn', r.identity.bsn),
        nameIndex: blindIndex(indexKey, 'name-birthdate', nameBirthDateKey(r.identity.family, r.identity.birthDate)),
        contentMac: mac,
        identity: seal(dek, json, recordAad(r.tenantId, 'Patient', r.id, 1, Section.Identity)),
        createdAt: now,
        erasedAt: null,
      });
    }
    const deks = await this.patientDeks(accepted, newDeks);
    for (const { record: r, json, mac } of accepted) {
      if (r.type === 'Patient') continue;
      const dek = deks.get(resourceKeyString({ tenantId: r.tenantId, type: 'Patient', id: r.patientId }));
      if (!dek) throw new IntegrityViolation('patient key missing for a validated record');
      resources.push({
        tenantId: r.tenantId,
        type: r.type,
        id: r.id,
        version: 1,
        patientId: r.patientId,
        status: r.status,
        code: r.code,
        effectiveDate: r.effectiveDate,
        contentMac: mac,
        body: seal(dek, json, recordAad(r.tenantId, r.type, r.id, 1, Section.Body)),
        createdAt: now,
      });
    }
    await this.store.writeBatch({ patients, resources });
  }

  /** DEKs of the patients the clinical records in this unit belong to: new ones, else unwrapped from the store. */
  private async patientDeks(accepted: Accepted[], newDeks: Map<string, Buffer>): Promise<Map<string, Buffer>> {
    const out = new Map(newDeks);
    const wanted = new Map<string, Set<string>>();
    for (const { record: r } of accepted) {
      if (r.type === 'Patient') continue;
      const k = resourceKeyString({ tenantId: r.tenantId, type: 'Patient', id: r.patientId });
      if (out.has(k)) continue;
      let ids = wanted.get(r.tenantId);
      if (!ids) wanted.set(r.tenantId, (ids = new Set()));
      ids.add(r.patientId);
    }
    for (const [tenantId, ids] of wanted) {
      const infos = await this.store.findPatientKeys(tenantId, [...ids]);
      for (const [k, info] of infos) {
        const id = k.slice(k.lastIndexOf('\u0000') + 1);
        out.set(k, await this.keys.dek(tenantId, id, info.kekVersion, info.wrappedDek));
      }
    }
    return out;
  }
}

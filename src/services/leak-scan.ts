import { open, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidInput } from '../domain/errors.js';
import type { AccessContext } from '../domain/principal.js';
import type { AuditLog } from '../audit/audit-log.js';
import { loadLeakIndex, type CanarySource, type LeakIndex } from '../leak/leak-index.js';
import { scanLeak } from '../leak/scan-leak.js';
import { ScanWorkers, workerAvailable } from '../leak/scan-workers.js';
import { CATEGORY_NAMES } from '../leak/scan-types.js';
import type { HitColumns } from '../leak/hit-columns.js';
import type { VaultStore } from '../ports/vault-store.js';
import type { IncidentRegister } from './incident-register.js';

/**
 * `labvault leak scan`: which of the vault's patients are in a leaked dump, per controller. The
 * workers of scan-leak.ts find candidates and match them through the keyed matcher (leak-matcher.ts)
 * against the stored blind indexes; this service loads those indexes and the canary registry,
 * turns hits into the report (counts per tenant, data categories, canary hits with the copy they
 * attribute to), writes `--details` (pseudonymous ids and locations, never an identifier) and,
 * with an incident, records the matches as its in-leaked-data cohort. The scan is audited.
 */
export interface LeakScanOptions {
  incident?: string;
  details?: string;
  workers?: number;
  onProgress?: (done: number, total: number) => void;
  /** The scan engine (src/leak/scan-engine.ts); the benchmark runs both. The result does not depend on it. */
  engine?: 'js' | 'native';
}

export interface LeakScanReport {
  bytes: number;
  seconds: number;
  gb_per_s: number;
  files: number;
  candidates: number;
  matched: { patients: number; by_tenant: Record<string, number> };
  /** Per tenant, the data categories seen in the records around its matched patients. */
  categories: Record<string, string[]>;
  canaries: { tenant: string; set: string; copy_kind: string; copy_id: string | null; patients: number; locations: number }[];
  unmatched_valid_bsn: number;
  skipped: { file: string; reason: string }[];
  incident: string | null;
}

const MATCHER = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.join(here, '../leak/leak-matcher.js');
})();

export class LeakScanService {
  constructor(
    private readonly store: Pick<VaultStore, 'listTenants' | 'listBlindIndexes'>,
    private readonly indexKey: (tenant: string) => Promise<Buffer>,
    private readonly canaries: () => Promise<CanarySource[]>,
    private readonly register: IncidentRegister,
    private readonly audit: AuditLog,
  ) {}

  async scan(ctx: AccessContext, paths: readonly string[], opts: LeakScanOptions = {}): Promise<LeakScanReport> {
    this.register.requireKeeper(ctx);
    if (paths.length === 0) throw new InvalidInput('leak scan: name at least one file or directory');
    for (const p of paths)
      if (!(await stat(p).catch(() => null))) throw new InvalidInput(`leak scan: no such file or directory: ${path.basename(p)}`);
    // Checked before the scan (which may take minutes), and the file is never overwritten.
    if (opts.details !== undefined && (await stat(opts.details).catch(() => null))) throw detailsExist(opts.details);
    if (opts.incident !== undefined) await this.register.get(opts.incident);
    // The workers start while the indexes load (they need the matcher only once they scan).
    const started = workerAvailable() ? new ScanWorkers(opts.workers ?? availableParallelism(), { engine: opts.engine }) : null;
    let index: LeakIndex;
    let r: Awaited<ReturnType<typeof scanLeak>>;
    try {
      index = await loadLeakIndex(this.store, this.indexKey, await this.canaries());
      r = await scanLeak({
        paths: [...paths],
        matcher: { module: MATCHER, data: index.data },
        ...(started ? { started } : {}),
        ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        ...(opts.engine ? { engine: opts.engine } : {}),
      });
    } finally {
      await started?.close();
    }
    const report = summarise(r, index);
    if (opts.details) await writeDetails(opts.details, r.hits, index);
    await this.audit.record([
      this.audit.event(ctx, {
        action: 'leak.scan',
        detail: {
          files: r.files,
          bytes: r.bytes,
          matched: report.matched.patients,
          canaries: report.canaries.length,
          incident: opts.incident ?? null,
        },
      }),
    ]);
    if (opts.incident !== undefined) {
      const leaked: Record<string, string[]> = {};
      for (let i = 0; i < r.hits.length; i++) {
        const ord = r.hits.patient[i] as number;
        const id = index.ids[ord];
        if (id === undefined || index.canaries.has(ord)) continue;
        (leaked[index.tenants[index.tenantOf[ord] as number] as string] ??= []).push(id);
      }
      await this.register.recordLeak(ctx, opts.incident, leaked, { files: r.files, bytes: r.bytes, matched: report.matched.patients });
    }
    return { ...report, incident: opts.incident ?? null };
  }
}

function summarise(r: Awaited<ReturnType<typeof scanLeak>>, index: LeakIndex): Omit<LeakScanReport, 'incident'> {
  // Patients counted once per ordinal (an ordinal is one tenant's patient), per tenant number: a
  // flag per ordinal, not a Set of ids per tenant (a scan against a large vault has hundreds of
  // thousands of hits).
  const seen = new Uint8Array(index.ids.length);
  const people = new Array<number>(index.tenants.length).fill(0);
  const cats = new Array<number | undefined>(index.tenants.length).fill(undefined);
  const canaryHits = new Map<
    string,
    { tenant: string; set: string; kind: string; copy: string | null; patients: Set<string>; locations: number }
  >();
  const hits = r.hits;
  for (let i = 0; i < hits.length; i++) {
    const ord = hits.patient[i] as number;
    // An ordinal the index does not hold (none should come) is nobody's.
    const id = index.ids[ord];
    if (id === undefined) continue;
    const t = index.tenantOf[ord] as number;
    const mark = index.canaries.size === 0 ? undefined : index.canaries.get(ord);
    if (mark) {
      let c = canaryHits.get(mark.set);
      if (!c)
        canaryHits.set(
          mark.set,
          (c = {
            tenant: index.tenants[t] as string,
            set: mark.set,
            kind: mark.copyKind,
            copy: mark.copyId,
            patients: new Set(),
            locations: 0,
          }),
        );
      c.patients.add(id);
      // A location found by BSN and by name + birth date is one location (one line of --details).
      if (!(i > 0 && hits.sameLocation(i - 1, i))) c.locations++;
      continue;
    }
    if (seen[ord] === 0) {
      seen[ord] = 1;
      people[t] = (people[t] as number) + 1;
    }
    cats[t] = (cats[t] ?? 0) | (hits.categories[i] as number);
  }
  // index.tenants is sorted: the report's tenants come in that order.
  const byTenant: Record<string, number> = {};
  const categories: Record<string, string[]> = {};
  index.tenants.forEach((tenant, t) => {
    if ((people[t] as number) > 0) byTenant[tenant] = people[t] as number;
    const mask = cats[t];
    if (mask !== undefined) categories[tenant] = CATEGORY_NAMES.filter((_, bit) => (mask & (1 << bit)) !== 0);
  });
  const seconds = Math.max(r.seconds, 1e-9);
  return {
    bytes: r.bytes,
    seconds: Math.round(r.seconds * 1000) / 1000,
    gb_per_s: Math.round((r.bytes / 1e9 / seconds) * 1000) / 1000,
    files: r.files,
    candidates: r.candidates,
    matched: { patients: Object.values(byTenant).reduce((n, x) => n + x, 0), by_tenant: byTenant },
    categories,
    canaries: [...canaryHits.values()]
      .sort((a, b) => (a.set < b.set ? -1 : 1))
      .map((c) => ({
        tenant: c.tenant,
        set: c.set,
        copy_kind: c.kind,
        copy_id: c.copy,
        patients: c.patients.size,
        locations: c.locations,
      })),
    unmatched_valid_bsn: r.unmatchedValidBsns,
    skipped: r.skipped,
  };
}

/**
 * One JSON line per matched patient and location (CLI.md): a location is where a kind of evidence
 * ("bsn", "name-date") first names the patient in a file, and its line lists the kinds that first
 * do so there (a BSN names one person, a family name and birth date may be a namesake).
 * Pseudonymous ids only; 0600, never over a file.
 */
function detailsExist(file: string): InvalidInput {
  return new InvalidInput(`leak scan: the details file already exists, not overwritten: ${path.basename(file)}`);
}

const EVIDENCE = ['"bsn"', '"name-date"', '"bsn","name-date"'] as const;

async function writeDetails(file: string, hits: HitColumns, index: LeakIndex): Promise<void> {
  const fh = await open(file, 'wx', 0o600).catch((e: unknown) => {
    throw (e as { code?: unknown }).code === 'EEXIST' ? detailsExist(file) : e;
  });
  try {
    // Each patient's and file's JSON is made once (a scan against a large vault writes hundreds of
    // thousands of lines for tens of thousands of patients in a few files).
    const patientJson = new Map<number, string>();
    const fileJson = hits.files.map((f) => JSON.stringify(f));
    let buf = '';
    for (let i = 0; i < hits.length;) {
      const ord = hits.patient[i] as number;
      const f = hits.file[i] as number;
      const line = hits.line[i] as number;
      let kinds = 1 << (hits.kind[i] as number);
      let j = i + 1;
      while (j < hits.length && hits.sameLocation(i, j)) kinds |= 1 << (hits.kind[j++] as number);
      i = j;
      const id = index.ids[ord];
      if (id === undefined) continue;
      let head = patientJson.get(ord);
      if (head === undefined) {
        const tenant = index.tenants[index.tenantOf[ord] as number] as string;
        head = `{"tenant":${JSON.stringify(tenant)},"patient":${JSON.stringify(id)}`;
        patientJson.set(ord, head);
      }
      const mark = index.canaries.get(ord);
      const canary = mark ? `,"canary":${JSON.stringify(mark.set)}` : '';
      buf += `${head},"file":${fileJson[f] as string},"line":${line},"evidence":[${EVIDENCE[kinds - 1] as string}]${canary}}\n`;
      if (buf.length > 1 << 20) {
        await fh.write(buf);
        buf = '';
      }
    }
    await fh.write(buf);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

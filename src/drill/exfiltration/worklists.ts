import path from 'node:path';
import { BSN_SYSTEM } from '../../domain/bsn.js';
import { TENANT_TAG_SYSTEM } from '../../domain/tenant.js';
import { readLines } from '../../services/ingest-files.js';

/**
 * What the drill's clients know of the synthetic lab, read from its NDJSON files before they are
 * deleted and kept only in this process's memory: the ids a worklist or a thief's list would hold,
 * the BSNs a thief with a partial list would try, and which patients are current work. "Recent"
 * and "old" are measured back from each tenant's newest order, as detection measures them.
 */
export interface LabPatient {
  id: string;
  tenant: string;
  bsn: string;
}

/** One page of a controller's poll of a day's results: the subjects of up to 10 reports. */
export type ResultPage = readonly string[];

export interface TenantWork {
  tenant: string;
  /** yyyy-mm-dd of the tenant's newest ServiceRequest. */
  newestOrder: string;
  /** Every Patient id of the tenant. */
  patients: string[];
  /** Patients with an order in the last `recentDays` before the newest: what staff work on now. */
  recent: string[];
  /** Patients with no order in the explanation window: nobody's current work. */
  old: string[];
  /** The last `pollDays` calendar days up to the newest report, oldest first, with their result pages. */
  resultDays: { day: string; pages: ResultPage[] }[];
}

export interface LabWorklists {
  patients: LabPatient[];
  tenants: Map<string, TenantWork>;
}

export interface WorklistOptions {
  /** Orders this recent (days before the tenant's newest) make a patient current work. */
  recentDays: number;
  /** Orders this recent explain an access (detection's `unexplained.recentDays`). */
  explainDays: number;
  /** Days of results a controller's system polls. */
  pollDays: number;
  /** `_count` of the controller's poll. */
  pageSize: number;
}

const DAY_MS = 86_400_000;

interface Tagged {
  id: string;
  meta?: { tag?: { system?: string; code?: string }[] };
  subject?: { reference?: string };
  identifier?: { system?: string; value?: string }[];
  authoredOn?: string;
  effectiveDateTime?: string;
  issued?: string;
}

export async function readWorklists(labDir: string, o: WorklistOptions): Promise<LabWorklists> {
  const patients: LabPatient[] = [];
  for await (const r of records(path.join(labDir, 'Patient.ndjson'))) {
    const bsn = r.identifier?.find((i) => i.system === BSN_SYSTEM)?.value ?? '';
    patients.push({ id: r.id, tenant: tenantOf(r), bsn });
  }
  // Newest order day per tenant and per (tenant, patient).
  const newest = new Map<string, string>();
  const lastOrder = new Map<string, string>();
  for await (const r of records(path.join(labDir, 'ServiceRequest.ndjson'))) {
    const day = r.authoredOn?.slice(0, 10);
    const subject = subjectOf(r);
    if (day === undefined || subject === null) continue;
    const t = tenantOf(r);
    if ((newest.get(t) ?? '') < day) newest.set(t, day);
    const key = `${t}\u0000${subject}`;
    if ((lastOrder.get(key) ?? '') < day) lastOrder.set(key, day);
  }
  const reports = new Map<string, { day: string; id: string; subject: string }[]>();
  for await (const r of records(path.join(labDir, 'DiagnosticReport.ndjson'))) {
    const day = (r.effectiveDateTime ?? r.issued)?.slice(0, 10);
    const subject = subjectOf(r);
    if (day === undefined || subject === null) continue;
    const t = tenantOf(r);
    let list = reports.get(t);
    if (!list) reports.set(t, (list = []));
    list.push({ day, id: r.id, subject });
  }

  const tenants = new Map<string, TenantWork>();
  for (const [tenant, newestOrder] of newest) {
    const recentFrom = shift(newestOrder, -o.recentDays);
    const explainFrom = shift(newestOrder, -o.explainDays);
    const w: TenantWork = { tenant, newestOrder, patients: [], recent: [], old: [], resultDays: [] };
    for (const p of patients) {
      if (p.tenant !== tenant) continue;
      w.patients.push(p.id);
      const last = lastOrder.get(`${tenant}\u0000${p.id}`) ?? '';
      if (last >= recentFrom) w.recent.push(p.id);
      else if (last < explainFrom) w.old.push(p.id);
    }
    const list = reports.get(tenant) ?? [];
    const lastDay = list.reduce((m, r) => (r.day > m ? r.day : m), newestOrder);
    for (let k = o.pollDays - 1; k >= 0; k--) {
      const day = shift(lastDay, -k);
      // The server pages by id within the day's matches: the same order here.
      const ofDay = list.filter((r) => r.day === day).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const pages: ResultPage[] = [];
      for (let i = 0; i < ofDay.length; i += o.pageSize) pages.push(ofDay.slice(i, i + o.pageSize).map((r) => r.subject));
      // A day with no results still costs the poller one request (an empty page).
      w.resultDays.push({ day, pages: pages.length > 0 ? pages : [[]] });
    }
    tenants.set(tenant, w);
  }
  return { patients, tenants };
}

/** yyyy-mm-dd moved by whole days. */
export function shift(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

async function* records(file: string): AsyncGenerator<Tagged> {
  for await (const { text } of readLines(file)) yield JSON.parse(text) as Tagged;
}

function tenantOf(r: Tagged): string {
  return r.meta?.tag?.find((t) => t.system === TENANT_TAG_SYSTEM)?.code ?? '';
}

function subjectOf(r: Tagged): string | null {
  const m = /^Patient\/(.+)$/.exec(r.subject?.reference ?? '');
  return m?.[1] ?? null;
}

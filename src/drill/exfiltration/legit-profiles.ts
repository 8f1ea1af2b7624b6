import type { Prng } from '../../synth/prng.js';
import { distinctOfDraws, distinctOfPoll } from './baselines.js';
import { sleepUntil, type HttpActor, type Reply } from './http-actor.js';
import type { TenantWork } from './worklists.js';

/**
 * The lab's own traffic during the drill, paced like the people and systems it stands for and
 * kept well under every cap of their role (people ≲ 10 distinct patients a minute against a cap
 * of 60; a controller's poller ≤ 50 a minute against 100, about 2400 an hour against 3000), reading
 * only current work — patients with a recent order, which detection counts as explained:
 *
 * - a controller's system polls the results of its tenant's recent days, a day at a time, page by
 *   page (`DiagnosticReport?date=ge{d}&date=le{d}&_count=10`, following `next`), cycling over the
 *   last POLL_DAYS days;
 * - a lab technician opens a current patient's specimens, then the (masked) patient;
 * - a pathologist signs out a current case: its reports, its observations, the patient.
 *
 * Every request counts in LegitStats; anything but a 2xx (a 401/403 from a containment, a 429, a
 * 5xx, a network error) is a failure of the detection engine's promise not to stop care.
 */
export interface LegitStats {
  requests: number;
  ok: number;
  statuses: Map<number, number>;
  /** Distinct patient ids the lab's clients received. */
  patients: Set<string>;
  /** Latency of every request (ms): does detection, or the attacks, slow care down? */
  latencies: number[];
}

/** One patient of one tenant (ids are per tenant; '*' principals name the tenant in X-Tenant). */
export interface Case {
  tenant: string;
  id: string;
}

/** Seconds as [min, max] of a uniform jitter. */
type Span = readonly [number, number];

export const PACE = {
  /** Between two pages of a controller's poll: at most 10 new patients a page → ≤ 50 a minute, about 2400 an hour. */
  controllerPage: [12, 18] as Span,
  /** Between two cases of a technician (one step inside a case). */
  technicianCase: [6, 12] as Span,
  /** Between two cases of a pathologist (two steps inside a case). */
  pathologistCase: [8, 16] as Span,
  /**
   * A part-time pathologist (about two cases a minute): only the slow-and-low victim has this
   * profile, so that its thief's pace (W/30 s a patient) is about three times its baseline at the
   * default 300 s window.
   */
  partTimeCase: [24, 36] as Span,
  /** Between the requests of one case. */
  step: [0.3, 1.0] as Span,
} as const;

export const POLL_DAYS = 14;
export const POLL_PAGE_SIZE = 10;

export type Profile = 'controller' | 'technician' | 'pathologist' | 'part-time-pathologist';

const mean = (s: Span): number => (s[0] + s[1]) / 2;

/** Distinct patients a principal of this profile reads per detection window, on average. */
export function expectedPerWindow(profile: Profile, windowSeconds: number, pool: { cases: number; poll: TenantWork | null }): number {
  switch (profile) {
    case 'controller': {
      const pages = pool.poll?.resultDays.flatMap((d) => d.pages) ?? [];
      return distinctOfPoll(pages, windowSeconds / mean(PACE.controllerPage));
    }
    case 'technician':
      return distinctOfDraws(pool.cases, windowSeconds / (mean(PACE.technicianCase) + mean(PACE.step)));
    case 'pathologist':
      return distinctOfDraws(pool.cases, windowSeconds / (mean(PACE.pathologistCase) + 2 * mean(PACE.step)));
    case 'part-time-pathologist':
      return distinctOfDraws(pool.cases, windowSeconds / (mean(PACE.partTimeCase) + 2 * mean(PACE.step)));
  }
}

export async function controllerLoop(client: HttpActor, work: TenantWork, until: number, prng: Prng, stats: LegitStats): Promise<void> {
  const days = work.resultDays.map((d) => d.day);
  if (days.length === 0) return;
  let d = prng.int(days.length);
  await sleepUntil(jitter(PACE.controllerPage, prng), until);
  while (Date.now() < until) {
    const day = days[d] as string;
    let next: string | null = `/fhir/DiagnosticReport?date=ge${day}&date=le${day}&_count=${POLL_PAGE_SIZE}`;
    while (next !== null && Date.now() < until) {
      const r = count(stats, await client.get(next));
      next = ok(r) ? r.next : null;
      await sleepUntil(jitter(PACE.controllerPage, prng), until);
    }
    d = (d + 1) % days.length;
  }
}

export async function technicianLoop(
  client: HttpActor,
  cases: readonly Case[],
  until: number,
  prng: Prng,
  stats: LegitStats,
): Promise<void> {
  if (cases.length === 0) return;
  await sleepUntil(jitter(PACE.technicianCase, prng), until);
  while (Date.now() < until) {
    const c = cases[prng.int(cases.length)] as Case;
    count(stats, await client.get(`/fhir/Specimen?patient=${encodeURIComponent(c.id)}`, c.tenant));
    await sleepUntil(jitter(PACE.step, prng), until);
    if (Date.now() >= until) break;
    count(stats, await client.get(`/fhir/Patient/${encodeURIComponent(c.id)}`, c.tenant));
    await sleepUntil(jitter(PACE.technicianCase, prng), until);
  }
}

export async function pathologistLoop(
  client: HttpActor,
  cases: readonly Case[],
  until: number,
  prng: Prng,
  stats: LegitStats,
): Promise<void> {
  if (cases.length === 0) return;
  await sleepUntil(jitter(PACE.pathologistCase, prng), until);
  while (Date.now() < until) {
    const c = cases[prng.int(cases.length)] as Case;
    const id = encodeURIComponent(c.id);
    const steps = [`/fhir/DiagnosticReport?patient=${id}`, `/fhir/Observation?patient=${id}`, `/fhir/Patient/${id}`];
    for (const [i, p] of steps.entries()) {
      if (Date.now() >= until) break;
      count(stats, await client.get(p, c.tenant));
      await sleepUntil(jitter(i < steps.length - 1 ? PACE.step : PACE.pathologistCase, prng), until);
    }
  }
}

export function jitter(s: Span, prng: Prng): number {
  return (s[0] + (s[1] - s[0]) * prng.next()) * 1000;
}

function ok(r: Reply): boolean {
  return r.status >= 200 && r.status < 300;
}

function count(stats: LegitStats, r: Reply): Reply {
  stats.requests++;
  stats.latencies.push(r.ms);
  if (ok(r)) {
    stats.ok++;
    for (const p of r.patients) stats.patients.add(p);
  }
  stats.statuses.set(r.status, (stats.statuses.get(r.status) ?? 0) + 1);
  return r;
}

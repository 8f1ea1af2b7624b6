import { DEFAULT_DETECTION } from '../../detection/detection-config.js';
import { Prng } from '../../synth/prng.js';
import { AttackTally } from './attack-tally.js';
import { bsnEnumeration, pagingSearch, perPatientReads, slowAndLow } from './attacks.js';
import { canaryTouch } from './canary-touch.js';
import { currentCases, type Member } from './cast.js';
import { HttpActor } from './http-actor.js';
import { controllerLoop, pathologistLoop, technicianLoop, type Case, type LegitStats } from './legit-profiles.js';
import type { LabWorklists } from './worklists.js';

/**
 * The run: the lab's traffic for 3 × W seconds and, started with it, every attack. Attacks end at
 * their first refusal (plus a few confirming tries) or when the run ends; the slow-and-low thief
 * also after 1000 patients. Legit clients come from 127.0.0.1, each attacker from its own
 * 127.0.0.k (k ≥ 10), so blocking a thief's address cannot touch the lab's own.
 */
export interface AttackRun {
  name: string;
  /** The stolen principals it used. */
  principals: string[];
  role: string;
  source_ip: string;
  patients_exposed: number;
  seconds_to_containment: number | null;
  requests: number;
  /** Resources received in 2xx answers after the first refusal (a leak through a containment). */
  records_after_refusal: number;
  /** Attack-specific figures (canary-touch, several-accounts, slow-and-low). */
  extra: Record<string, unknown>;
  /** Per account, for several-accounts. */
  accounts?: { principal: string; role: string; source_ip: string; patients_exposed: number; seconds_to_containment: number | null }[];
}

export interface RunInput {
  base: string;
  members: readonly Member[];
  lab: LabWorklists;
  canary: { tenant: string; id: string } | null;
  windowSeconds: number;
  log: (s: string) => void;
}

export interface RunOutput {
  attacks: AttackRun[];
  /** Attacks this lab is too small to run, with why. */
  skipped: string[];
  legit: LegitStats;
  seconds: number;
}

const MAX_SLOW_PATIENTS = 1000;
const PER_PATIENT_IN_FLIGHT = 8;
const ACCOUNT_IN_FLIGHT = 4;
const FIRST_ATTACK_ADDRESS = 10;

export async function runScenario(i: RunInput): Promise<RunOutput> {
  const started = Date.now();
  const until = started + 3 * i.windowSeconds * 1000;
  const prng = new Prng(7);
  const actors: HttpActor[] = [];
  let nextAddress = FIRST_ATTACK_ADDRESS;
  const actor = (m: Member, localAddress: string, inFlight = 1): HttpActor => {
    const a = new HttpActor({ base: i.base, token: m.token, purpose: m.purpose, localAddress, inFlight });
    actors.push(a);
    return a;
  };
  const victim = (attack: string): Member[] => i.members.filter((m) => m.attack === attack);
  const cases = currentCases(i.lab);

  const legit: LegitStats = { requests: 0, ok: 0, statuses: new Map(), patients: new Set(), latencies: [] };
  const legitRuns = i.members
    .filter((m) => m.attack === null)
    .map((m) => {
      const a = actor(m, '127.0.0.1');
      const p = new Prng(prng.uint32());
      if (m.profile === 'controller') {
        const work = i.lab.tenants.get(m.tenant ?? '');
        return work ? controllerLoop(a, work, until, p, legit) : Promise.resolve();
      }
      return m.profile === 'technician' ? technicianLoop(a, cases, until, p, legit) : pathologistLoop(a, cases, until, p, legit);
    });

  const runs: Promise<AttackRun>[] = [];
  const single = (
    name: string,
    inFlight: number,
    body: (a: HttpActor, t: AttackTally) => Promise<Record<string, unknown> | void>,
  ): void => {
    const m = victim(name)[0];
    if (!m) return;
    const ip = `127.0.0.${nextAddress++}`;
    const a = actor(m, ip, inFlight);
    const t = new AttackTally(name, until, i.log);
    runs.push(
      (async (): Promise<AttackRun> => {
        const extra = (await body(a, t)) ?? {};
        return { name, principals: [m.id], role: m.role, source_ip: ip, ...figures(t), extra };
      })(),
    );
  };

  const allIds = i.lab.patients.map((p) => p.id);
  single('paging-search', 1, (a, t) => pagingSearch(a, t));
  single('per-patient-reads', PER_PATIENT_IN_FLIGHT, (a, t) => perPatientReads(a, allIds, PER_PATIENT_IN_FLIGHT, t));
  // An insider's pattern: only current patients (a recent order explains each one) at full speed.
  // The order book cannot tell this from work; the role's caps must stop it. A lab too small to
  // have twice the per-minute cap in current patients cannot run it (then it is listed as skipped).
  const current = shuffled(cases, new Prng(prng.uint32())).map((c) => c.id);
  const cap = DEFAULT_DETECTION.roles.pathologist.patientsPerMinute;
  const skipped: string[] = [];
  if (current.length >= 2 * cap)
    single('current-patients', PER_PATIENT_IN_FLIGHT, (a, t) => perPatientReads(a, current, PER_PATIENT_IN_FLIGHT, t));
  else skipped.push(`current-patients: only ${current.length} current patients, fewer than twice the per-minute cap (${cap})`);
  // The thief's partial list is of one tenant's people (the largest), and it names that tenant.
  const bsnTenant = [...i.lab.tenants.values()].sort((a, b) => b.patients.length - a.patients.length)[0]?.tenant ?? '';
  single('bsn-enumeration', 1, async (a, t) => {
    const bsns = (tenant?: string): string[] =>
      i.lab.patients.filter((p) => p.bsn !== '' && (tenant === undefined || p.tenant === tenant)).map((p) => p.bsn);
    await bsnEnumeration(a, bsnTenant, bsns(bsnTenant), bsns(), new Prng(prng.uint32()), t);
    return { tenant: bsnTenant };
  });
  const slowPaceMs = (i.windowSeconds * 1000) / 30;
  single('slow-and-low', 1, async (a, t) => {
    await slowAndLow(a, shuffled(oldCases(i.lab), new Prng(prng.uint32())), slowPaceMs, MAX_SLOW_PATIENTS, t);
    const baseline = victim('slow-and-low')[0]?.expected ?? 0;
    return { pace_seconds: slowPaceMs / 1000, max_patients: MAX_SLOW_PATIENTS, baseline_per_window: Math.round(baseline * 10) / 10 };
  });
  if (i.canary) {
    const canary = i.canary;
    const cover = (i.lab.tenants.get(canary.tenant)?.recent ?? []).map((id) => ({ tenant: canary.tenant, id }));
    single('canary-touch', 1, async (a, t) => {
      const o = await canaryTouch(a, cover, canary.id, Math.max(1000, (i.windowSeconds * 1000) / 60), t);
      return { records_after_touch: o.recordsAfterTouch, canary_read_status: o.canaryStatus, seconds_from_touch: o.secondsFromTouch };
    });
  }
  runs.push(severalAccounts(victim('several-accounts'), i, until, allIds, () => `127.0.0.${nextAddress++}`, actor));

  const ticker = setInterval(
    () =>
      i.log(`legit: ${legit.requests} requests, ${legit.requests - legit.ok} failed; ${Math.round((until - Date.now()) / 1000)} s to go`),
    Math.max(10, i.windowSeconds / 3) * 1000,
  );
  try {
    const attacks = await Promise.all(runs);
    await Promise.all(legitRuns);
    return { attacks, legit, seconds: (Date.now() - started) / 1000, skipped };
  } finally {
    clearInterval(ticker);
    for (const a of actors) a.close();
  }
}

/** Five stolen accounts at once, each reading its own share of patients at full speed from its own address. */
async function severalAccounts(
  members: readonly Member[],
  i: RunInput,
  until: number,
  allIds: readonly string[],
  address: () => string,
  actor: (m: Member, ip: string, inFlight: number) => HttpActor,
): Promise<AttackRun> {
  const everywhere = members.filter((m) => m.tenant === null);
  const runs = members.map(async (m) => {
    const ip = address();
    const share =
      m.tenant === null
        ? allIds.filter((_, k) => k % everywhere.length === everywhere.indexOf(m))
        : i.lab.patients.filter((p) => p.tenant === m.tenant).map((p) => p.id);
    const t = new AttackTally(`several-accounts (${m.role} at ${ip})`, until, i.log);
    await perPatientReads(actor(m, ip, ACCOUNT_IN_FLIGHT), share, ACCOUNT_IN_FLIGHT, t);
    return { m, ip, t };
  });
  const done = await Promise.all(runs);
  const exposed = new Set<string>();
  for (const d of done) for (const p of d.t.exposed) exposed.add(p);
  const times = done.map((d) => d.t.secondsToContainment());
  return {
    name: 'several-accounts',
    principals: members.map((m) => m.id),
    role: [...new Set(members.map((m) => m.role))].join(','),
    source_ip: done.map((d) => d.ip).join(','),
    patients_exposed: exposed.size,
    // Until the last of them was stopped (null if any never was).
    seconds_to_containment: times.some((s) => s === null) ? null : Math.max(0, ...(times as number[])),
    requests: done.reduce((n, d) => n + d.t.requests, 0),
    records_after_refusal: done.reduce((n, d) => n + d.t.recordsAfterRefusal, 0),
    extra: { accounts_count: members.length, total_patients_exposed: exposed.size },
    accounts: done.map((d) => ({
      principal: d.m.id,
      role: d.m.role,
      source_ip: d.ip,
      patients_exposed: d.t.exposed.size,
      seconds_to_containment: d.t.secondsToContainment(),
    })),
  };
}

function figures(t: AttackTally): Pick<AttackRun, 'patients_exposed' | 'seconds_to_containment' | 'requests' | 'records_after_refusal'> {
  return {
    patients_exposed: t.exposed.size,
    seconds_to_containment: t.secondsToContainment(),
    requests: t.requests,
    records_after_refusal: t.recordsAfterRefusal,
  };
}

/** Patients of every tenant with no order in the explanation window. */
function oldCases(lab: LabWorklists): Case[] {
  return [...lab.tenants.values()].flatMap((w) => w.old.map((id) => ({ tenant: w.tenant, id })));
}

function shuffled<T>(xs: readonly T[], prng: Prng): T[] {
  const out = [...xs];
  for (let k = out.length - 1; k > 0; k--) {
    const j = prng.int(k + 1);
    [out[k], out[j]] = [out[j] as T, out[k] as T];
  }
  return out;
}

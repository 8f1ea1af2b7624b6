import type { Vault } from '../../compose.js';
import type { AccessContext, Role } from '../../domain/principal.js';
import { Prng } from '../../synth/prng.js';
import { seedBaselines } from './baselines.js';
import { expectedPerWindow, type Case, type Profile } from './legit-profiles.js';
import type { LabWorklists } from './worklists.js';

/**
 * The drill's principals: the lab's own (one controller system per tenant, technicians and
 * pathologists who act for every tenant) and the victims whose credentials are stolen — separate
 * principals of the same roles, with the same kind of history, so the thief holds a credential that
 * looks like any other. Every one of them gets baselines (see baselines.ts).
 */
export interface Member {
  id: string;
  token: string;
  role: Role;
  purpose: string;
  profile: Profile;
  /** A controller's one tenant; null for principals of every tenant ('*'). */
  tenant: string | null;
  /** The attack that uses the stolen credential; null for the lab's own principals. */
  attack: string | null;
  /** Expected distinct patients per detection window, its baselines' centre. */
  expected: number;
}

export const TECHNICIANS = 6;
export const PATHOLOGISTS = 4;

/** Victims: which attack, which role, which tenant for a controller. */
const VICTIMS: readonly { attack: string; profile: Profile; tenant?: string }[] = [
  { attack: 'paging-search', profile: 'controller', tenant: 'screening' },
  { attack: 'per-patient-reads', profile: 'pathologist' },
  { attack: 'current-patients', profile: 'pathologist' },
  { attack: 'bsn-enumeration', profile: 'pathologist' },
  { attack: 'slow-and-low', profile: 'part-time-pathologist' },
  { attack: 'several-accounts', profile: 'pathologist' },
  { attack: 'several-accounts', profile: 'pathologist' },
  { attack: 'several-accounts', profile: 'technician' },
  { attack: 'several-accounts', profile: 'technician' },
  { attack: 'several-accounts', profile: 'controller', tenant: 'hospital-west' },
  { attack: 'canary-touch', profile: 'controller', tenant: 'screening' },
];

const ROLE: Record<Profile, Role> = {
  controller: 'controller-system',
  technician: 'lab-technician',
  pathologist: 'pathologist',
  'part-time-pathologist': 'pathologist',
};

/** Current cases of every tenant: the worklist of technicians and pathologists. */
export function currentCases(lab: LabWorklists): Case[] {
  return [...lab.tenants.values()].flatMap((w) => w.recent.map((id) => ({ tenant: w.tenant, id })));
}

export async function createCast(
  vault: Vault,
  operator: AccessContext,
  lab: LabWorklists,
  o: { windowSeconds: number; seed: number },
): Promise<Member[]> {
  const cases = currentCases(lab).length;
  const tenants = [...lab.tenants.keys()].sort();
  const wanted: { profile: Profile; tenant: string | null; attack: string | null; name: string }[] = [
    ...tenants.map((t) => ({ profile: 'controller' as const, tenant: t, attack: null, name: `drill results poller ${t}` })),
    ...Array.from({ length: TECHNICIANS }, (_, i) => ({
      profile: 'technician' as const,
      tenant: null,
      attack: null,
      name: `drill technician ${i + 1}`,
    })),
    ...Array.from({ length: PATHOLOGISTS }, (_, i) => ({
      profile: 'pathologist' as const,
      tenant: null,
      attack: null,
      name: `drill pathologist ${i + 1}`,
    })),
    ...VICTIMS.map((v, i) => ({
      profile: v.profile,
      // A controller victim of a tenant the lab does not have (a tiny lab) takes the first one.
      tenant: v.profile === 'controller' ? (tenants.includes(v.tenant ?? '') ? (v.tenant as string) : (tenants[0] as string)) : null,
      attack: v.attack,
      name: `drill victim ${i + 1} ${v.attack}`,
    })),
  ];
  const prng = new Prng(o.seed);
  const alpha = vault.config.detection.baseline.alpha;
  const now = vault.clock.now();
  const members: Member[] = [];
  const rows = [];
  for (const w of wanted) {
    const role = ROLE[w.profile];
    const purpose = w.tenant === 'screening' ? 'PUBHLTH' : 'TREAT';
    const created = await vault.principals.create(operator, {
      name: w.name,
      role,
      tenants: w.tenant === null ? ['*'] : [w.tenant],
      purpose,
    });
    const expected = expectedPerWindow(w.profile, o.windowSeconds, {
      cases,
      poll: w.tenant === null ? null : (lab.tenants.get(w.tenant) ?? null),
    });
    members.push({
      id: created.principal.id,
      token: created.token,
      role,
      purpose,
      profile: w.profile,
      tenant: w.tenant,
      attack: w.attack,
      expected,
    });
    rows.push(...seedBaselines(created.principal.id, expected, { windowSeconds: o.windowSeconds, alpha, prng, now }));
  }
  await vault.store.saveBaselines(rows);
  return members;
}

import { auditEvent, type AuditAction, type AuditEvent, type AuditFacts, type DataCategory } from '../domain/audit-event.js';
import type { AccessContext, Role } from '../domain/principal.js';
import { InvalidInput } from '../domain/errors.js';
import { bsnFreeId } from '../domain/validate-resource.js';
import { mix32 } from '../synth/mix32.js';
import { Prng } from '../synth/prng.js';

/**
 * Synthetic audit traffic with a planted incident, for `bench scope`: `events` events spread evenly
 * over `days` (staff of many tenants reading one or a few patients each, searches, refused reads,
 * operator events without an address, failed logins), among them `attackerEvents` reads by a stolen
 * staff account from one outside address within a two-hour night window. The generator keeps, apart
 * from any scoping code, which patients each scope query must find: that is what the bench checks.
 * Ids have the shapes the vault writes (pat-xxxx-xxxx-…, UUID request ids), so events have their
 * real size, which is what a full scan of the log pays for.
 */
export interface IncidentTruth {
  /** The stolen account, the thief's address and the attack window (ISO, from inclusive, to exclusive). */
  principal: string;
  ip: string;
  from: string;
  to: string;
  /** Per tenant, the patients whose data reached the thief (its refused reads released nothing). */
  attacker: Map<string, Set<string>>;
  /** Per tenant, the patients any allowed data-releasing event in [from, to) released: the thief's and the staff's. */
  window: Map<string, Set<string>>;
  /** Per tenant, the patients the stolen account's allowed data-releasing events released, its owner's included, at any time. */
  account: Map<string, Set<string>>;
}

const TENANTS = [
  'screening',
  'hospital-west',
  'hospital-south',
  'gp-network',
  'clinic-private',
  'umc-north',
  'hospital-east',
  'gp-centre',
  'clinic-oost',
  'regio-lab',
  'midwife-practice',
  'public-health',
];
const STAFF = 400;
const POOL = 250_000;
const STOLEN = 7;
const THIEF_IP = '203.0.113.66';
/** Staff addresses that share the thief's prefix: an origin filter must tell them apart. */
const NEAR_MISSES = new Map([
  [8, '203.0.113.6'],
  [9, '203.0.113.166'],
]);
const ROLES: Role[] = ['pathologist', 'lab-technician', 'lab-technician', 'controller-system', 'support'];
const AGENTS = ['lis-client/4.2 (Windows NT 10.0)', 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', 'hl7-bridge/2.1', 'curl/8.5.0'];
const PATIENT: DataCategory[] = ['identity', 'national-id', 'contact', 'demographics'];
const RESULTS: DataCategory[][] = [['clinical-result'], ['clinical-result', 'follow-up-advice'], ['specimen'], ['clinical-order']];
const RELEASING = new Set<AuditAction>(['patient.read', 'patient.search', 'resource.read', 'resource.search', 'resource.create']);
const DAY = 86_400_000;
const WINDOW = 2 * 3_600_000;

export class IncidentTraffic {
  readonly truth: IncidentTruth;
  private readonly prng: Prng;
  private readonly staff: AccessContext[];
  private readonly thief: AccessContext;
  private readonly start: number;
  private readonly span: number;
  private readonly windowStart: number;
  private readonly legitEvents: number;
  private legit = 0;
  private attack = 0;

  constructor(
    readonly events: number,
    readonly attackerEvents: number,
    opts: { days?: number; seed?: number } = {},
  ) {
    if (!Number.isSafeInteger(attackerEvents) || attackerEvents < 1 || attackerEvents >= events)
      throw new InvalidInput('bench scope: attacker events must be at least 1 and fewer than the events');
    this.prng = new Prng(opts.seed ?? 11);
    this.start = Date.UTC(2025, 0, 6);
    this.span = (opts.days ?? 90) * DAY;
    // A night, about two thirds into the log: 02:00–04:00 UTC.
    this.windowStart = this.start + Math.floor((opts.days ?? 90) * 0.7) * DAY + 2 * 3_600_000;
    this.legitEvents = events - attackerEvents;
    this.staff = Array.from({ length: STAFF }, (_, i) => {
      const tenants = [TENANTS[i % TENANTS.length] as string];
      if (i % 5 === 0 || i === STOLEN) tenants.push(TENANTS[(i + 1) % TENANTS.length] as string);
      const ip = NEAR_MISSES.get(i) ?? `10.${20 + (i % 30)}.${Math.floor(i / 30)}.${1 + ((i * 7) % 250)}`;
      return {
        principal: { id: `staff-${String(i).padStart(4, '0')}`, role: ROLES[i % ROLES.length] as Role, tenants },
        purpose: 'TREAT',
        origin: { ip, userAgent: AGENTS[i % AGENTS.length] as string, requestId: null },
      };
    });
    const stolen = this.staff[STOLEN] as AccessContext;
    this.thief = { ...stolen, origin: { ip: THIEF_IP, userAgent: 'python-requests/2.32.3', requestId: null } };
    this.truth = {
      principal: stolen.principal.id,
      ip: THIEF_IP,
      from: new Date(this.windowStart).toISOString(),
      to: new Date(this.windowStart + WINDOW).toISOString(),
      attacker: new Map(),
      window: new Map(),
      account: new Map(),
    };
  }

  /** The next event in log order (times never decrease); null after the last. */
  next(): AuditEvent | null {
    const tLegit = this.legit < this.legitEvents ? this.start + Math.floor((this.legit * this.span) / this.legitEvents) : Infinity;
    const tThief =
      this.attack < this.attackerEvents ? this.windowStart + Math.floor((this.attack * WINDOW) / this.attackerEvents) : Infinity;
    if (tLegit === Infinity && tThief === Infinity) return null;
    let e: AuditEvent;
    if (tThief <= tLegit) {
      e = this.thiefEvent(tThief);
      this.attack++;
      if (e.outcome === 'allowed') this.remember(this.truth.attacker, e);
    } else {
      e = this.staffEvent(tLegit);
      this.legit++;
    }
    if (e.outcome === 'allowed' && RELEASING.has(e.action)) {
      if (e.time >= this.truth.from && e.time < this.truth.to) this.remember(this.truth.window, e);
      if (e.principal.id === this.truth.principal) this.remember(this.truth.account, e);
    }
    return e;
  }

  private thiefEvent(t: number): AuditEvent {
    const p = this.prng;
    const tenant = p.pick(this.thief.principal.tenants);
    // The last 5 % after the cap: refused, and the patients named there never reached the thief.
    if (this.attack >= this.attackerEvents * 0.95)
      return this.event(this.thief, t, {
        action: 'patient.read',
        outcome: 'denied',
        tenant,
        patients: [this.patient(tenant)],
        reason: 'contained',
      });
    if (p.chance(0.1)) {
      const patients = Array.from({ length: p.between(2, 5) }, () => this.patient(tenant));
      return this.event(this.thief, t, { action: 'patient.search', tenant, patients, categories: PATIENT, records: patients.length });
    }
    return this.event(this.thief, t, { action: 'patient.read', tenant, patients: [this.patient(tenant)], categories: PATIENT, records: 1 });
  }

  private staffEvent(t: number): AuditEvent {
    const p = this.prng;
    // Failed logins from the thief's address in the hours before: not data-releasing, not in scope.
    if (t >= this.windowStart - 6 * 3_600_000 && t < this.windowStart && p.chance(0.02)) {
      const probe: AccessContext = {
        principal: { id: 'anonymous', role: 'support', tenants: [] },
        purpose: null,
        origin: this.thief.origin,
      };
      return this.event(probe, t, { action: 'auth.fail', outcome: 'denied', reason: 'unauthenticated' });
    }
    let ctx = p.pick(this.staff);
    // The account's owner is asleep while it is being used from elsewhere.
    while (ctx === this.staff[STOLEN] && t >= this.windowStart && t < this.windowStart + WINDOW) ctx = p.pick(this.staff);
    if (p.chance(0.05)) ctx = { ...ctx, origin: { ...ctx.origin, ip: `10.99.${p.int(256)}.${1 + p.int(250)}` } };
    const tenant = p.pick(ctx.principal.tenants);
    const r = p.next();
    if (r < 0.6) {
      const categories = p.pick(RESULTS);
      return this.event(ctx, t, {
        action: 'resource.read',
        tenant,
        patients: [this.patient(tenant)],
        categories,
        records: p.between(1, 4),
      });
    }
    if (r < 0.8)
      return this.event(ctx, t, { action: 'patient.read', tenant, patients: [this.patient(tenant)], categories: PATIENT, records: 1 });
    if (r < 0.86) {
      const patients = Array.from({ length: p.between(2, 5) }, () => this.patient(tenant));
      return this.event(ctx, t, { action: 'patient.search', tenant, patients, categories: PATIENT, records: patients.length });
    }
    if (r < 0.9) {
      const patients = Array.from({ length: p.between(1, 3) }, () => this.patient(tenant));
      return this.event(ctx, t, { action: 'resource.search', tenant, patients, categories: ['clinical-result'], records: patients.length });
    }
    if (r < 0.93)
      return this.event(ctx, t, {
        action: 'resource.create',
        tenant,
        patients: [this.patient(tenant)],
        categories: ['clinical-result'],
        records: 1,
      });
    if (r < 0.96)
      return this.event(ctx, t, {
        action: 'patient.read',
        outcome: 'denied',
        tenant,
        patients: [this.patient(tenant)],
        reason: 'forbidden',
      });
    if (r < 0.98) return this.event(ctx, t, { action: 'ingest.write', tenant, records: p.between(50, 2000), detail: { files: 1 } });
    if (r < 0.99) return this.event(ctx, t, { action: 'audit.read', detail: { rows: p.between(1, 500) } });
    const operator: AccessContext = {
      principal: { id: 'cli:operator', role: 'admin', tenants: ['*'] },
      purpose: 'HOPERAT',
      origin: { ip: null, userAgent: 'labvault-cli', requestId: null },
    };
    return this.event(operator, t, { action: 'keys.status' });
  }

  private event(ctx: AccessContext, t: number, facts: AuditFacts): AuditEvent {
    const requestId = ctx.origin.ip === null ? null : bsnFreeId(() => this.uuid());
    return auditEvent({ ...ctx, origin: { ...ctx.origin, requestId } }, new Date(t), { bytes: 600 + this.prng.int(4000), ...facts });
  }

  /** A patient of `tenant`'s pool; the same pool index names a different person in each tenant. */
  private patient(tenant: string): string {
    const n = this.prng.int(POOL);
    const a = mix32(n, 0x9e3779b9);
    const b = mix32(n, tenant.length * 0x85ebca6b);
    return `pat-${hex4(a >>> 16)}-${hex4(a & 0xffff)}-${hex4(b >>> 16)}-${hex4(b & 0xffff)}`;
  }

  private uuid(): string {
    const h = Array.from({ length: 4 }, () => this.prng.uint32().toString(16).padStart(8, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }

  private remember(into: Map<string, Set<string>>, e: AuditEvent): void {
    const tenant = e.tenant as string;
    let s = into.get(tenant);
    if (!s) into.set(tenant, (s = new Set()));
    for (const p of e.patients) s.add(p);
  }
}

function hex4(x: number): string {
  return x.toString(16).padStart(4, '0');
}

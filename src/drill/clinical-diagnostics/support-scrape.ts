import { AttackTally, pause } from '../exfiltration/attack-tally.js';
import type { HttpActor } from '../exfiltration/http-actor.js';

/**
 * The thief of the seed scenario: a stolen support-desk credential (role support, every tenant),
 * used to page through each controller's orders as fast as the server answers — one chain of
 * requests per controller, all at once, as someone copying out a lab's files would. Its tally per
 * tenant is the drill's own record of what left: the patients in the 2xx answers it received.
 */
export const PAGE_SIZE = 10;

export async function supportScrape(
  actor: HttpActor,
  tenants: readonly string[],
  until: number,
  log: (s: string) => void,
): Promise<Map<string, AttackTally>> {
  const tallies = new Map(tenants.map((t) => [t, new AttackTally(`support-scrape ${t}`, until, log)]));
  await Promise.all(
    tenants.map(async (tenant) => {
      const tally = tallies.get(tenant) as AttackTally;
      const first = `/fhir/ServiceRequest?_count=${PAGE_SIZE}`;
      let next = first;
      while (!tally.stopped) {
        const r = tally.note(await actor.get(next, tenant));
        if (r.status >= 200 && r.status < 300) {
          if (r.next === null) tally.finish();
          else next = r.next;
        } else await pause(r);
      }
    }),
  );
  return tallies;
}

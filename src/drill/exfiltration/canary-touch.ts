import type { AttackTally } from './attack-tally.js';
import { sleepUntil, type HttpActor } from './http-actor.js';
import type { Case } from './legit-profiles.js';

/**
 * canary-touch: a controller system's token reads a few current patients slowly (nothing odd about
 * that), then one canary — a patient no worklist, poll or order leads to — then tries to go on.
 * Nothing may come back after the canary read.
 */
export interface CanaryTouchOutcome {
  /** Status of the canary read itself (403 when detection withheld it). */
  canaryStatus: number;
  /** Seconds from the canary read to the first refusal (0 when the canary read was refused). */
  secondsFromTouch: number | null;
  /** Resources received in 2xx answers after the canary read: must be 0. */
  recordsAfterTouch: number;
}

const SLOW_READS = 4;
const READS_AFTER = 6;

export async function canaryTouch(
  actor: HttpActor,
  cover: readonly Case[],
  canaryId: string,
  gapMs: number,
  tally: AttackTally,
): Promise<CanaryTouchOutcome> {
  for (const c of cover.slice(0, SLOW_READS)) {
    if (tally.stopped) break;
    tally.note(await actor.get(`/fhir/Patient/${encodeURIComponent(c.id)}`));
    await sleepUntil(gapMs, tally.until);
  }
  const touchedAt = Date.now();
  const refusedBefore = tally.refused;
  const canary = tally.note(await actor.get(`/fhir/Patient/${encodeURIComponent(canaryId)}`));
  let recordsAfterTouch = 0;
  let refusedAt: number | null = canary.status === 401 || canary.status === 403 ? Date.now() : null;
  // It tries to go on: more patients, and the canary again.
  const after = [...cover.slice(SLOW_READS, SLOW_READS + READS_AFTER - 1).map((c) => c.id), canaryId];
  for (const id of after) {
    const r = tally.note(await actor.get(`/fhir/Patient/${encodeURIComponent(id)}`));
    if (r.status >= 200 && r.status < 300) recordsAfterTouch += r.resources;
    else if ((r.status === 401 || r.status === 403) && refusedAt === null) refusedAt = Date.now();
    await sleepUntil(200, tally.until);
  }
  tally.finish();
  return {
    canaryStatus: canary.status,
    secondsFromTouch: refusedBefore ? null : refusedAt === null ? null : Math.round(refusedAt - touchedAt) / 1000,
    recordsAfterTouch,
  };
}

import { BSN_SYSTEM, isValidBsn } from '../../domain/bsn.js';
import type { Prng } from '../../synth/prng.js';
import { pause, type AttackTally } from './attack-tally.js';
import { sleepUntil, type HttpActor } from './http-actor.js';
import type { Case } from './legit-profiles.js';

/**
 * The single-credential attacks, each run with its own stolen token from its own address, as fast
 * as its pattern allows until it is refused or its budget runs out:
 *
 * - paging-search: a controller system's token pages through every report of its tenant with the
 *   patients included (no date: the whole history);
 * - per-patient-reads: a pathologist's token reads every patient id on a list, 8 requests in flight
 *   (several-accounts runs it too, once per stolen account);
 * - bsn-enumeration: a pathologist's token turns numbers into people in one tenant — consecutive
 *   valid BSNs (11-proof), with a real one from a partial list every tenth try;
 * - slow-and-low: a pathologist's token reads one old case (patient and reports) per pace, under
 *   every per-minute cap, hoping to pass for work.
 */
export const PAGING_FIRST = '/fhir/DiagnosticReport?_count=100&_include=DiagnosticReport:subject';

export async function pagingSearch(actor: HttpActor, tally: AttackTally): Promise<void> {
  let next = PAGING_FIRST;
  while (!tally.stopped) {
    const r = tally.note(await actor.get(next));
    if (r.status >= 200 && r.status < 300) next = r.next ?? PAGING_FIRST;
    else await pause(r);
  }
}

export async function perPatientReads(actor: HttpActor, ids: readonly string[], inFlight: number, tally: AttackTally): Promise<void> {
  let i = 0;
  const worker = async (): Promise<void> => {
    while (!tally.stopped && i < ids.length) {
      const id = ids[i++] as string;
      await pause(tally.note(await actor.get(`/fhir/Patient/${encodeURIComponent(id)}`)));
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  tally.finish();
}

/**
 * Walks 9-digit numbers up from a random start, keeping those that pass the 11-proof and are not
 * the vault's (`taken`: so each of these finds nobody), every tenth try a BSN from its partial list
 * (`known`, people of `tenant`) instead. Posted as a form body, as a careful client would.
 */
export async function bsnEnumeration(
  actor: HttpActor,
  tenant: string,
  known: readonly string[],
  taken: readonly string[],
  prng: Prng,
  tally: AttackTally,
): Promise<void> {
  const inVault = new Set(taken);
  let n = 100_000_000 + prng.int(800_000_000);
  for (let k = 1; !tally.stopped; k++) {
    let bsn: string;
    if (k % 10 === 0 && known.length > 0) bsn = known[prng.int(known.length)] as string;
    else {
      do n = n >= 999_999_999 ? 100_000_000 : n + 1;
      while (!isValidBsn(String(n)) || inVault.has(String(n)));
      bsn = String(n);
    }
    await pause(tally.note(await actor.postForm('/fhir/Patient/_search', { identifier: `${BSN_SYSTEM}|${bsn}` }, tenant)));
  }
}

/**
 * One old case every `paceMs`: the patient, then its reports. Stops after `maxPatients` cases (or
 * the budget); after a refusal it tries again a few times without waiting out the pace.
 */
export async function slowAndLow(
  actor: HttpActor,
  cases: readonly Case[],
  paceMs: number,
  maxPatients: number,
  tally: AttackTally,
): Promise<void> {
  for (let i = 0; i < Math.min(cases.length, maxPatients) && !tally.stopped; i++) {
    const started = Date.now();
    const c = cases[i] as Case;
    const id = encodeURIComponent(c.id);
    const r = tally.note(await actor.get(`/fhir/Patient/${id}`, c.tenant));
    if (!tally.stopped && r.status >= 200 && r.status < 300) tally.note(await actor.get(`/fhir/DiagnosticReport?patient=${id}`, c.tenant));
    await sleepUntil(tally.refused ? 200 : paceMs - (Date.now() - started), tally.until);
  }
  tally.finish();
}

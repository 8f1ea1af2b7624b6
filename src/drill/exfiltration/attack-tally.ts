import { setTimeout as delay } from 'node:timers/promises';
import type { Reply } from './http-actor.js';

/**
 * What one attacker got: the distinct patients in the 2xx answers it received, and when it was
 * first refused (401: its credential is suspended; 403: the read that crossed the line, or its
 * address is blocked). It stops after the first refusal and a few confirming tries — a real thief
 * would try again — or when its time budget or its list runs out.
 */
const CONFIRMING_TRIES = 3;
/** Consecutive network errors after which the server is taken to be gone. */
const MAX_ERRORS_IN_A_ROW = 50;

export class AttackTally {
  readonly exposed = new Set<string>();
  requests = 0;
  /** Resources received in 2xx answers after the first refusal (a leak through a containment). */
  recordsAfterRefusal = 0;
  firstRefusal: { afterMs: number; status: number } | null = null;
  private refusals = 0;
  private errorsInARow = 0;
  private exhausted = false;
  private readonly startedAt = Date.now();

  constructor(
    readonly name: string,
    readonly until: number,
    private readonly log: (s: string) => void,
  ) {}

  note(r: Reply): Reply {
    this.requests++;
    this.errorsInARow = r.status === 0 ? this.errorsInARow + 1 : 0;
    if (r.status >= 200 && r.status < 300) {
      for (const p of r.patients) this.exposed.add(p);
      if (this.firstRefusal !== null) this.recordsAfterRefusal += r.resources;
    } else if (r.status === 401 || r.status === 403) {
      if (this.firstRefusal === null) {
        this.firstRefusal = { afterMs: Date.now() - this.startedAt, status: r.status };
        this.log(
          `${this.name}: refused (${r.status}) after ${(this.firstRefusal.afterMs / 1000).toFixed(1)} s, ${this.exposed.size} patients exposed`,
        );
      }
      this.refusals++;
    }
    return r;
  }

  /** The attacker's list ran out. */
  finish(): void {
    this.exhausted = true;
  }

  get refused(): boolean {
    return this.firstRefusal !== null;
  }

  get stopped(): boolean {
    return this.exhausted || this.refusals > CONFIRMING_TRIES || this.errorsInARow >= MAX_ERRORS_IN_A_ROW || Date.now() >= this.until;
  }

  secondsToContainment(): number | null {
    return this.firstRefusal === null ? null : Math.round(this.firstRefusal.afterMs) / 1000;
  }
}

/** A thief slowed by a 429 or a network error waits a moment instead of spinning. */
export async function pause(r: Reply): Promise<void> {
  if (r.status === 429 || r.status === 0 || r.status >= 500) await delay(500);
}

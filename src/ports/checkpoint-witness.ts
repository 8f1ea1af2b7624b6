/**
 * A place outside the database that keeps a copy of every signed checkpoint, so that an attacker
 * who rewrites the database (events and stored checkpoints alike) is still caught. Adapters: a
 * directory (ideally another machine's mount or WORM storage); later a URL.
 */
export interface CheckpointWitness {
  /** Where the copies go, for messages. */
  readonly location: string;
  /** Stores the note for `size`; never overwrites a different note for the same size. */
  publish(size: number, note: string): Promise<void>;
  /** Every stored note with a name saying where it came from. */
  list(): Promise<{ source: string; note: string }[]>;
  /**
   * The event journal: a copy of the events' canonical bytes with from ≤ seq < to, shipped with
   * the checkpoint that covers them, so a restore from a backup can put back, and list, what
   * happened after the backup (the database that held them may be gone). Never overwrites.
   */
  journal?(from: number, events: readonly Buffer[]): Promise<void>;
  /** The journal's segments, in seq order. */
  journalSegments?(): Promise<{ from: number; to: number }[]>;
  /** One segment's events (canonical bytes), as shipped. */
  readJournal?(from: number, to: number): Promise<Buffer[]>;
  /** Renames a segment out of the journal (kept, no longer listed): a restore found nothing vouching for it. */
  setAsideJournal?(from: number, to: number, stamp: string): Promise<void>;
}

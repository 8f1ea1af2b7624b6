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
}

/**
 * Stored blind indexes (16 bytes each) and the patient ordinal of each, as an open-addressing
 * table over their 32-bit words: a leak scan looks up every distinct candidate under every tenant,
 * and a Map keyed by a 16-character string made one string per stored index at start-up and one
 * per candidate and tenant. The indexes are PRF outputs, so their first word is a uniform hash.
 */
export class IndexTable {
  private readonly words: Int32Array;
  private readonly patients: Int32Array;
  /** Entry + 1 per slot; 0 is empty. */
  private readonly slots: Int32Array;
  private readonly mask: number;

  constructor(indexes: Uint8Array, patients: Int32Array) {
    const n = patients.length;
    if (indexes.byteLength !== n * 16) throw new RangeError(`${indexes.byteLength} bytes of indexes for ${n} patients`);
    this.words = new Int32Array(n * 4);
    new Uint8Array(this.words.buffer).set(indexes);
    this.patients = patients;
    let size = 16;
    while (size < n * 2) size *= 2;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
    for (let e = 0; e < n; e++) {
      let s = (this.words[e * 4] as number) & this.mask;
      while (this.slots[s] !== 0) s = (s + 1) & this.mask;
      this.slots[s] = e + 1;
    }
  }

  get size(): number {
    return this.patients.length;
  }

  /** Calls `found` with the patient of every stored index equal to words[at .. at + 4). */
  find(words: Int32Array, at: number, found: (patient: number) => void): void {
    const w0 = words[at] as number;
    const w1 = words[at + 1] as number;
    const w2 = words[at + 2] as number;
    const w3 = words[at + 3] as number;
    const own = this.words;
    for (let s = w0 & this.mask; ; s = (s + 1) & this.mask) {
      const e = (this.slots[s] as number) - 1;
      if (e < 0) return;
      const b = e * 4;
      if (own[b] === w0 && own[b + 1] === w1 && own[b + 2] === w2 && own[b + 3] === w3) found(this.patients[e] as number);
    }
  }
}

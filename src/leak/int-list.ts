/** A growable list of 32-bit integers: the per-chunk candidate columns, without boxing a number per entry. */
export class IntList {
  data: Int32Array;
  length = 0;

  constructor(capacity = 1024) {
    this.data = new Int32Array(capacity);
  }

  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }

  get(i: number): number {
    return this.data[i] as number;
  }

  set(i: number, v: number): void {
    this.data[i] = v;
  }

  clear(): void {
    this.length = 0;
  }

  /** Drops entries from `length` on (undoes pushes of a record that turned out incomplete). */
  truncate(length: number): void {
    if (length < this.length) this.length = length;
  }
}

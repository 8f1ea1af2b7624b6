import { normaliseFamilyName } from '../crypto/blind-index.js';
import { IntList } from './int-list.js';
import type { KeyTable } from './key-table.js';

/**
 * Name + birth date candidates of a chunk as found: the two hashes of the normalised family name,
 * the packed date, the bytes the name was read from, line and record. They are looked up in the
 * key table together at the end of the chunk (resolve), in one tight loop whose memory reads
 * overlap — a lookup per candidate while scanning waited for memory each time.
 */
export class KeyOccurrences {
  readonly h1 = new IntList();
  readonly h2 = new IntList();
  readonly date = new IntList();
  /** Bytes of the name: its words and what lies between them. */
  readonly from = new IntList();
  readonly to = new IntList();
  readonly line = new IntList();
  readonly record = new IntList();

  get length(): number {
    return this.h1.length;
  }

  push(h1: number, h2: number, date: number, from: number, to: number, line: number): void {
    this.h1.push(h1);
    this.h2.push(h2);
    this.date.push(date);
    this.from.push(from);
    this.to.push(to);
    this.line.push(line);
  }

  /** Whether occurrence i..end already holds this key (a record names it once). */
  has(first: number, h1: number, h2: number, date: number): boolean {
    for (let i = first; i < this.h1.length; i++)
      if (this.h1.get(i) === h1 && this.h2.get(i) === h2 && this.date.get(i) === date) return true;
    return false;
  }

  truncate(n: number): void {
    for (const l of [this.h1, this.h2, this.date, this.from, this.to, this.line, this.record]) l.truncate(n);
  }

  clear(): void {
    this.truncate(0);
  }

  /** Entry ids in `table` of all occurrences, entering new keys (with their family name read from `buf`). */
  resolve(buf: Buffer, table: KeyTable, ids: Int32Array): void {
    table.lookup(this.h1.data, this.h2.data, this.date.data, this.h1.length, ids, (i) => familyOf(buf, this.from.get(i), this.to.get(i)));
  }
}

/** The normalised family name in buf[s..e): its letters (normaliseFamilyName for non-ASCII ones). */
export function familyOf(buf: Buffer, s: number, e: number): string {
  for (let i = s; i < e; i++) if ((buf[i] as number) >= 0x80) return normaliseFamilyName(buf.toString('utf8', s, e));
  let out = '';
  for (let i = s; i < e; i++) {
    const b = (buf[i] as number) | 0x20;
    if (b >= 0x61 && b <= 0x7a) out += String.fromCharCode(b);
  }
  return out;
}

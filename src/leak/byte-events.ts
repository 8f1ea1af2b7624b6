import { EVENT_SCAN_WASM } from './event-scan-wasm.js';

/**
 * The scan buffer and its first pass: events (event-scan-wasm.ts) for a format's set of
 * structural bytes and for the digit runs that can matter. The buffer lives in the WebAssembly
 * memory, so files are read straight into it and the pass reads it in place.
 */
export const EVENT_KIND_BITS = 7;
export const EVENT_KIND_MASK = (1 << EVENT_KIND_BITS) - 1;
/** Kind of a long digit run: 63 or more digits. */
export const LONG_RUN = 63;

/** A set of byte values, as the two 16-byte nibble tables the SIMD pass looks bytes up in. */
export class ByteSet {
  readonly tables = new Uint8Array(32);
  readonly has = new Uint8Array(256);

  constructor(bytes: readonly number[]) {
    const groups = new Map<number, number[]>();
    for (const b of bytes) {
      if (b >= 0x30 && b <= 0x39) throw new RangeError('digits are found as runs, not as a byte set');
      this.has[b] = 1;
      const g = groups.get(b >> 4);
      if (g) g.push(b);
      else groups.set(b >> 4, [b]);
    }
    if (groups.size > 8) throw new RangeError('a byte set spans at most 8 high nibbles');
    // One bit per high nibble: the bytes of a group are exactly {high} × {their low nibbles}.
    [...groups].forEach(([high, group], bit) => {
      this.tables[16 + high] = (this.tables[16 + high] as number) | (1 << bit);
      for (const b of group) this.tables[b & 15] = (this.tables[b & 15] as number) | (1 << bit);
    });
  }
}

/** The WebAssembly API (Node has it; this project's type libraries do not declare it). */
interface WasmApi {
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const DATA = 64;
const PAD = 64;

export class ByteEvents {
  /** The scan buffer. */
  readonly buf: Buffer;
  /** Events of the last scan(); `count` of them. */
  readonly ev: Int32Array;
  count = 0;
  private readonly mem: Uint8Array;
  private readonly out: number;
  private readonly pass: (start: number, end: number, out: number, base: number) => number;

  constructor(readonly size: number) {
    const out = (DATA + size + PAD + 15) & ~15;
    const bytes = out + 4 * (size + 16);
    const memory = new wasm.Memory({ initial: Math.ceil(bytes / 65536) });
    const instance = new wasm.Instance(new wasm.Module(EVENT_SCAN_WASM), { env: { mem: memory } });
    this.pass = instance.exports.scan as (start: number, end: number, out: number, base: number) => number;
    this.mem = new Uint8Array(memory.buffer);
    this.buf = Buffer.from(memory.buffer, DATA, size);
    this.ev = new Int32Array(memory.buffer, out, size + 16);
    this.out = out;
  }

  /** Events of buf[from, to) for `set`; returns their count (also in `count`). */
  scan(from: number, to: number, set: ByteSet): number {
    this.mem.set(set.tables, 0);
    this.count = to > from ? this.pass(DATA + from, DATA + to, this.out, DATA) : 0;
    return this.count;
  }
}

/**
 * The scanner's first pass as WebAssembly SIMD, assembled here byte by byte (no toolchain, no
 * dependency). It reads 16 bytes per step and writes an *event* for each byte of a chosen set
 * (a format's structural bytes: delimiters, quotes, braces, line breaks) and for each digit run
 * that can matter: 8 or more digits (a BSN, one that lost its zero, a compact date), 1, 2 or 4
 * digits before "-" or "/" (a date), 3 or 4 before "." or " " (a grouped BSN), and any run that
 * touches the end of the range (it may go on). JavaScript then looks only at events — a few per
 * record — instead of every byte. Measured on this 2-core machine (per core): 4–5 GB/s over
 * text without digits, 1.2–1.6 GB/s over dense lab rows (about 140 events per KB), against
 * 0.85 GB/s for the simplest byte loop in JavaScript (one table lookup per byte, nothing else).
 * The bit loop branches (runs and set bytes apart); a branch-free version measured slower.
 *
 * Event: (offset << 7) | kind, offset from `base`; kind 0 = a byte of the set, 1..63 = a digit run
 * of that length (63: 63 or more). Events come in offset order.
 *
 * Signature: scan(start, end, out, base) → number of events written at `out` (i32 each);
 * the 16-byte nibble tables of the byte set are at memory offsets 0 (low nibble) and 16 (high).
 */
const uleb = (n: number): number[] => {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
};
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => vec([...s].map((c) => [c.charCodeAt(0)]));
const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];

const I32 = 0x7f;
const V128 = 0x7b;
const EMPTY = 0x40;
// Core opcodes.
const BLOCK = 0x02;
const LOOP = 0x03;
const IF = 0x04;
const ELSE = 0x05;
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const SELECT = 0x1b;
const GET = 0x20;
const SET = 0x21;
const LOAD8_U = 0x2d;
const STORE = 0x36;
const CONST = 0x41;
const EQZ = 0x45;
const EQ = 0x46;
const LT_U = 0x49;
const GE_S = 0x4e;
const GE_U = 0x4f;
const CTZ = 0x68;
const ADD = 0x6a;
const SUB = 0x6b;
const AND = 0x71;
const OR = 0x72;
const XOR = 0x73;
const SHL = 0x74;
const SHR_U = 0x76;
// SIMD opcodes (after the 0xfd prefix).
const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const V128_LOAD = (offset = 0): number[] => [...simd(0), 0, ...uleb(offset)];
const SWIZZLE = simd(14);
const SPLAT = simd(15);
const I8_EQ = simd(35);
const I8_LT_U = simd(38);
const V_AND = simd(78);
const BITMASK = simd(100);
const I8_SHR_U = simd(109);
const I8_SUB = simd(113);

// Locals: params 0 start, 1 end, 2 out, 3 base; then i32s, then v128s.
const START = 0;
const END_ = 1;
const OUT = 2;
const BASE = 3;
const P = 4;
const W = 5;
/** Start of the digit run still open at the end of the previous step, or -1. */
const OPEN = 6;
const D = 7;
const S = 8;
const ALL = 9;
const B = 10;
const POS = 11;
const LEN = 12;
const NEXT = 13;
const VALID = 14;
const T = 15;
const RS = 16;
const I32_LOCALS = 13;
const V = 17;
const LO = 18;
const HI = 19;
const C48 = 20;
const C10 = 21;
const C15 = 22;
const ZERO = 23;
const V128_LOCALS = 7;

const get = (l: number): number[] => [GET, ...uleb(l)];
const set = (l: number): number[] => [SET, ...uleb(l)];
const i32 = (n: number): number[] => [CONST, ...sleb(n)];

/** 16-bit mask of the digits among the 16 bytes in V. */
const digitMask = (): number[] => [...get(V), ...get(C48), ...I8_SUB, ...get(C10), ...I8_LT_U, ...BITMASK];
/** 16-bit mask of the bytes of the set among the 16 bytes in V (nibble lookup: two swizzles). */
const setMask = (): number[] => [
  ...get(LO), ...get(V), ...get(C15), ...V_AND, ...SWIZZLE,
  ...get(HI), ...get(V), ...i32(4), ...I8_SHR_U, ...SWIZZLE,
  ...V_AND, ...get(ZERO), ...I8_EQ, ...BITMASK, ...i32(0xffff), XOR,
]; // prettier-ignore
/** Writes event `value` at W and advances W. */
const emit = (value: number[]): number[] => [...get(W), ...value, STORE, 2, 0, ...get(W), ...i32(4), ADD, ...set(W)];
const eq = (l: number, v: number): number[] => [...get(l), ...i32(v), EQ];
const or = (...xs: number[][]): number[] => xs.flatMap((x, i) => (i === 0 ? x : [...x, OR]));
const and = (a: number[], b: number[]): number[] => [...a, ...b, AND];

/** The run RS of LEN digits ended: an event if it can matter (see the file comment). */
const finishRun = (): number[] => [
  ...get(RS), ...get(LEN), ADD, ...set(T),
  ...get(T), ...get(END_), LT_U, IF, I32, ...get(T), LOAD8_U, 0, 0, ELSE, ...i32(0), END, ...set(NEXT),
  ...or(
    [...get(T), ...get(END_), EQ],
    [...get(LEN), ...i32(8), GE_U],
    and(or(eq(NEXT, 0x2d), eq(NEXT, 0x2f)), or(eq(LEN, 1), eq(LEN, 2), eq(LEN, 4))),
    and(or(eq(NEXT, 0x2e), eq(NEXT, 0x20)), or(eq(LEN, 3), eq(LEN, 4))),
  ),
  IF, EMPTY,
  ...emit([...get(RS), ...get(BASE), SUB, ...i32(7), SHL, ...get(LEN), ...i32(63), ...get(LEN), ...i32(63), LT_U, SELECT, OR]),
  END,
]; // prettier-ignore

const body: number[] = [
  ...i32(0), ...V128_LOAD(), ...set(LO),
  ...i32(16), ...V128_LOAD(), ...set(HI),
  ...i32(48), ...SPLAT, ...set(C48),
  ...i32(10), ...SPLAT, ...set(C10),
  ...i32(15), ...SPLAT, ...set(C15),
  ...i32(0), ...SPLAT, ...set(ZERO),
  ...get(OUT), ...set(W),
  ...get(START), ...set(P),
  ...i32(-1), ...set(OPEN),
  BLOCK, EMPTY, LOOP, EMPTY,
  ...get(P), ...get(END_), GE_U, BR_IF, 1,
  // valid: the bits of this step that lie before `end`.
  ...get(END_), ...get(P), SUB, ...set(T),
  ...i32(0xffff), ...i32(1), ...get(T), SHL, ...i32(1), SUB, ...get(T), ...i32(16), GE_U, SELECT, ...set(VALID),
  ...get(P), ...V128_LOAD(), ...set(V),
  ...digitMask(), ...get(VALID), AND, ...set(D),
  ...setMask(), ...get(VALID), AND, ...set(S),
  // A run open from the previous step ends at the first non-digit of this one (or goes on);
  // its digits at the start of this step are no new run.
  ...get(OPEN), ...i32(0), GE_S,
  IF, EMPTY,
  ...get(D), ...i32(-1), XOR, CTZ, ...set(B),
  ...get(B), ...i32(16), LT_U, ...get(P), ...i32(16), ADD, ...get(END_), GE_U, OR,
  IF, EMPTY,
  ...get(OPEN), ...set(RS), ...get(P), ...get(B), ADD, ...get(OPEN), SUB, ...set(LEN),
  ...finishRun(),
  ...i32(-1), ...set(OPEN),
  END,
  ...i32(-1), ...get(B), SHL, ...get(D), AND, ...set(D),
  END,
  // Starts of runs (a digit after a non-digit) and bytes of the set, in order.
  ...get(D), ...get(D), ...i32(1), SHL, ...i32(-1), XOR, AND, ...get(S), OR, ...set(ALL),
  BLOCK, EMPTY, LOOP, EMPTY,
  ...get(ALL), EQZ, BR_IF, 1,
  ...get(ALL), CTZ, ...set(B),
  ...get(ALL), ...get(ALL), ...i32(1), SUB, AND, ...set(ALL),
  ...get(P), ...get(B), ADD, ...set(POS),
  ...get(S), ...i32(1), ...get(B), SHL, AND,
  IF, EMPTY,
  ...emit([...get(POS), ...get(BASE), SUB, ...i32(7), SHL]),
  ELSE,
  ...get(D), ...get(B), SHR_U, ...i32(-1), XOR, CTZ, ...set(LEN),
  ...get(B), ...get(LEN), ADD, ...i32(16), LT_U, ...get(P), ...i32(16), ADD, ...get(END_), GE_U, OR,
  IF, EMPTY, ...get(POS), ...set(RS), ...finishRun(), ELSE, ...get(POS), ...set(OPEN), END,
  END,
  BR, 0, END, END,
  ...get(P), ...i32(16), ADD, ...set(P),
  BR, 0, END, END,
  ...get(W), ...get(OUT), SUB, ...i32(2), SHR_U,
  END,
]; // prettier-ignore

const func = [
  ...vec([
    [...uleb(I32_LOCALS), I32],
    [...uleb(V128_LOCALS), V128],
  ]),
  ...body,
];

/** The module: imports memory "env"."mem", exports scan(start, end, out, base) → count. */
export const EVENT_SCAN_WASM = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32]]), ...vec([[I32]])]])),
  ...section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x00, ...uleb(1)]])),
  ...section(3, vec([[0]])),
  ...section(7, vec([[...name('scan'), 0x00, 0]])),
  ...section(10, vec([[...uleb(func.length), ...func]])),
]); // prettier-ignore

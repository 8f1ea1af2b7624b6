import { describe, expect, it } from 'vitest';
import { UnitArena } from './unit-arena.js';

describe('UnitArena', () => {
  it('keeps every claimed view pointing at its bytes when it outgrows its buffer, all in one buffer', () => {
    const arena = new UnitArena(16);
    const holders = Array.from({ length: 50 }, () => ({ json: new Uint8Array(0), mac: null as Uint8Array | null }));
    holders.forEach((h, i) => {
      arena.claimString(h, 'json', `{"i":${i},"name":"Ærøskøbing ${'x'.repeat(i)}"}`);
      arena.claimCopy(h, 'mac', Buffer.alloc(16, i));
    });
    const buffer = arena.finish();
    holders.forEach((h, i) => {
      expect(h.json.buffer).toBe(buffer);
      expect(h.mac?.buffer).toBe(buffer);
      expect(Buffer.from(h.json).toString('utf8')).toBe(`{"i":${i},"name":"Ærøskøbing ${'x'.repeat(i)}"}`);
      expect([...(h.mac ?? [])]).toEqual(Array(16).fill(i));
    });
    expect(arena.bytesUsed).toBe(holders.reduce((a, h) => a + h.json.length + 16, 0));
  });

  it('measures strings of multi-byte characters exactly when they might not fit', () => {
    const arena = new UnitArena(1024);
    const h = { json: new Uint8Array(0) };
    const s = '€'.repeat(400); // 1,200 bytes: more than the buffer holds
    arena.claimString(h, 'json', s);
    expect(Buffer.from(h.json).toString('utf8')).toBe(s);
    expect(h.json.length).toBe(1200);
  });

  it('zeroes the unused tail of the buffer it hands over (it was allocated uninitialised)', () => {
    const arena = new UnitArena(1 << 16);
    const h = { json: new Uint8Array(0) };
    arena.claimString(h, 'json', '{"resourceType":"Patient"}');
    const buffer = new Uint8Array(arena.finish());
    expect(buffer.length).toBe(1 << 16);
    expect(buffer.subarray(arena.bytesUsed).every((b) => b === 0)).toBe(true);
  });
});
